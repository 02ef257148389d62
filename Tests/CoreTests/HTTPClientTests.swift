// The libcurl-on-reactor HTTP client against real nginx and tinyproxy processes on 127.0.0.1.
import CEpoll
import Core
import Foundation
import TestSupport
import XCTest

final class HTTPClientTests: XCTestCase {
    private var daemons: [ClientDaemon] = []
    private var dir: URL!
    private var port = 0          // plain nginx server with the test locations
    private var otherPort = 0     // a second origin (same host, other port)
    private var tlsPort = 0       // TLS server, certificate from a CA made at test time

    override func tearDown() {
        for d in daemons { d.stop() }
        daemons = []
    }

    private var base: String { "http://127.0.0.1:\(port)" }

    /// Starts nginx with the locations the tests use (TLS only when `tls`).
    private func startNginx(tls: Bool = false) throws {
        dir = try clientTempDir(self)
        port = try clientFreePort()
        otherPort = try clientFreePort()
        tlsPort = try clientFreePort()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("www/slow"), withIntermediateDirectories: true)
        try Data(repeating: 7, count: 1 << 20).write(to: dir.appendingPathComponent("www/slow/1m.bin"))
        var servers = """
            server {
                listen 127.0.0.1:\(port);
                root \(dir.path)/www;
                location = /conn { return 200 "$connection"; }
                location = /headers {
                    add_header X-Multi one;
                    add_header X-Multi two;
                    return 200 "ua=[$http_user_agent] ae=[$http_accept_encoding] expect=[$http_expect]";
                }
                location = /method { return 200 "$request_method"; }
                location = /r/same { return 302 /target; }
                location = /target { return 200 "target auth=[$http_authorization]"; }
                location = /r/cross { return 302 http://127.0.0.1:\(otherPort)/echo; }
                location = /r/303 { return 303 /method; }
                location = /r/307 { return 307 /upload/after307.bin; }
                location = /r/loop { return 302 /r/loop; }
                location /upload/ {
                    root \(dir.path)/dav;
                    dav_methods PUT;
                    create_full_put_path on;
                    client_max_body_size 200m;
                    client_body_temp_path \(dir.path)/davtmp;
                }
                location /slow/ { limit_rate 16k; }
            }
            server {
                listen 127.0.0.1:\(otherPort);
                location = /echo { return 200 "auth=[$http_authorization] method=$request_method"; }
            }
            """
        var ports = [port, otherPort]
        if tls {
            try clientMakeCertificates(in: dir)
            servers += """
                server {
                    listen 127.0.0.1:\(tlsPort) ssl;
                    ssl_certificate \(dir.path)/server.pem;
                    ssl_certificate_key \(dir.path)/server.key;
                    location = /conn { return 200 "tls $connection"; }
                }
                """
            ports.append(tlsPort)
        }
        daemons.append(try clientStartNginx(in: dir, servers: servers, ports: ports))
    }

    private func makeClient(_ config: HTTPClientConfiguration = HTTPClientConfiguration()) throws -> HTTPClient {
        try HTTPClient(reactor: try Reactor(), configuration: config)
    }

    private var accessLog: [String] {
        ((try? String(contentsOf: dir.appendingPathComponent("access.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    // MARK: a. streaming with backpressure

    func testLargeBodyStreamsToSlowConsumerWithBoundedBuffering() throws {
        try startNginx()
        let size = 64
        let expected = try clientWriteTestFile(dir.appendingPathComponent("www/big.bin"), mebibytes: size)
        let client = try makeClient()
        let reactor = client.reactor
        let sha = ClientSHA256()
        var received = 0, chunks = 0, sawHead = false
        var outcome: Result<ClientTransferSummary, HTTPClientError>?
        var task: ClientTask?
        clientRunLoop(reactor, timeoutMilliseconds: 60_000) { done in
            task = client.start(ClientRequest(url: "\(base)/big.bin"), onHead: { head in
                sawHead = head.status == 200
            }, onBody: { chunk in
                sha.update(chunk)
                received += chunk.count
                chunks += 1
                // A slow consumer: every chunk is followed by a pause that a reactor timer ends.
                reactor.schedule(afterMilliseconds: 1) { task?.resumeBody() }
                return .pause
            }, onComplete: { outcome = $0; done() })
        }
        let summary = outcome?.value()
        XCTAssertTrue(sawHead)
        XCTAssertEqual(received, size << 20)
        XCTAssertEqual(summary?.bodyBytes, size << 20)
        XCTAssertEqual(sha.hex(), expected)
        let stats = client.stats
        let bound = ClientRequest(url: base).bodyBufferLimit + client.configuration.receiveBufferSize
        XCTAssertLessThanOrEqual(stats.maxBufferedBodyBytes, bound, "the client buffered more than its limit for a slow consumer")
        XCTAssertLessThanOrEqual(stats.maxBufferedBodyBytes, 1 << 20)
        XCTAssertGreaterThan(stats.receivePauses, 0, "libcurl was never paused, so backpressure was not exercised")
        XCTAssertEqual(stats.bufferedBodyBytes, 0)
        print("64 MiB in \(chunks) chunks, max buffered \(stats.maxBufferedBodyBytes) B, \(stats.receivePauses) curl pauses")
    }

    func testPausedConsumerGetsEveryByteInOrderAfterTransferEnds() throws {
        try startNginx()
        let expected = try clientWriteTestFile(dir.appendingPathComponent("www/4m.bin"), mebibytes: 4)
        let client = try makeClient()
        let sha = ClientSHA256()
        var outcome: Result<ClientTransferSummary, HTTPClientError>?
        var task: ClientTask?
        var paused = true
        clientRunLoop(client.reactor) { done in
            // The consumer pauses on the first chunk and resumes only after 300 ms; then it takes the rest.
            task = client.start(ClientRequest(url: "\(base)/4m.bin", bodyBufferLimit: 8 << 20), onBody: { chunk in
                sha.update(chunk)
                return paused ? .pause : .continue
            }, onComplete: { outcome = $0; done() })
            client.reactor.schedule(afterMilliseconds: 300) {
                paused = false
                XCTAssertGreaterThan(client.stats.bufferedBodyBytes, 0)
                task?.resumeBody()
            }
        }
        XCTAssertEqual(outcome?.value()?.bodyBytes, 4 << 20)
        XCTAssertEqual(sha.hex(), expected)
    }

    // MARK: b. request bodies

    func testStreamedUploadWithPausingProducerArrivesWhole() throws {
        try startNginx()
        let client = try makeClient()
        let total = 8 << 20
        var payload = [UInt8](repeating: 0, count: total)
        for i in payload.indices { payload[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 11) }
        var offset = 0, calls = 0, notYets = 0
        var task: ClientTask?
        var outcome: Result<ClientResponse, HTTPClientError>?
        let producer: (UnsafeMutableRawBufferPointer) -> ClientBodyProduction = { buffer in
            calls += 1
            if offset == total { return .end }
            if calls % 5 == 0 {   // every fifth ask: "not yet", resumed by a reactor timer
                notYets += 1
                client.reactor.schedule(afterMilliseconds: 2) { task?.resumeUpload() }
                return .notYet
            }
            let n = min(buffer.count, total - offset, 10_000)
            payload.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
            offset += n
            return .wrote(n)
        }
        clientRunLoop(client.reactor) { done in
            let request = ClientRequest(method: "PUT", url: "\(base)/upload/streamed.bin",
                                        body: .stream(length: nil, producer: producer))
            task = client.fetch(request, maxBodyBytes: 4096) { outcome = $0; done() }
        }
        XCTAssertEqual(outcome?.value()?.status, 201)
        XCTAssertGreaterThan(notYets, 10)
        let stored = try Data(contentsOf: dir.appendingPathComponent("dav/upload/streamed.bin"))
        XCTAssertEqual(stored.count, total)
        XCTAssertTrue(stored.elementsEqual(payload), "nginx stored different bytes than the producer sent")
    }

    func testBytesBodyAndProducerFailure() throws {
        try startNginx()
        let client = try makeClient()
        let payload = Array("hello, nginx".utf8)
        let put = ClientRequest(method: "PUT", url: "\(base)/upload/bytes.txt", body: .bytes(payload))
        XCTAssertEqual(clientFetch(client, put)?.value()?.status, 201)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("dav/upload/bytes.txt")), Data(payload))

        let post = ClientRequest(method: "POST", url: "\(base)/method", body: .bytes(payload))
        XCTAssertEqual(clientFetch(client, post)?.value()?.text, "POST")

        let failing = ClientRequest(method: "PUT", url: "\(base)/upload/never.txt",
                                    body: .stream(length: nil) { _ in .failed("disk went away") })
        let error = clientFetch(client, failing)?.failure
        XCTAssertEqual(error?.kind, .bodyProducerFailed)
        XCTAssertTrue(error?.description.contains("disk went away") ?? false, "\(String(describing: error))")
    }

    // MARK: c. connection reuse

    func testSecondRequestReusesTheConnection() throws {
        try startNginx()
        let client = try makeClient()
        let first = clientFetch(client, ClientRequest(url: "\(base)/conn"))?.value()
        let second = clientFetch(client, ClientRequest(url: "\(base)/conn"))?.value()
        XCTAssertEqual(first?.summary.connectionsOpened, 1)
        XCTAssertEqual(second?.summary.connectionsOpened, 0, "the second request opened a new connection")
        XCTAssertEqual(first?.text, second?.text, "nginx saw two different connection serials")
        XCTAssertEqual(client.stats.connectionsOpened, 1)
        XCTAssertEqual(client.stats.watchedSockets, 0, "an idle cached connection stays out of the reactor")
        let serials = Set(accessLog.filter { $0.contains("/conn") }.map { $0.split(separator: " ")[0] })
        XCTAssertEqual(serials.count, 1, "access log: \(accessLog)")
    }

    // MARK: headers, User-Agent, Accept-Encoding

    func testResponseHeadersAreMultiValuedAndUserAgentIsSentWithoutAcceptEncoding() throws {
        try startNginx()
        let client = try makeClient(HTTPClientConfiguration(userAgent: "cr-agent-test/1"))
        let response = clientFetch(client, ClientRequest(url: "\(base)/headers"))?.value()
        XCTAssertEqual(response?.head.headers.values("x-multi"), ["one", "two"])
        XCTAssertEqual(response?.head.headers["CONTENT-length"], "\(response?.body.count ?? -1)")
        XCTAssertEqual(response?.head.version, "HTTP/1.1")
        XCTAssertEqual(response?.head.reason, "OK")
        XCTAssertEqual(response?.text, "ua=[cr-agent-test/1] ae=[] expect=[]")

        var request = ClientRequest(url: "\(base)/headers")
        request.headers.add("User-Agent", "per-request/2")
        XCTAssertEqual(clientFetch(client, request)?.value()?.text, "ua=[per-request/2] ae=[] expect=[]")
    }

    // MARK: d. TLS

    func testTLSVerifiesPeerAndTrustsCACertInAddition() throws {
        try startNginx(tls: true)
        let url = "https://127.0.0.1:\(tlsPort)/conn"
        let untrusted = clientFetch(try makeClient(), ClientRequest(url: url))?.failure
        XCTAssertEqual(untrusted?.kind, .transport)
        XCTAssertEqual(untrusted?.curlCodeName, "CURLE_PEER_FAILED_VERIFICATION")
        XCTAssertTrue(untrusted?.description.lowercased().contains("certificate") ?? false, "\(String(describing: untrusted))")

        let trusting = try makeClient(HTTPClientConfiguration(environment: ["CA_CERT": dir.appendingPathComponent("ca.pem").path]))
        let ok = clientFetch(trusting, ClientRequest(url: url))?.value()
        XCTAssertEqual(ok?.status, 200)
        XCTAssertTrue(ok?.text.hasPrefix("tls ") ?? false)
        let byName = clientFetch(trusting, ClientRequest(url: "https://localhost:\(tlsPort)/conn"))?.value()
        XCTAssertEqual(byName?.status, 200, "the certificate's DNS name verifies too")
    }

    func testUnreadableCACertIsAConfigurationError() throws {
        XCTAssertThrowsError(try makeClient(HTTPClientConfiguration(environment: ["CA_CERT": "/nonexistent/ca.pem"]))) { error in
            XCTAssertEqual((error as? HTTPClientError)?.kind, .configuration)
            XCTAssertTrue("\(error)".contains("CA_CERT"), "\(error)")
        }
    }

    // MARK: e. proxies

    func testProxiesComeFromTheEnvironmentAndNoProxyBypasses() throws {
        try startNginx(tls: true)
        let proxyPort = try clientFreePort()
        let proxyDir = dir.appendingPathComponent("proxy-run")
        try FileManager.default.createDirectory(at: proxyDir, withIntermediateDirectories: true)
        let proxy = try clientStartTinyproxy(in: proxyDir, port: proxyPort, connectPorts: [tlsPort])
        daemons.append(proxy)
        let ca = dir.appendingPathComponent("ca.pem").path
        let proxyURL = "http://127.0.0.1:\(proxyPort)"

        let viaConnect = try makeClient(HTTPClientConfiguration(environment: ["HTTPS_PROXY": proxyURL, "CA_CERT": ca]))
        XCTAssertEqual(clientFetch(viaConnect, ClientRequest(url: "https://127.0.0.1:\(tlsPort)/conn"))?.value()?.status, 200)
        XCTAssertTrue(waitUntil(seconds: 5) { proxy.log.contains("CONNECT 127.0.0.1:\(tlsPort)") }, proxy.log)

        // Upper-case HTTP_PROXY, which libcurl itself would ignore.
        let viaForward = try makeClient(HTTPClientConfiguration(environment: ["HTTP_PROXY": proxyURL]))
        XCTAssertEqual(clientFetch(viaForward, ClientRequest(url: "\(base)/method"))?.value()?.text, "GET")
        XCTAssertTrue(waitUntil(seconds: 5) { proxy.log.contains("GET http://127.0.0.1:\(port)/method") }, proxy.log)

        let deadProxy = "http://127.0.0.1:\(try clientFreePort())"
        let broken = clientFetch(try makeClient(HTTPClientConfiguration(environment: ["HTTP_PROXY": deadProxy])),
                                 ClientRequest(url: "\(base)/method"))?.failure
        XCTAssertEqual(broken?.curlCodeName, "CURLE_COULDNT_CONNECT", "a dead proxy must fail the request: \(String(describing: broken))")

        let bypass = try makeClient(HTTPClientConfiguration(environment: ["HTTP_PROXY": deadProxy, "NO_PROXY": "127.0.0.1"]))
        XCTAssertEqual(clientFetch(bypass, ClientRequest(url: "\(base)/method"))?.value()?.text, "GET")

        // One request may go direct whatever the proxies (the registry client's check of where a name leads).
        let direct = try makeClient(HTTPClientConfiguration(environment: ["HTTP_PROXY": deadProxy]))
        XCTAssertEqual(clientFetch(direct, ClientRequest(url: "\(base)/method", bypassesProxy: true))?.value()?.text, "GET")
    }

    func testProxySettingsReadBothSpellingsPerScheme() {
        let env = ["HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2", "HTTP_PROXY": "http://plain:3", "no_proxy": "a,b"]
        let p = ProxySettings(environment: env)
        XCTAssertEqual(p.proxy(for: "https://x/"), "http://lower:2")
        XCTAssertEqual(p.proxy(for: "HTTP://x/"), "http://plain:3")
        XCTAssertEqual(p.noProxy, "a,b")
        XCTAssertEqual(ProxySettings(environment: [:]).proxy(for: "https://x/"), "", "no proxy means an explicit empty CURLOPT_PROXY")
    }

    // MARK: f. redirects

    func testRedirectsFollowPolicyAndDropAuthorizationAcrossOrigins() throws {
        try startNginx()
        let client = try makeClient()
        var same = ClientRequest(url: "\(base)/r/same", redirects: .follow())
        same.headers.add("Authorization", "Bearer s3cret")
        let followed = clientFetch(client, same)?.value()
        XCTAssertEqual(followed?.text, "target auth=[Bearer s3cret]", "same-origin hop keeps Authorization")
        XCTAssertEqual(followed?.summary.redirectsFollowed, 1)
        XCTAssertEqual(followed?.head.url, "\(base)/target")

        var cross = same
        cross.url = "\(base)/r/cross"
        let other = clientFetch(client, cross)?.value()
        XCTAssertEqual(other?.text, "auth=[] method=GET", "Authorization leaked to another origin")
        XCTAssertEqual(other?.head.url, "http://127.0.0.1:\(otherPort)/echo")

        var none = same
        none.redirects = .none
        let raw = clientFetch(client, none)?.value()
        XCTAssertEqual(raw?.status, 302)
        XCTAssertEqual(raw?.head.headers["location"], "\(base)/target")
        XCTAssertEqual(raw?.summary.redirectsFollowed, 0)
    }

    func testRedirectMethodRulesLimitAndCustomDecider() throws {
        try startNginx()
        let client = try makeClient()
        let post = ClientRequest(method: "POST", url: "\(base)/r/303", body: .bytes(Array("x".utf8)), redirects: .follow())
        XCTAssertEqual(clientFetch(client, post)?.value()?.text, "GET", "303 turns into GET")

        let payload = Array("replayed body".utf8)
        let put = ClientRequest(method: "PUT", url: "\(base)/r/307", body: .bytes(payload), redirects: .follow())
        XCTAssertEqual(clientFetch(client, put)?.value()?.status, 201, "307 keeps PUT and its body")
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("dav/upload/after307.bin")), Data(payload))

        let streamed = ClientRequest(method: "PUT", url: "\(base)/r/307", body: .stream(length: 1) { b in
            b[0] = 1
            return .wrote(1)
        }, redirects: .follow())
        XCTAssertEqual(clientFetch(client, streamed)?.value()?.status, 307, "a streamed body cannot be replayed, so the 307 is returned")

        let looping = clientFetch(client, ClientRequest(url: "\(base)/r/loop", redirects: .follow(max: 3)))?.value()
        XCTAssertEqual(looping?.status, 302)
        XCTAssertEqual(looping?.summary.redirectsFollowed, 3)

        var seen: [String] = []
        let decider = RedirectPolicy.custom(max: 5) { redirect in
            seen.append("\(redirect.hop) \(redirect.response.status) \(redirect.target)")
            return redirect.target.hasSuffix("/target") ? RedirectPolicy.standardNextRequest(redirect) : nil
        }
        XCTAssertEqual(clientFetch(client, ClientRequest(url: "\(base)/r/same", redirects: decider))?.value()?.status, 200)
        XCTAssertEqual(seen, ["1 302 \(base)/target"])
        let refused = clientFetch(client, ClientRequest(url: "\(base)/r/cross", redirects: decider))?.value()
        XCTAssertEqual(refused?.status, 302, "the decider said stop")
    }

    // MARK: g. failures and timeouts

    func testConnectionRefusedFailsFastAndClearly() throws {
        let client = try makeClient()
        let closed = try clientFreePort()
        let start = Date()
        let error = clientFetch(client, ClientRequest(url: "http://127.0.0.1:\(closed)/"))?.failure
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(error?.curlCodeName, "CURLE_COULDNT_CONNECT")
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("127.0.0.1") && text.contains("\(closed)") && text.hasPrefix("GET http://"), text)
    }

    func testConnectTimeoutFiresThroughTheReactorTimer() throws {
        // A listener with a full accept queue drops further SYNs, so a connect attempt hangs.
        var port: Int32 = 0
        let listener = cep_listen_tcp("127.0.0.1", 0, 0, 0, &port)
        XCTAssertGreaterThanOrEqual(listener, 0)
        var fillers: [Int32] = []
        defer { for fd in fillers + [listener] { _ = cep_close(fd) } }
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            fillers.append(fd)
        }
        let client = try makeClient()
        let start = Date()
        let request = ClientRequest(url: "http://127.0.0.1:\(port)/", timeouts: ClientTimeouts(connect: 200))
        let error = clientFetch(client, request)?.failure
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(error?.curlCodeName, "CURLE_OPERATION_TIMEDOUT", "\(String(describing: error))")
        XCTAssertTrue((error?.message ?? "").contains("after 2"), "\(String(describing: error))")
        XCTAssertGreaterThan(elapsed, 0.15)
        XCTAssertLessThan(elapsed, 3)
    }

    func testTotalAndLowSpeedTimeouts() throws {
        try startNginx()
        let client = try makeClient()
        let start = Date()
        let total = clientFetch(client, ClientRequest(url: "\(base)/slow/1m.bin", timeouts: ClientTimeouts(total: 300)), maxBodyBytes: 2 << 20)?.failure
        XCTAssertEqual(total?.curlCodeName, "CURLE_OPERATION_TIMEDOUT", "\(String(describing: total))")
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)

        let slow = ClientRequest(url: "\(base)/slow/1m.bin", timeouts: ClientTimeouts(lowSpeed: (bytesPerSecond: 1_000_000, seconds: 1)))
        let low = clientFetch(client, slow, maxBodyBytes: 2 << 20)?.failure
        XCTAssertEqual(low?.curlCodeName, "CURLE_OPERATION_TIMEDOUT")
        XCTAssertTrue((low?.message ?? "").contains("too slow"), "\(String(describing: low))")
    }

    func testCancelAndFetchCap() throws {
        try startNginx()
        let client = try makeClient()
        var outcome: Result<ClientTransferSummary, HTTPClientError>?
        var watchedDuringTransfer = 0
        clientRunLoop(client.reactor) { done in
            var task: ClientTask?
            task = client.start(ClientRequest(url: "\(base)/slow/1m.bin"), onBody: { _ in
                watchedDuringTransfer = client.stats.watchedSockets
                task?.cancel()
                return .continue
            }, onComplete: { outcome = $0; done() })
        }
        XCTAssertEqual(outcome?.failure?.kind, .cancelled)
        XCTAssertEqual(watchedDuringTransfer, 1, "curl's socket is registered in the reactor while receiving")
        XCTAssertEqual(client.stats.watchedSockets, 0)
        XCTAssertEqual(client.stats.requestsFinished, 1)

        let capped = clientFetch(client, ClientRequest(url: "\(base)/slow/1m.bin"), maxBodyBytes: 1000)?.failure
        XCTAssertEqual(capped?.kind, .bodyTooLarge)
        XCTAssertEqual(clientFetch(client, ClientRequest(url: "\(base)/conn"), maxBodyBytes: 0)?.failure?.kind, .bodyTooLarge)
    }

    func testCancelAllAndDroppingAClientMidTransfer() throws {
        try startNginx()
        let reactor = try Reactor()
        var client: HTTPClient? = try HTTPClient(reactor: reactor)
        var cancelled = 0
        clientRunLoop(reactor) { done in
            for _ in 0..<2 {
                client?.start(ClientRequest(url: "\(base)/slow/1m.bin"), onBody: { _ in .continue }, onComplete: { result in
                    if result.failure?.kind == .cancelled { cancelled += 1 }
                    if cancelled == 2 { done() }
                })
            }
            reactor.schedule(afterMilliseconds: 50) { client?.cancelAll() }
        }
        XCTAssertEqual(cancelled, 2)

        var receiving = false
        clientRunLoop(reactor) { done in
            client?.start(ClientRequest(url: "\(base)/slow/1m.bin"), onBody: { _ in
                if !receiving { receiving = true; reactor.schedule(afterMilliseconds: 0) { done() } }
                return .continue
            }, onComplete: { _ in XCTFail("an abandoned request must not complete") })
        }
        XCTAssertEqual(client?.stats.watchedSockets, 1)
        client = nil   // its socket and timer leave the reactor; nothing may call into the freed client
        clientRunLoop(reactor) { done in reactor.schedule(afterMilliseconds: 200) { done() } }
    }
}
