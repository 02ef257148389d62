// Our WebSocket client's way to its server: through a real proxy (tinyproxy, CONNECT), NO_PROXY,
// and each failure named precisely (refused connect, unverifiable certificate, proxy refusal,
// refused handshake with its body's first line, an unparsable URL).
import Core
import Foundation
import TestSupport
import XCTest

final class WebSocketConnectionClientTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func echoOnce(_ url: String, _ configuration: WebSocketConfiguration) throws -> (WebSocketConnectError?, [WSEvent]) {
        try runWebSocketClient(url, configuration: configuration, script: { $0.send(text: "through") }, until: { ev, _ in ev.count == 1 })
    }

    /// CONNECT lines tinyproxy logged so far.
    private func connects(_ proxy: ClientDaemon) -> Int {
        proxy.log.components(separatedBy: "\n").filter { $0.contains("CONNECT") && $0.contains("Request") }.count
    }

    func testThroughARealProxyWithConnect() throws {
        let certs = try TLSFixture(in: dir)
        let plain = try PythonWebSocketServer()
        defer { plain.stop() }
        let tls = try PythonWebSocketServer(cert: certs.certPath, key: certs.keyPath)
        defer { tls.stop() }
        let proxyPort = try clientFreePort()
        let proxy = try clientStartTinyproxy(in: dir, port: proxyPort, connectPorts: [plain.port, tls.port])
        defer { proxy.stop() }
        let proxies = ProxySettings(httpProxy: "http://127.0.0.1:\(proxyPort)", httpsProxy: "http://127.0.0.1:\(proxyPort)")

        let (e1, ev1) = try echoOnce("ws://127.0.0.1:\(plain.port)/echo", WebSocketConfiguration(proxies: proxies))
        XCTAssertNil(e1)
        XCTAssertEqual(ev1, [.text("through")])
        XCTAssertTrue(waitUntil(seconds: 5) { self.connects(proxy) == 1 }, proxy.log)

        let (e2, ev2) = try echoOnce("wss://localhost:\(tls.port)/echo", WebSocketConfiguration(extraCACertificatesPath: certs.caPath, proxies: proxies))
        XCTAssertNil(e2)
        XCTAssertEqual(ev2, [.text("through")])
        XCTAssertTrue(waitUntil(seconds: 5) { self.connects(proxy) == 2 }, proxy.log)

        // NO_PROXY names the host: the connection goes direct, the proxy sees nothing more.
        var bypass = proxies
        bypass.noProxy = "example.org, 127.0.0.1"
        let (e3, ev3) = try echoOnce("ws://127.0.0.1:\(plain.port)/echo", WebSocketConfiguration(proxies: bypass))
        XCTAssertNil(e3)
        XCTAssertEqual(ev3, [.text("through")])
        XCTAssertEqual(connects(proxy), 2)

        // A port the proxy will not CONNECT to: its answer, named.
        let closedPort = try clientFreePort()
        let (e4, _) = try echoOnce("ws://127.0.0.1:\(closedPort)/echo", WebSocketConfiguration(proxies: proxies))
        XCTAssertEqual(e4?.stage, .proxy)
        XCTAssertEqual(e4?.status, 403)
        XCTAssertTrue(e4?.message.contains("answered 403") == true, e4?.message ?? "")
    }

    func testProxyCredentialsFromTheProxyURL() throws {
        let peer = try PythonWebSocketServer()
        defer { peer.stop() }
        let proxyPort = try clientFreePort()
        // tinyproxy with BasicAuth: 407 to a CONNECT without the right Proxy-Authorization.
        let conf = dir.appendingPathComponent("tinyproxy.conf")
        try """
            Port \(proxyPort)
            Listen 127.0.0.1
            Timeout 30
            Allow 127.0.0.1
            LogFile "\(dir.path)/tinyproxy.log"
            LogLevel Info
            PidFile "\(dir.path)/tinyproxy.pid"
            ConnectPort \(peer.port)
            BasicAuth user s3cret
            """.write(to: conf, atomically: true, encoding: .utf8)
        let proxy = try ClientDaemon(name: "tinyproxy", executable: "/usr/bin/tinyproxy", arguments: ["-d", "-c", conf.path],
                                     ports: [proxyPort], logFile: dir.appendingPathComponent("tinyproxy.log"))
        defer { proxy.stop() }
        let url = "ws://127.0.0.1:\(peer.port)/echo"
        let (denied, _) = try echoOnce(url, WebSocketConfiguration(proxies: ProxySettings(httpProxy: "http://127.0.0.1:\(proxyPort)")))
        XCTAssertEqual(denied?.stage, .proxy)
        XCTAssertEqual(denied?.status, 407, denied?.message ?? "")
        XCTAssertTrue(denied?.message.contains("answered 407") == true, denied?.message ?? "")
        // Percent escapes in the URL's userinfo are decoded before they are sent.
        let (e, ev) = try echoOnce(url, WebSocketConfiguration(proxies: ProxySettings(httpProxy: "http://user:s3cr%65t@127.0.0.1:\(proxyPort)")))
        XCTAssertNil(e)
        XCTAssertEqual(ev, [.text("through")])
    }

    func testFailuresAreNamed() throws {
        // Nobody listens.
        let port = try clientFreePort()
        let (refused, _) = try echoOnce("ws://127.0.0.1:\(port)/", WebSocketConfiguration())
        XCTAssertEqual(refused?.stage, .connect)
        XCTAssertTrue(refused?.message.contains("Connection refused") == true, refused?.message ?? "")

        // A certificate from a CA we do not trust, and one for another name.
        let certs = try TLSFixture(in: dir)
        let tls = try PythonWebSocketServer(cert: certs.certPath, key: certs.keyPath)
        defer { tls.stop() }
        let (untrusted, _) = try echoOnce("wss://localhost:\(tls.port)/echo", WebSocketConfiguration())
        XCTAssertEqual(untrusted?.stage, .tls)
        XCTAssertTrue(untrusted?.message.contains("verification failed for localhost") == true, untrusted?.message ?? "")
        XCTAssertTrue(untrusted?.message.contains("issuer") == true, untrusted?.message ?? "")

        // The server refuses the upgrade: its status and the first line of its body.
        let server = try EchoWebSocketServer()
        defer { server.stop() }
        let (forbidden, _) = try echoOnce("ws://127.0.0.1:\(server.port)/refuse", WebSocketConfiguration())
        XCTAssertEqual(forbidden?.stage, .handshake)
        XCTAssertEqual(forbidden?.status, 403)
        XCTAssertTrue(forbidden?.message.hasSuffix("403 Forbidden: forbidden for this token") == true, forbidden?.message ?? "")
        // A chunked refusal left open is reported from its first line, not at the deadline.
        let (chunked, _) = try echoOnce("ws://127.0.0.1:\(server.port)/refuse-chunked", WebSocketConfiguration(handshakeTimeoutMilliseconds: 60_000))
        XCTAssertEqual(chunked?.status, 403)
        XCTAssertTrue(chunked?.message.hasSuffix("403 Forbidden: chunked refusal") == true, chunked?.message ?? "")
        // A refusal whose body stalls is still named by its status when the deadline comes.
        let (stalled, _) = try echoOnce("ws://127.0.0.1:\(server.port)/refuse-stalled", WebSocketConfiguration(handshakeTimeoutMilliseconds: 300))
        XCTAssertEqual(stalled?.stage, .handshake)
        XCTAssertEqual(stalled?.status, 503)
        XCTAssertTrue(stalled?.message.hasSuffix("503 Service Unavailable: partial") == true, stalled?.message ?? "")
        // A path with no route: the 404 and its JSON body.
        let (missing, _) = try echoOnce("ws://127.0.0.1:\(server.port)/nowhere", WebSocketConfiguration())
        XCTAssertEqual(missing?.status, 404)

        // Not a WebSocket URL; a name that does not resolve.
        let (badURL, _) = try echoOnce("ftp://example.org/", WebSocketConfiguration())
        XCTAssertEqual(badURL?.stage, .url)
        let (unknown, _) = try echoOnce("ws://no-such-host.invalid/", WebSocketConfiguration())
        XCTAssertEqual(unknown?.stage, .resolve)
        XCTAssertTrue(unknown?.message.contains("no-such-host.invalid") == true, unknown?.message ?? "")
    }

    /// A name (not an IP literal) is resolved off the loop and connected to; the Host header carries it.
    func testResolvesANameOffTheLoop() throws {
        let server = try EchoWebSocketServer()
        defer { server.stop() }
        let (e, ev) = try echoOnce("http://localhost:\(server.port)/echo?x=1", WebSocketConfiguration())
        XCTAssertNil(e)
        XCTAssertEqual(ev, [.text("through")])
    }
}
