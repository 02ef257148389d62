// The ends of a WebSocket connection's life: the close handshake's timeout, the idle timeout, the
// client's handshake timeout, a peer that vanishes without a close frame; and the client's small
// parsers (server URL, proxy URL, NO_PROXY) as tables.
import CEpoll
import Core
import Foundation
import TestSupport
import XCTest

final class WebSocketConnectionLifecycleTests: XCTestCase {
    private let upgrade = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

    /// A server whose connections are configured by `configuration` and handed to `onOpen`; closes recorded.
    private func server(_ configuration: WebSocketConfiguration, onOpen: @escaping @Sendable (WebSocketConnection) -> Void = { _ in })
        throws -> (TestServer, Locked<[(UInt16?, String)]>) {
        let closes = Locked<[(UInt16?, String)]>([])
        var router = Router()
        router.add("GET", "/ws") { ex in
            WebSocketUpgrade.accept(ex, configuration: configuration) { ws in
                ws.onClose = { code, why in closes.mutate { $0.append((code, why)) } }
                onOpen(ws)
            }
        }
        return (try TestServer(router: router), closes)
    }

    /// Reads from `c` until `n` bytes past the 101's head arrived (or 5 s pass); returns those bytes.
    private func readAfterHead(_ c: RawClient, atLeast n: Int) -> [UInt8] {
        var got: [UInt8] = []
        var start: Int?
        _ = waitUntil(seconds: 5) {
            got += c.readSome() ?? []
            if start == nil, got.count >= 4 { start = (3..<got.count).first { got[$0 - 3...$0].elementsEqual([13, 10, 13, 10]) }.map { $0 + 1 } }
            return start.map { got.count - $0 >= n } ?? false
        }
        return start.map { Array(got[$0...]) } ?? []
    }

    func testAPeerThatNeverAnswersOurCloseIsClosedAfterTheTimeout() throws {
        let (s, closes) = try server(WebSocketConfiguration(closeTimeoutMilliseconds: 200)) { ws in ws.close(code: 4000, reason: "go") }
        defer { s.stop() }
        let c = try RawClient(port: s.port)
        c.send(upgrade)
        XCTAssertEqual(readAfterHead(c, atLeast: 6), [0x88, 0x04, 0x0F, 0xA0] + Array("go".utf8), "our close frame, unmasked")
        XCTAssertTrue(waitUntil(seconds: 10) { !closes.get().isEmpty })
        XCTAssertEqual(closes.get().first?.0, nil)
        XCTAssertEqual(closes.get().first?.1, "the peer did not answer the close frame in time")
        XCTAssertTrue(c.readToEnd().closed, "the socket is closed anyway")
    }

    func testAQuietConnectionIsClosedWith1001AfterTheIdleTimeout() throws {
        let (s, closes) = try server(WebSocketConfiguration(idleTimeoutMilliseconds: 200))
        defer { s.stop() }
        let c = try RawClient(port: s.port)
        c.send(upgrade)
        let frame = readAfterHead(c, atLeast: 4)
        XCTAssertEqual(Array(frame.prefix(4)), [0x88, UInt8(2 + "idle timeout".utf8.count), 0x03, 0xE9], "close 1001")
        // Answer the close: the handshake completes and the server ends the socket.
        c.send(WebSocketFrame(opcode: .close, payload: [0x03, 0xE9]).serialized(maskingKey: [1, 2, 3, 4]))
        XCTAssertTrue(waitUntil(seconds: 10) { !closes.get().isEmpty })
        XCTAssertTrue(closes.get().first?.1.contains("nothing received for 200 ms") == true, "\(closes.get())")
    }

    func testAPeerThatDropsTheSocketIsReportedWithoutACode() throws {
        let (s, closes) = try server(WebSocketConfiguration())
        defer { s.stop() }
        do {
            let c = try RawClient(port: s.port)
            c.send(upgrade)
            _ = readAfterHead(c, atLeast: 0)
        }       // closed here, without a close frame
        XCTAssertTrue(waitUntil(seconds: 10) { !closes.get().isEmpty })
        XCTAssertEqual(closes.get().first?.0, nil)
        XCTAssertEqual(closes.get().first?.1, "the peer closed the connection without a close frame")
    }

    func testTheClientHandshakeHasADeadline() throws {
        // A listener that never accepts: the TCP connect completes in its backlog, no answer ever comes.
        var port: Int32 = 0
        let fd = cep_listen_tcp("127.0.0.1", 0, 8, 0, &port)
        XCTAssertGreaterThan(fd, 0)
        defer { _ = cep_close(fd) }
        let (e, _) = try runWebSocketClient("ws://127.0.0.1:\(port)/", configuration: WebSocketConfiguration(handshakeTimeoutMilliseconds: 300))
        XCTAssertEqual(e?.stage, .timeout)
        XCTAssertTrue(e?.message.contains("within 300 ms (stuck at upgrading)") == true, e?.message ?? "")
    }

    // MARK: the client's parsers

    func testServerURLs() {
        let rows: [(String, WebSocketURL?)] = [
            ("ws://broker.example.com/primus/t/?EIO=4", WebSocketURL(secure: false, host: "broker.example.com", port: 80, requestTarget: "/primus/t/?EIO=4")),
            ("wss://broker.example.com", WebSocketURL(secure: true, host: "broker.example.com", port: 443, requestTarget: "/")),
            ("HTTPS://b.example:8443?x=1", WebSocketURL(secure: true, host: "b.example", port: 8443, requestTarget: "/?x=1")),
            ("http://user:pw@b.example:81/p#frag", WebSocketURL(secure: false, host: "b.example", port: 81, requestTarget: "/p")),
            ("ws://[::1]:9000/x", WebSocketURL(secure: false, host: "::1", port: 9000, requestTarget: "/x")),
            ("ws://b.example:0/", nil), ("ws://b.example:65536/", nil), ("ws://:80/", nil), ("ftp://b.example/", nil),
            ("b.example", nil), ("ws://[::1/", nil), ("ws://b.example:x/", nil),
        ]
        for (text, want) in rows { XCTAssertEqual(WebSocketURL(text), want, text) }
    }

    func testAnswerHeadsAndThe101Checks() {
        func head(_ text: String) -> WebSocketResponseHead? { WebSocketResponseHead(Array(text.utf8)) }
        XCTAssertEqual(head("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")?.status, 407)
        for bad in ["HTTP/1.1 011 x\r\n\r\n", "HTTP/1.1 +12 x\r\n\r\n", "HTTP/1.1 1000 x\r\n\r\n", "HTTP/2 101 x\r\n\r\n",
                    "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 101 x\r\nno colon here\r\n\r\n"] {
            XCTAssertNil(head(bad), bad)
        }
        let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        let good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n"
        XCTAssertNil(head(good + "\r\n")?.upgradeProblem(expectedAccept: accept))
        let rows: [(String, String)] = [
            (good.replacingOccurrences(of: "Upgrade: WebSocket\r\n", with: ""), "Upgrade header"),
            (good.replacingOccurrences(of: "keep-alive, Upgrade", with: "keep-alive"), "Connection header"),
            (good.replacingOccurrences(of: accept, with: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "does not match our key"),
            (good.replacingOccurrences(of: "Sec-WebSocket-Accept: \(accept)\r\n", with: ""), "Sec-WebSocket-Accept is missing"),
            (good + "Sec-WebSocket-Extensions: permessage-deflate\r\n", "extension"),
            (good + "Sec-WebSocket-Protocol: chat\r\n", "subprotocol"),
        ]
        for (text, problem) in rows {
            let p = head(text + "\r\n")?.upgradeProblem(expectedAccept: accept)
            XCTAssertTrue(p?.contains(problem) == true, "\(problem): \(p ?? "no problem found")")
        }
    }

    func testProxyURLsAndNoProxy() {
        XCTAssertEqual(WebSocketProxy("http://proxy.example:3128"), WebSocketProxy(host: "proxy.example", port: 3128))
        XCTAssertEqual(WebSocketProxy("proxy.example:3128")?.port, 3128, "no scheme: http, as libcurl reads it")
        XCTAssertEqual(WebSocketProxy("http://u%40corp:p%3Aw@proxy.example:3128/")?.basicAuthorization, Base64.encode(Array("u@corp:p:w".utf8)))
        XCTAssertNil(WebSocketProxy("https://proxy.example:3128"), "a TLS proxy is not supported: named, not silently plain")
        XCTAssertNil(WebSocketProxy("socks5://proxy.example:1080"))
        let rows: [(String, String?, Bool)] = [
            ("broker.example.com", nil, false), ("broker.example.com", "", false), ("broker.example.com", "*", true),
            ("broker.example.com", "example.com", true), ("broker.example.com", ".example.com", true),
            ("broker.example.com", "other.com, example.com", true), ("BROKER.EXAMPLE.COM", "example.com", true),
            ("notexample.com", "example.com", false), ("example.com.evil", "example.com", false),
            ("127.0.0.1", "127.0.0.1", true), ("::1", "[::1]", true), ("10.0.0.1", "10.0.0.2", false),
        ]
        for (host, noProxy, want) in rows {
            XCTAssertEqual(WebSocketProxy.bypasses(host: host, noProxy: noProxy), want, "\(host) under NO_PROXY=\(noProxy ?? "(unset)")")
        }
    }
}

extension WebSocketProxy {
    init(host: String, port: Int) {
        self = WebSocketProxy("http://\(host):\(port)")!
    }
}
