// engine.io interop over real WebSockets: our server-side BrokerSocket against python-engineio's client,
// and our client-side BrokerSocket against python-engineio's server (Tests/broker/engineio_*.py): the open
// packet, ping/pong both ways, and primus-emitter messages with acks both ways.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class ProtocolEngineIOInteropTests: XCTestCase {
    var script: (String) -> String = { repositoryRoot.appendingPathComponent("Tests/broker/\($0)").path }

    /// What our server-side sockets saw, written on the server's reactor thread, read by the test.
    struct ServerSide {
        var events: [String] = []
        var acks: [String] = []
        var heartbeats = 0
        var closes: [String] = []
    }

    /// python-engineio's client connects to our server at /primus/<token>/ over the websocket transport.
    func testPythonEngineIOClientAgainstOurServer() throws {
        let seen = Locked(ServerSide())
        var router = Router()
        router.add("GET", "/primus/tok/") { ex in
            WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration()) { ws in
                // A short pingInterval so several heartbeats happen within the test.
                let handshake = EngineIOHandshake(sid: BrokerSocket.newSid(), pingInterval: 200, pingTimeout: 10_000, maxPayload: 1_000_000)
                let socket = BrokerSocket(channel: ws, role: .server(handshake), timers: ReactorTunnelTimers(reactor: ws.reactor))
                socket.onEvent = { name, args, ack in
                    seen.mutate { $0.events.append(name + " " + JSON.array(args).serialized) }
                    ack?(args)
                }
                socket.onClose = { reason in
                    // The socket keeps itself alive until it closes (this closure is released then).
                    seen.mutate { $0.closes.append(reason); $0.heartbeats = socket.engineIOHeartbeats }
                }
                socket.start()
                socket.emit(BrokerEvent.identify, [ServerIdentify().json], ack: nil)
                socket.emit("server-asks", [.object([("n", .int(2))])], ack: { args in
                    seen.mutate { $0.acks.append(JSON.array(args).serialized) }
                })
            }
        }
        let server = try TestServer(router: router)
        defer { server.stop() }
        let r = try runProcess(projectPython, [script("engineio_client.py"), "http://127.0.0.1:\(server.port)", "--path", "primus/tok",
                                               "--send", #"{"type":0,"data":["identify",{"token":"tok"}]}"#,
                                               "--send", #"{"type":0,"data":["echo",{"n":1}],"id":1}"#,
                                               "--pings", "3", "--messages", "3", "--timeout", "30"], timeout: 60)
        XCTAssertEqual(r.status, 0, "python client: \(r.stdout) \(r.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(record["connected"] as? Bool, true)
        XCTAssertGreaterThanOrEqual(record["pings"] as? Int ?? 0, 3, "our server's engine.io pings reached the client")
        let messages = (record["messages"] as? [Any] ?? []).map { String(decoding: try! JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        XCTAssertTrue(messages.contains(#"{"data":["identify",{"capabilities":["receive-post-streams"]}],"type":0}"#), "\(messages)")
        XCTAssertTrue(messages.contains(#"{"data":["server-asks",{"n":2}],"id":1,"type":0}"#), "\(messages)")
        XCTAssertTrue(messages.contains(#"{"data":[{"n":1}],"id":1,"type":1}"#), "our ack of the client's event: \(messages)")
        XCTAssertTrue(waitUntil(seconds: 10) { !seen.get().closes.isEmpty }, "the client's disconnect reached our socket")
        let s = seen.get()
        XCTAssertEqual(s.events, [#"identify [{"token":"tok"}]"#, #"echo [{"n":1}]"#])
        XCTAssertEqual(s.acks, [#"[{"n":2}]"#], "the python client acked our event")
        XCTAssertGreaterThanOrEqual(s.heartbeats, 2, "pongs from the python client completed our heartbeats")
        XCTAssertEqual(s.closes.count, 1)
    }

    /// Our client-side socket against python-engineio's server.
    func testOurClientAgainstPythonEngineIOServer() throws {
        let peer = try BackgroundProcess(projectPython, [script("engineio_server.py"), "--ping-interval", "1", "--max-lifetime", "120"],
                                         environment: ["PATH": "/usr/bin:/bin"])
        defer { _ = peer.stop() }
        var url = ""
        waitUntil(seconds: 20) {
            guard let line = peer.stdout.split(separator: "\n").first,
                  let d = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return !peer.process.isRunning }
            url = d["url"] as? String ?? ""
            return true
        }
        guard !url.isEmpty else { return XCTFail("engineio_server.py did not start: \(peer.stderr)") }

        var heartbeat = BrokerSocket.ClientHeartbeat()
        heartbeat.primusPingMilliseconds = 600_000  // python-engineio is no Primus server: no primus::pong would come
        var events: [String] = []
        var acks: [String] = []
        var handshake: EngineIOHandshake?
        var pingsAnswered = 0
        var closeReason: String?
        var failure: String?
        let finished = try runOnReactor(seconds: 60) { reactor, finish in
            let wsURL = url.replacingOccurrences(of: "http://", with: "ws://") + "/engine.io/?EIO=4&transport=websocket"
            WebSocketConnection.connect(url: wsURL, reactor: reactor, configuration: WebSocketConfiguration()) { result in
                switch result {
                case .failure(let e): failure = "\(e)"; finish()
                case .success(let ws):
                    let socket = BrokerSocket(channel: ws, role: .client(heartbeat), timers: ReactorTunnelTimers(reactor: reactor))
                    socket.onOpen = { handshake = socket.handshake }
                    socket.onEvent = { name, args, _ in
                        events.append(name + " " + JSON.array(args).serialized)
                        socket.emit("echo", [.string("é"), .object([("n", .int(1))])], ack: { args in
                            acks.append(JSON.array(args).serialized)
                        })
                    }
                    socket.onClose = { reason in
                        closeReason = reason
                        pingsAnswered = socket.engineIOHeartbeats
                        finish()
                    }
                    socket.start()
                    // After a few heartbeats, ask the server to close us (its close packet ends the socket).
                    func check() {
                        if socket.engineIOHeartbeats >= 3, !acks.isEmpty { socket.emit("close-me", [], ack: nil) }
                        else if !socket.isClosed { _ = reactor.schedule(afterMilliseconds: 50, check) }
                    }
                    check()
                }
            }
        }
        XCTAssertNil(failure)
        XCTAssertTrue(finished, "the exchange did not finish")
        XCTAssertEqual(handshake?.pingInterval, 1000, "python-engineio's open packet")
        XCTAssertEqual(handshake?.pingTimeout, 5000)
        XCTAssertEqual(handshake?.sid.isEmpty, false)
        XCTAssertEqual(events, [#"hello [{"from":"python-engineio"}]"#])
        XCTAssertEqual(acks, [#"["é",{"n":1}]"#], "python-engineio acked our event with its arguments")
        XCTAssertGreaterThanOrEqual(pingsAnswered, 3)
        XCTAssertEqual(closeReason, "the peer sent an engine.io close packet")
        let rec = try runProcess("curl", ["-sS", "--max-time", "10", url + "/_record"])
        let record = try JSONSerialization.jsonObject(with: Data(rec.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertGreaterThanOrEqual(record["pongs"] as? Int ?? 0, 3, "our pongs reached python-engineio: \(rec.stdout)")
        XCTAssertEqual(record["acks_sent"] as? Int, 1)
    }
}
