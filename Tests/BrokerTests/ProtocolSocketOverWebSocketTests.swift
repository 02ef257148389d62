// Our two BrokerSockets joined by a real WebSocket over TLS, on the reactor's own timers: both heartbeats
// (engine.io pings from the server, primus::ping from the client) run, a request event with a 1 MiB
// binary body crosses as EJSON and is acked, and the server's deliberate end stops the client reconnecting.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class ProtocolSocketOverWebSocketTests: XCTestCase {
    struct ServerSide {
        var heartbeats = (engineIO: 0, primus: 0)
        var ackedDigest: String?
    }

    func testBothRolesOverTLSWithRealTimers() throws {
        let dir = try makeTemporaryDirectory("broker-socket-tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let certs = try TLSFixture(in: dir)
        let body = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let bodyDigest = SHA256.digest(body)
        let seen = Locked(ServerSide())

        var router = Router()
        router.add("GET", "/primus/tok/") { ex in
            WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration()) { ws in
                let handshake = EngineIOHandshake(sid: BrokerSocket.newSid(), pingInterval: 100, pingTimeout: 10_000, maxPayload: 22_020_096)
                let socket = BrokerSocket(channel: ws, role: .server(handshake), timers: ReactorTunnelTimers(reactor: ws.reactor))
                socket.onClose = { _ in _ = socket }  // keeps the socket alive until it closes
                socket.onEvent = { name, _, _ in
                    guard name == "ready" else { return }
                    let request = TunnelRequest(url: "/scan", method: "POST", headers: [("content-type", "application/octet-stream")],
                                                body: .bytes(body), streamingID: "s1", requestId: "r1")
                    socket.emit(BrokerEvent.request, [request.json]) { args in
                        seen.mutate {
                            $0.ackedDigest = args.first?.string
                            $0.heartbeats = (socket.engineIOHeartbeats, socket.primusHeartbeats)
                        }
                        socket.end(reason: "done", allowReconnect: false)
                    }
                }
                socket.start()
            }
        }
        let server = try TestServer(router: router) { $0.tls = try? TLSServerContext(certificatePath: certs.certPath, keyPath: certs.keyPath) }
        defer { server.stop() }

        var heartbeat = BrokerSocket.ClientHeartbeat()
        heartbeat.primusPingMilliseconds = 100
        var clientHeartbeats = (engineIO: 0, primus: 0)
        var received: TunnelRequest?
        var closeReason: String?
        var noReconnect = false
        var failure: String?
        let finished = try runOnReactor(seconds: 60) { reactor, finish in
            let config = WebSocketConfiguration(extraCACertificatesPath: certs.caPath)
            WebSocketConnection.connect(url: "wss://localhost:\(server.port)/primus/tok/?EIO=4&transport=websocket", reactor: reactor,
                                        configuration: config) { result in
                switch result {
                case .failure(let e): failure = "\(e)"; finish()
                case .success(let ws):
                    let socket = BrokerSocket(channel: ws, role: .client(heartbeat), timers: ReactorTunnelTimers(reactor: reactor))
                    socket.onEvent = { name, args, ack in
                        received = try? TunnelRequest(json: args[0])
                        ack?([.string(SHA256.digest(received?.body.bytes ?? []))])
                    }
                    socket.onClose = { reason in
                        closeReason = reason
                        noReconnect = socket.peerAskedNoReconnect
                        clientHeartbeats = (socket.engineIOHeartbeats, socket.primusHeartbeats)
                        finish()
                    }
                    socket.start()
                    // Once both heartbeats have gone round three times, ask for the request.
                    func check() {
                        if socket.isClosed { return }
                        if socket.engineIOHeartbeats >= 3, socket.primusHeartbeats >= 3 { socket.emit("ready", [], ack: nil); return }
                        _ = reactor.schedule(afterMilliseconds: 20, check)
                    }
                    check()
                }
            }
        }
        XCTAssertNil(failure)
        XCTAssertTrue(finished, "the exchange did not finish")
        XCTAssertGreaterThanOrEqual(clientHeartbeats.engineIO, 3, "engine.io pings answered")
        XCTAssertGreaterThanOrEqual(clientHeartbeats.primus, 3, "primus pongs received")
        XCTAssertEqual(received?.body.bytes.count, 1 << 20)
        XCTAssertEqual(received?.requestId, "r1")
        XCTAssertTrue(waitUntil(seconds: 10) { seen.get().ackedDigest != nil })
        XCTAssertEqual(seen.get().ackedDigest, bodyDigest, "the body crossed intact")
        XCTAssertGreaterThanOrEqual(seen.get().heartbeats.engineIO, 3)
        XCTAssertGreaterThanOrEqual(seen.get().heartbeats.primus, 3)
        XCTAssertTrue(noReconnect, "primus::server::close reached the client")
        XCTAssertEqual(closeReason, "the peer sent an engine.io close packet")
    }
}
