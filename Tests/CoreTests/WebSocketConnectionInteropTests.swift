// Our WebSocket connection against Python's `websockets` (strict RFC 6455), both ways, plain and TLS:
// text, binary, fragmented and 16 MiB messages, ping/pong, close codes, and every invalid frame
// refused with the close code RFC 6455 §7.4.1 gives it.
import Core
import Foundation
import TestSupport
import XCTest

final class WebSocketConnectionInteropTests: XCTestCase {

    /// Runs the Python client's scenarios against our server at `url`; returns them by name.
    private func pythonClientScenarios(_ url: String, ca: String? = nil) throws -> [String: [String: Any]] {
        var args = [websocketPeerScript, "client", url]
        if let ca { args += ["--ca", ca] }
        let r = try runProcess(projectPython, args, timeout: 240)
        var byCase: [String: [String: Any]] = [:]
        for line in r.stdout.split(separator: "\n") {
            if let d = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let c = d["case"] as? String { byCase[c] = d }
        }
        XCTAssertEqual(r.status, 0, r.stderr)
        return byCase
    }

    private func checkScenarios(_ byCase: [String: [String: Any]], server: EchoWebSocketServer) {
        for c in ["text", "binary", "fragmented", "big", "ping", "control-inside-fragments"] {
            XCTAssertEqual(byCase[c]?["ok"] as? Bool, true, "\(c): \(byCase[c] ?? [:])")
        }
        XCTAssertEqual(byCase["big"]?["length"] as? Int, 16 << 20)
        XCTAssertEqual(byCase["server-close"]?["code"] as? Int, 4001, "\(byCase["server-close"] ?? [:])")
        XCTAssertEqual(byCase["server-close"]?["reason"] as? String, "bye")
        XCTAssertEqual(byCase["client-close"]?["code"] as? Int, 4321, "our server echoes the client's close code")
        let expected: [(String, Int)] = [
            ("unmasked", 1002), ("rsv-bits", 1002), ("unknown-opcode", 1002), ("long-ping", 1002), ("fragmented-ping", 1002),
            ("orphan-continuation", 1002), ("bad-close-code", 1002), ("bad-utf8", 1007), ("bad-utf8-fragmented", 1007), ("too-big", 1009),
            ("too-big-fragmented", 1009),
        ]
        for (c, code) in expected {
            XCTAssertEqual(byCase[c]?["code"] as? Int, code, "\(c): \(byCase[c] ?? [:])")
        }
        XCTAssertTrue(waitUntil(seconds: 10) { server.closes.get().contains { $0.1 == 4321 } }, "the server saw the client's 4321: \(server.closes.get())")
    }

    func testOurServerAgainstTheWebsocketsClient() throws {
        let server = try EchoWebSocketServer()
        defer { server.stop() }
        checkScenarios(try pythonClientScenarios("ws://127.0.0.1:\(server.port)"), server: server)
        // Every connection ended: none is left open on the server.
        XCTAssertTrue(waitUntil(seconds: 10) { server.closes.get().count == 19 }, "\(server.closes.get().count) of 19 closed")
    }

    func testOurServerOverTLSAgainstTheWebsocketsClient() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let certs = try TLSFixture(in: dir)
        let server = try EchoWebSocketServer(tls: try TLSServerContext(certificatePath: certs.certPath, keyPath: certs.keyPath))
        defer { server.stop() }
        checkScenarios(try pythonClientScenarios("wss://localhost:\(server.port)", ca: certs.caPath), server: server)
    }

    // MARK: our client against the websockets server

    func testOurClientAgainstTheWebsocketsServer() throws {
        let peer = try PythonWebSocketServer()
        defer { peer.stop() }
        try clientScenarios(base: "ws://127.0.0.1:\(peer.port)", peer: peer, configuration: WebSocketConfiguration())
    }

    func testOurClientOverTLSAgainstTheWebsocketsServer() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let certs = try TLSFixture(in: dir)
        let peer = try PythonWebSocketServer(cert: certs.certPath, key: certs.keyPath)
        defer { peer.stop() }
        try clientScenarios(base: "wss://localhost:\(peer.port)", peer: peer, configuration: WebSocketConfiguration(extraCACertificatesPath: certs.caPath))
        // https:// spelling and an IP literal checked against the certificate's IP SAN.
        let (e, events) = try runWebSocketClient("https://127.0.0.1:\(peer.port)/echo", configuration: WebSocketConfiguration(extraCACertificatesPath: certs.caPath),
                                                 script: { $0.send(text: "over tls") }, until: { ev, _ in ev.count == 1 })
        XCTAssertNil(e)
        XCTAssertEqual(events, [.text("over tls")])
    }

    private func clientScenarios(base: String, peer: PythonWebSocketServer, configuration: WebSocketConfiguration) throws {
        // Echo: text, binary, a fragmented message we send, 16 MiB; then our close.
        var big = [UInt8](repeating: 0, count: 16 << 20)
        for i in stride(from: 0, to: big.count, by: 4096) { big[i] = UInt8(truncatingIfNeeded: i >> 12) }
        let (e1, echo) = try runWebSocketClient("\(base)/echo", configuration: configuration, script: { ws in
            ws.send(text: "héllo")
            ws.send(binary: [1, 2, 3])
            ws.sendFragments([Array("a".utf8), Array("b".utf8), Array("c".utf8)], text: true)
            ws.send(binary: big)
            ws.ping([7, 7, 7])
        }, until: { ev, ws in
            if ev.count == 5 { ws.close(code: 1000, reason: "done") }
            return false
        })
        XCTAssertNil(e1)
        // Our ping is answered once with its payload (where among the echoes is the peer's choice).
        XCTAssertEqual(echo.filter { $0 == .pong([7, 7, 7]) }.count, 1, "our ping was answered")
        let messages = echo.filter { $0 != .pong([7, 7, 7]) }
        XCTAssertEqual(Array(messages.prefix(3)), [.text("héllo"), .binary([1, 2, 3]), .text("abc")])
        XCTAssertEqual(messages.count, 5, "\(messages.count) events")
        if messages.count == 5 {
            XCTAssertTrue(messages[3] == .binary(big), "the 16 MiB message came back whole")
            XCTAssertEqual(messages[4], .closed(1000, "done"))
        }
        XCTAssertTrue(waitUntil(seconds: 10) { peer.closes(path: "/echo").contains { $0["code"] as? Int == 1000 && $0["reason"] as? String == "done" } })

        // Messages the server sends in fragments arrive whole.
        let (e2, frags) = try runWebSocketClient("\(base)/server-frags", configuration: configuration, until: { ev, _ in ev.count == 2 })
        XCTAssertNil(e2)
        XCTAssertEqual(frags, [.text("fragmented"), .binary([0, 1, 2, 3])])

        // The caller's headers go on the upgrade request; the handshake's own fields stay ours.
        let extra: HTTPHeaders = ["x-snyk-broker-client-id": "3f1c", "x-broker-client-version": "4.200.0", "Sec-WebSocket-Version": "8", "Host": "evil"]
        let (e5, seen) = try runWebSocketClient("\(base)/headers?EIO=4&transport=websocket", configuration: configuration, headers: extra,
                                                until: { ev, _ in ev.count == 1 })
        XCTAssertNil(e5)
        if case .text(let json)? = seen.first, let h = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] {
            XCTAssertEqual(h["x-snyk-broker-client-id"], "3f1c")
            XCTAssertEqual(h["x-broker-client-version"], "4.200.0")
            XCTAssertEqual(h["sec-websocket-version"], "13")
            XCTAssertTrue(h["host"]?.hasPrefix("localhost:") == true || h["host"]?.hasPrefix("127.0.0.1:") == true, h["host"] ?? "")
        } else {
            XCTFail("\(seen)")
        }

        // The server's ping is answered with a pong carrying its payload.
        let (e3, pinged) = try runWebSocketClient("\(base)/ping", configuration: configuration, until: { ev, _ in ev.count == 1 })
        XCTAssertNil(e3)
        XCTAssertEqual(pinged, [.text("pong-ok")])

        // The server's close code and reason reach onClose.
        let (e4, closed) = try runWebSocketClient("\(base)/close/4002", configuration: configuration)
        XCTAssertNil(e4)
        XCTAssertEqual(closed, [.closed(4002, "bye 4002")])

        // What a server must not send is refused with the right code.
        var small = configuration
        small.maxMessageBytes = 1024
        for (raw, code, why) in [("masked", 1002, "masked"), ("bad-utf8", 1007, "UTF-8"), ("big", 1009, "4096"), ("rsv", 1002, "reserved")] {
            let (e, ev) = try runWebSocketClient("\(base)/raw/\(raw)", configuration: small)
            XCTAssertNil(e)
            XCTAssertEqual(ev.count, 1, raw)
            if case .closed(nil, let reason)? = ev.first { XCTAssertTrue(reason.contains(why), "\(raw): \(reason)") }
            else { XCTFail("\(raw): \(ev)") }
            XCTAssertTrue(waitUntil(seconds: 10) { peer.closes(path: "/raw/\(raw)").contains { $0["code"] as? Int == code } },
                          "\(raw): the peer saw \(peer.closes(path: "/raw/\(raw)"))")
        }
    }
}
