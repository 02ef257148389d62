// Real clients against the server: curl (keep-alive, chunked upload, HTTPS), httpx, h11, wrk pipelining.
import Core
import Foundation
import TestSupport
import XCTest

final class InteropTests: XCTestCase {
    var server: TestServer!
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = try makeTemporaryDirectory()
        server = try TestServer(router: ServerBehaviourTests.router(writerBlocked: Counter()))
    }

    override func tearDown() {
        server.stop()
        try? FileManager.default.removeItem(at: tmp)
    }

    var base: String { "http://127.0.0.1:\(server.port)" }

    func testCurlReusesTheConnection() throws {
        let r = try runProcess("curl", ["-sS", "-v", "\(base)/p/one", "\(base)/p/two"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "/p/one/p/two")
        XCTAssertTrue(r.stderr.contains("Re-using existing connection"), r.stderr)
        XCTAssertEqual(server.metrics.requestCount(route: "/p/*", status: 200), 2)
    }

    func testCurlChunkedUploadWithExpectContinue() throws {
        var data = [UInt8](repeating: 0, count: 3_000_000)
        var sum: UInt64 = 0
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: i &* 13 &+ i >> 8); sum = sum &* 31 &+ UInt64(data[i]) }
        let file = tmp.appendingPathComponent("upload.bin")
        try Data(data).write(to: file)
        let r = try runProcess("curl", ["-sS", "-v", "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue",
                                        "--data-binary", "@\(file.path)", "\(base)/echo"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "{\"bytes\":3000000,\"sum\":\(sum)}")
        XCTAssertTrue(r.stderr.contains("HTTP/1.1 100 Continue"), "curl never saw 100 Continue")
    }

    func testCurlOverHTTPSWithACAMadeAtTestTime() throws {
        let tls = try TLSFixture(in: tmp)
        let ctx = try TLSServerContext(certificatePath: tls.certPath, keyPath: tls.keyPath)
        let secure = try TestServer(router: ServerBehaviourTests.router(writerBlocked: Counter())) { $0.tls = ctx }
        defer { secure.stop() }
        let url = "https://localhost:\(secure.port)"
        let ok = try runProcess("curl", ["-sS", "--cacert", tls.caPath, "\(url)/p/a", "\(url)/p/b", "-v"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stdout, "/p/a/p/b")
        XCTAssertTrue(ok.stderr.contains("Re-using existing connection"))
        let unknownCA = try runProcess("curl", ["-sS", "\(url)/p/a"])
        XCTAssertEqual(unknownCA.status, 60, "curl must refuse a certificate from an unknown CA")
        let old = try runProcess("curl", ["-sS", "--cacert", tls.caPath, "--tlsv1.1", "--tls-max", "1.1", "\(url)/p/a"])
        XCTAssertNotEqual(old.status, 0, "TLS 1.1 must be refused")
        let big = try runProcess("curl", ["-sS", "--cacert", tls.caPath, "\(url)/stream", "-o", "/dev/null", "-w", "%{size_download}"])
        XCTAssertEqual(big.stdout, "\(ServerBehaviourTests.streamBytes)", "a streamed response over TLS arrives whole")
    }

    func testHttpxClient() throws {
        let r = try runProcess(projectPython, [repositoryRoot.appendingPathComponent("Tests/interop/httpx_client.py").path, base])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("all checks passed"))
    }

    func testH11Client() throws {
        let r = try runProcess(projectPython, [repositoryRoot.appendingPathComponent("Tests/interop/h11_client.py").path, String(server.port)])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("all checks passed"))
    }

    func testWrkPipelining() throws {
        let script = repositoryRoot.appendingPathComponent("Tests/interop/pipeline.lua").path
        let r = try runProcess("wrk", ["-t1", "-c8", "-d1s", "-s", script, "\(base)/"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.contains("Socket errors"), r.stdout)
        XCTAssertFalse(r.stdout.contains("Non-2xx"), r.stdout)
        let m = r.stdout.firstMatch(of: /(\d+) requests in/)
        let count = Int(m?.1 ?? "0") ?? 0
        XCTAssertGreaterThan(count, 1000, r.stdout)
        let served = server.metrics.requestCount(route: "/p/*", status: 200)
        XCTAssertGreaterThanOrEqual(Int(served), count, "the server answered every pipelined request wrk counted")
    }
}

/// One reactor thread serves a request and, inside its handler, makes an outbound request with the
/// libcurl client registered in the same reactor, streaming the answer back.
final class SameThreadRelayTests: XCTestCase {
    func testHandlerRelaysAnOutboundResponseOnTheSameReactor() throws {
        let origin = try TestServer(router: ServerBehaviourTests.router(writerBlocked: Counter()))
        defer { origin.stop() }
        let sameThread = Counter(), otherThread = Counter()
        var router = Router()
        let originPort = origin.port
        router.add("GET", "/relay") { ex in
            guard let reactor = ex.reactor else { return }
            let client = try! reactor.local(HTTPClient.self) { try HTTPClient(reactor: reactor) }
            var task: ClientTask?
            task = client.start(ClientRequest(url: "http://127.0.0.1:\(originPort)/stream"), onHead: { head in
                ex.startResponse(status: head.status, contentLength: Int(head.headers["Content-Length"] ?? ""))
                ex.onWritable = { task?.resumeBody() }
            }, onBody: { chunk in
                if Reactor.current === reactor { sameThread.increment() } else { otherThread.increment() }
                return ex.write(chunk) ? .continue : .pause       // a slow client slows the origin fetch
            }, onComplete: { result in
                if case .failure(let e) = result, !ex.responseStarted { return ex.respond(status: 502, json: "{\"error\":\"\(e)\"}") }
                ex.finish()
            })
        }
        let relay = try TestServer(router: router)
        defer { relay.stop() }
        let r = try runProcess("curl", ["-sS", "http://127.0.0.1:\(relay.port)/relay", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"])
        XCTAssertEqual(r.stdout, "200 \(ServerBehaviourTests.streamBytes)", r.stderr)
        XCTAssertGreaterThan(sameThread.count, 0)
        XCTAssertEqual(otherThread.count, 0, "client callbacks must run on the server's reactor thread")
    }
}
