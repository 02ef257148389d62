// The server side of the opening handshake, as a table: what a hostile or mistaken upgrade request
// gets back (RFC 6455 §4.2.1-§4.2.2), and the 101 a valid one gets, over a real socket.
import Core
import Foundation
import TestSupport
import XCTest

final class WebSocketConnectionServerTests: XCTestCase {
    private let key = "dGhlIHNhbXBsZSBub25jZQ=="

    private func request(method: String = "GET", version: String = "HTTP/1.1", upgrade: String? = "websocket", connection: String? = "Upgrade",
                         wsVersion: String? = "13", key: String?, extra: String = "") -> String {
        var r = "\(method) /echo \(version)\r\nHost: a\r\n"
        if let upgrade { r += "Upgrade: \(upgrade)\r\n" }
        if let connection { r += "Connection: \(connection)\r\n" }
        if let wsVersion { r += "Sec-WebSocket-Version: \(wsVersion)\r\n" }
        if let key { r += "Sec-WebSocket-Key: \(key)\r\n" }
        return r + extra + "\r\n"
    }

    func testHostileHandshakes() throws {
        var router = Router()
        for m in ["GET", "POST", "PUT"] {
            router.add(m, "/echo") { ex in
                WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration()) { ws in ws.onText = { [unowned ws] in ws.send(text: $0) } }
            }
        }
        let server = try TestServer(router: router)
        defer { server.stop() }
        let rows: [(String, String, Int, String)] = [
            ("POST upgrade", request(method: "POST", key: key), 400, "must be a GET"),
            ("PUT upgrade", request(method: "PUT", key: key), 400, "must be a GET"),
            ("missing key", request(key: nil), 400, "Sec-WebSocket-Key is missing"),
            ("key of 15 bytes", request(key: "AAAAAAAAAAAAAAAAAAAA"), 400, "base64 of 16 bytes"),
            ("key of 17 bytes", request(key: "AAAAAAAAAAAAAAAAAAAAAAA="), 400, "base64 of 16 bytes"),
            ("key not base64", request(key: "!!!!!!!!!!!!!!!!!!!!!!=="), 400, "base64 of 16 bytes"),
            ("two keys", request(key: key, extra: "Sec-WebSocket-Key: \(key)\r\n"), 400, "more than one"),
            ("version 8", request(wsVersion: "8", key: key), 426, "speaks version 13"),
            ("no version", request(wsVersion: nil, key: key), 426, "speaks version 13"),
            ("no Upgrade", request(upgrade: nil, key: key), 400, "Upgrade header"),
            ("Upgrade: h2c", request(upgrade: "h2c", key: key), 400, "Upgrade header"),
            ("no Connection", request(connection: nil, key: key), 400, "Connection header"),
            ("Connection: keep-alive", request(connection: "keep-alive", key: key), 400, "Connection header"),
            ("HTTP/1.0", request(version: "HTTP/1.0", key: key), 400, "HTTP/1.1"),
            // The route takes no body: the HTTP server refuses it before the handshake is looked at.
            ("a body", request(key: key, extra: "Content-Length: 5\r\n") + "hello", 413, "larger than the 0 allowed"),
            ("valid, tokens in lists and odd case", request(upgrade: "WebSocket", connection: "keep-alive, UPGRADE", key: key), 101, ""),
        ]
        for (name, req, status, message) in rows {
            let c = try RawClient(port: server.port)
            c.send(req)
            if status == 101 {
                let (head, rest) = readHead(c)
                XCTAssertTrue(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), name)
                XCTAssertTrue(head.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), head)
                XCTAssertTrue(head.contains("\r\nUpgrade: websocket\r\n"), head)
                XCTAssertTrue(head.contains("\r\nConnection: Upgrade\r\n"), head)
                XCTAssertFalse(head.contains("Content-Length"), "a 101 has no body framing: \(head)")
                // The socket now speaks WebSocket: a masked "hi" comes back unmasked.
                c.send(WebSocketFrame(opcode: .text, payload: Array("hi".utf8)).serialized(maskingKey: [9, 8, 7, 6]))
                var got = rest
                _ = waitUntil(seconds: 5) { if got.count < 4 { got += c.readSome() ?? [] }; return got.count >= 4 }
                XCTAssertEqual(got, [0x81, 0x02, 0x68, 0x69], name)
                continue
            }
            let r = c.readResponse()
            XCTAssertEqual(r?.status, status, name)
            let body = String(decoding: r?.body ?? [], as: UTF8.self)
            XCTAssertTrue(body.contains(message), "\(name): \(body)")
            if status == 426 { XCTAssertEqual(r?.header("Sec-WebSocket-Version"), "13", name) }
        }
    }

    /// Reads a response head (up to its blank line); returns it and the bytes after it.
    private func readHead(_ c: RawClient) -> (String, [UInt8]) {
        var got: [UInt8] = []
        var end: Int?
        _ = waitUntil(seconds: 5) {
            got += c.readSome() ?? []
            if got.count >= 4 { end = (3..<got.count).first { got[$0 - 3...$0].elementsEqual([13, 10, 13, 10]) } }
            return end != nil
        }
        guard let e = end else { return (String(decoding: got, as: UTF8.self), []) }
        return (String(decoding: got[...e], as: UTF8.self), Array(got[(e + 1)...]))
    }

    /// Bytes the client sent right behind its upgrade request are the connection's first frames.
    func testFramesSentWithTheHandshakeAreNotLost() throws {
        let server = try EchoWebSocketServer()
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        let frames = WebSocketFrame(opcode: .text, payload: Array("early".utf8)).serialized(maskingKey: [1, 2, 3, 4])
        c.send(Array(request(key: key).utf8) + frames)
        var got: [UInt8] = []
        _ = waitUntil(seconds: 5) { got += c.readSome() ?? []; return String(decoding: got, as: UTF8.self).hasSuffix("early") }
        let text = String(decoding: got, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 101 "), text)
        XCTAssertTrue(got.suffix(7) == [0x81, 0x05] + Array("early".utf8), text)
    }
}
