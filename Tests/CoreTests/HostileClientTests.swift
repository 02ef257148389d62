// Clients that attack the server over raw sockets: pipelining without reading, neighbours that break
// their TLS handshakes, trickled heads on a kept-alive connection. Each test states its bound.
@testable import Core
import Foundation
import TestSupport
import XCTest

final class HostileClientTests: XCTestCase {
    var tmp: URL!
    static let pageBytes = 4096

    /// `/page` answers 4 KiB; `/metrics` the server's own counters; `/` a few bytes.
    static func router() -> Router {
        var r = Router()
        let page = [UInt8](repeating: 0x70, count: pageBytes)
        r.add("GET", "/") { ex in ex.respond(status: 200, json: "{}") }
        r.add("GET", "/page") { ex in ex.respond(status: 200, body: page) }
        r.add("GET", "/metrics") { ex in ex.respond(status: 200, body: Array((ex.metrics?.render() ?? "").utf8)) }
        r.add("GET", "/n/*") { ex in ex.respond(status: 200, body: Array(ex.request.path.utf8)) }
        r.add("GET", "/later") { ex in ex.reactor?.schedule(afterMilliseconds: 2) { ex.respond(status: 200, json: "{}") } }
        r.add("GET", "/stream") { ex in
            var left = 64
            ex.startResponse(status: 200, contentLength: nil)
            func pump() {
                while left > 0 { left -= 1; if !ex.write(page) { return } }
                ex.finish()
            }
            ex.onWritable = { pump() }
            pump()
        }
        r.add("POST", "/upload", maxBodyBytes: 1 << 20) { ex in
            ex.collectBody(limit: 1 << 20) { result in
                switch result {
                case .success(let body): ex.respond(status: 200, json: "{\"bytes\":\(body.count)}")
                case .failure(let e): ex.respond(error: e)
                }
            }
        }
        return r
    }

    override func setUpWithError() throws { tmp = try makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    /// Outcome: a TCP connect-and-close, a garbage ClientHello, an abandoned half handshake and a
    /// plaintext request on the TLS port, each made while another client holds a keep-alive TLS
    /// connection on the same reactor thread, leave that client's next request answered (200).
    func testBrokenTLSNeighboursDoNotKillALiveTLSConnection() throws {
        let tls = try TLSFixture(in: tmp)
        let ctx = try TLSServerContext(certificatePath: tls.certPath, keyPath: tls.keyPath)
        let server = try TestServer(router: ServerBehaviourTests.router(writerBlocked: Counter())) { $0.tls = ctx; $0.threads = 1 }
        defer { server.stop() }
        let script = repositoryRoot.appendingPathComponent("Tests/interop/tls_neighbours.py").path
        let r = try runProcess(projectPython, [script, String(server.port), tls.caPath], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("all checks passed"), r.stdout + r.stderr)
    }

    /// Outcome: a TLS connection that sends half a ClientHello and then nothing (its socket left open)
    /// is closed by the header timeout (500 ms here; idle is 60 s, the client gives up after 15 s),
    /// and counted as timed out.
    func testAbandonedTLSHandshakeIsClosedByTheHeaderTimeout() throws {
        let tls = try TLSFixture(in: tmp)
        let ctx = try TLSServerContext(certificatePath: tls.certPath, keyPath: tls.keyPath)
        let server = try TestServer(router: Self.router()) { c in c.tls = ctx; c.headerTimeoutMs = 500; c.idleTimeoutMs = 60_000 }
        defer { server.stop() }
        let c = try RawClient(port: server.port, timeout: 15)
        c.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])     // a ClientHello's first bytes
        let end = c.readToEnd()
        XCTAssertTrue(end.closed, "the half handshake was never cut off")
        XCTAssertEqual(server.metrics.connectionsTimedOut.load(ordering: .relaxed), 1)
    }

    /// Outcome: a TLS 1.2 client asking to renegotiate (openssl s_client's `R` command; its input
    /// stays open two seconds so the renegotiation is tried) is refused with the no_renegotiation alert.
    /// OpenSSL 3 servers refuse client renegotiation by default too; the context's
    /// SSL_OP_NO_RENEGOTIATION keeps it so whatever the library's default.
    func testRenegotiationIsRefused() throws {
        let tls = try TLSFixture(in: tmp)
        let ctx = try TLSServerContext(certificatePath: tls.certPath, keyPath: tls.keyPath)
        let server = try TestServer(router: Self.router()) { $0.tls = ctx }
        defer { server.stop() }
        let r = try runProcess("/bin/sh", ["-c", "(echo R; sleep 2) | openssl s_client -connect 127.0.0.1:\(server.port) -tls1_2 -CAfile \(tls.caPath)"], timeout: 30)
        let out = r.stdout + r.stderr
        XCTAssertTrue(out.contains("RENEGOTIATING"), out)
        XCTAssertTrue(out.contains("no renegotiation"), "the server must refuse to renegotiate: \(out)")
    }

    /// Outcome: a client that pipelines ~600,000 `GET /page` (20 MB) and never reads makes the
    /// server hold at most the 256 KiB output bound plus one 4 KiB response for it (its own
    /// buffered-bytes counter), answer only what the kernel's socket buffers absorb (under 32 MiB
    /// of responses, not the ~2.4 GB asked for), keep serving another client, and close the hog
    /// by the body (write) timeout.
    func testClientThatPipelinesAndNeverReadsCostsBoundedMemory() throws {
        let server = try TestServer(router: Self.router()) { $0.bodyTimeoutMs = 1500 }
        defer { server.stop() }
        let hog = try RawClient(port: server.port, timeout: 10, receiveBuffer: 4096, sendTimeout: 2)
        let one = Array("GET /page HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        // More than the kernel can hold between the two ends (the server's receive buffer and the
        // client's send buffer at their largest), so a server that stops reading blocks the sender.
        let kernelBytes = Self.socketBufferMax("tcp_rmem") + Self.socketBufferMax("tcp_wmem")
        let requests = Swift.max(600_000, 2 * kernelBytes / one.count + 1)
        var flood: [UInt8] = []
        flood.reserveCapacity(one.count * requests)
        for _ in 0..<requests { flood += one }
        let sent = hog.sendUntilBlocked(flood)
        XCTAssertLessThan(sent, flood.count, "the server kept reading a client that never reads")

        let other = try RawClient(port: server.port)
        other.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        let m = other.readResponse()
        XCTAssertEqual(m?.status, 200)
        let bound = 256 * 1024 + Self.pageBytes + 1024
        let peak = server.metrics.peakConnectionOutputBytes.load(ordering: .relaxed)
        XCTAssertGreaterThan(peak, 0)
        XCTAssertLessThanOrEqual(peak, bound, "server buffered \(peak) bytes for one client that never reads")
        XCTAssertLessThanOrEqual(server.metrics.bufferedOutputBytes.load(ordering: .relaxed), bound)
        let answered = Int(server.metrics.requestCount(route: "/page", status: 200))
        // What was answered fits in the server's send buffer at its largest, not the flood's worth.
        let answeredBound = Swift.max(32 << 20, 2 * Self.socketBufferMax("tcp_wmem") + (2 << 20))
        XCTAssertLessThan(answered * Self.pageBytes, answeredBound, "answered \(answered) of \(sent / one.count) pipelined requests")
        XCTAssertTrue(waitUntil(seconds: 20) { server.metrics.connectionsTimedOut.load(ordering: .relaxed) >= 1 },
                      "the client that never reads was never cut off")
        XCTAssertTrue(waitUntil(seconds: 5) { server.metrics.bufferedOutputBytes.load(ordering: .relaxed) == 0 })
    }

    /// Outcome: Content-Length and chunk sizes up to and past Int.max get a precise status (413 over
    /// the route's 1 MiB, 400 when not a number in range), the connection closes, and the server
    /// goes on serving: nothing traps.
    func testHugeContentLengthsAndChunkSizesGetAStatusNotATrap() throws {
        let server = try TestServer(router: Self.router())
        defer { server.stop() }
        let cases: [(String, Int)] = [
            ("Content-Length: 999999999999999999\r\n\r\nabc", 413),
            ("Content-Length: 9223372036854775807\r\n\r\n", 400),
            ("Content-Length: 18446744073709551616\r\n\r\n", 400),
            ("Transfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n" + String(repeating: "z", count: 2 << 20), 413),
            ("Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400),
            ("Transfer-Encoding: chunked\r\n\r\n80000\r\n\(String(repeating: "y", count: 0x80000))\r\n80000\r\n\(String(repeating: "y", count: 0x80000))\r\n1\r\ny\r\n0\r\n\r\n", 413),
        ]
        for (rest, status) in cases {
            let c = try RawClient(port: server.port, sendTimeout: 5)
            _ = c.sendUntilBlocked(Array("POST /upload HTTP/1.1\r\nHost: a\r\n\(rest)".utf8))
            let r = c.readResponse()
            XCTAssertEqual(r?.status, status, String(rest.prefix(60)))
            XCTAssertEqual(r?.header("Connection"), "close", String(rest.prefix(60)))
        }
        let ok = try RawClient(port: server.port)
        ok.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertEqual(ok.readResponse()?.text, "{\"bytes\":3}")
    }

    /// Outcome: a 12 KiB request head sent one byte per write costs the server's parser at most 4x
    /// its size in bytes examined (the server's own work counter), not its square (~75 MB).
    func testTrickledHeadCostsLinearParsing() throws {
        let server = try TestServer(router: Self.router())
        defer { server.stop() }
        let head = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "v", count: 12_000))\r\n\r\n".utf8)
        let c = try RawClient(port: server.port)
        for b in head { c.send([b]) }
        XCTAssertEqual(c.readResponse()?.status, 200)
        let work = server.metrics.headBytesParsed.load(ordering: .relaxed)
        XCTAssertLessThanOrEqual(work, 4 * head.count, "parsed \(work) bytes for a \(head.count)-byte head")
    }

    /// Outcome: with a pipelining depth of 4, 200 pipelined requests sent at once are all answered,
    /// in order: the limit pauses parsing, it never drops or reorders a request.
    func testPipeliningDepthLimitPausesWithoutLosingRequests() throws {
        let server = try TestServer(router: Self.router()) { $0.maxPipelinedRequests = 4 }
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        c.send((0..<200).map { "GET /n/\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined())
        for i in 0..<200 { XCTAssertEqual(c.readResponse()?.text, "/n/\(i)") }
    }

    /// Outcome: the header timeout (600 ms here; idle is 60 s) cuts off a partial second request on
    /// a kept-alive connection and a partial pipelined one with 408, long before the idle timeout
    /// (the client's read gives up after 15 s).
    func testHeaderTimeoutAppliesToSecondAndLaterRequests() throws {
        let server = try TestServer(router: Self.router()) { c in
            c.headerTimeoutMs = 600
            c.idleTimeoutMs = 60_000
        }
        defer { server.stop() }
        let keptAlive = try RawClient(port: server.port, timeout: 15)
        keptAlive.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(keptAlive.readResponse()?.status, 200)
        keptAlive.send("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        XCTAssertEqual(keptAlive.readResponse()?.status, 408)
        XCTAssertTrue(keptAlive.readToEnd().closed)

        let pipelined = try RawClient(port: server.port, timeout: 15)
        pipelined.send("GET /n/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /n/2 HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        XCTAssertEqual(pipelined.readResponse()?.text, "/n/1")
        XCTAssertEqual(pipelined.readResponse()?.status, 408)
        XCTAssertTrue(pipelined.readToEnd().closed)
        XCTAssertEqual(server.metrics.connectionsTimedOut.load(ordering: .relaxed), 2)
    }

    /// Outcome: with MAX_CONNECTIONS 4, a fifth connection is accepted and closed at once (no bytes,
    /// end of stream), counted, and once one of the four closes a new one is served.
    func testConnectionsPastTheLimitAreClosedAtOnce() throws {
        let server = try TestServer(router: Self.router()) { $0.maxConnections = 4 }
        defer { server.stop() }
        var held: [RawClient] = []
        for _ in 0..<4 {
            let c = try RawClient(port: server.port)
            c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            XCTAssertEqual(c.readResponse()?.status, 200)
            held.append(c)
        }
        // Nothing is sent: bytes the server never reads would turn its close into a reset.
        let extra = try RawClient(port: server.port, timeout: 10)
        let end = extra.readToEnd()
        XCTAssertTrue(end.closed)
        XCTAssertEqual(end.bytes, [])
        XCTAssertEqual(server.metrics.connectionsRefused.load(ordering: .relaxed), 1)
        held.removeFirst()
        XCTAssertTrue(waitUntil(seconds: 5) { server.metrics.openConnections.load(ordering: .relaxed) == 3 })
        let again = try RawClient(port: server.port)
        again.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(again.readResponse()?.status, 200)
    }

    /// The real cr-agent (two reactor threads) under `prlimit --nofile=64`, and the port it logged (0,
    /// with a failure recorded, when it logged none).
    func startAgentWith64Descriptors(_ extra: [String: String]) throws -> (BackgroundProcess, Int) {
        let (p, port) = try startAgentService(extra, under: ["/usr/bin/prlimit", "--nofile=64:64"])
        XCTAssertGreaterThan(port, 0, "agent did not log its port: \(p.stdout)\(p.stderr)")
        return (p, port)
    }

    /// Outcome: the real cr-agent under `prlimit --nofile=64` with MAX_CONNECTIONS above what the
    /// descriptors allow, facing 120 connections: it does not spin (under 0.5 s of CPU over a 2 s
    /// window, read from /proc/<pid>/stat; a spinning accept loop burns ~2 s per thread), logs the
    /// pause at most twice, and answers /healthcheck again once the clients close.
    func testDescriptorExhaustionPausesAcceptingInsteadOfSpinning() throws {
        let (p, port) = try startAgentWith64Descriptors(["MAX_CONNECTIONS": "100000"])
        defer { _ = p.stop(signal: SIGKILL) }
        guard port > 0 else { return }
        var clients: [RawClient] = []
        for _ in 0..<120 { clients.append(try RawClient(port: port, timeout: 2)) }
        XCTAssertTrue(waitUntil(seconds: 10) { p.stdout.contains("accept paused") }, "descriptors never ran out: \(p.stdout)")
        let pid = p.process.processIdentifier
        let before = cpuSeconds(pid)
        // Watched for 2 s, ending early (and failing) as soon as it has burnt half a second.
        let spun = waitUntil(seconds: 2) { cpuSeconds(pid) - before >= 0.5 }
        XCTAssertFalse(spun, "the agent used \(cpuSeconds(pid) - before) s of CPU within 2 s with descriptors exhausted")
        XCTAssertLessThanOrEqual(p.stdout.components(separatedBy: "accept paused").count - 1, 2, "the pause warning must be rate-limited")
        clients.removeAll()
        let r = try runProcess("curl", ["-sS", "--retry", "5", "--retry-all-errors", "--retry-delay", "1", "http://127.0.0.1:\(port)/healthcheck"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(p.process.isRunning)
    }

    /// Outcome: the real cr-agent under `prlimit --nofile=64` with the default MAX_CONNECTIONS (half
    /// of a limit under 128: 32) facing 45 connections refuses those past 32 at once, never runs out
    /// of descriptors (no accept pause), and counts them in /metrics once the clients are gone.
    func testDefaultMaxConnectionsFollowsTheDescriptorLimit() throws {
        let (p, port) = try startAgentWith64Descriptors([:])
        defer { _ = p.stop(signal: SIGKILL) }
        guard port > 0 else { return }
        var clients: [RawClient] = []
        for _ in 0..<45 { clients.append(try RawClient(port: port, timeout: 5)) }
        XCTAssertTrue(waitUntil(seconds: 10) { p.stdout.contains("connection refused: MAX_CONNECTIONS reached") }, p.stdout)
        XCTAssertTrue(p.stdout.contains("\"maxConnections\":32"), p.stdout)
        XCTAssertTrue(waitUntil(seconds: 5) { clients.filter(\.peerHasClosed).count == 13 },
                      "\(clients.filter(\.peerHasClosed).count) closed; the 13 connections past 32 must be closed at once")
        clients.removeAll()
        let r = try runProcess("curl", ["-sS", "--retry", "5", "--retry-all-errors", "--retry-delay", "1", "http://127.0.0.1:\(port)/metrics"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("http_connections_refused_total 13"), r.stdout)
        XCTAssertFalse(p.stdout.contains("accept paused"), p.stdout)
    }

    /// The largest buffer the kernel gives a TCP socket in one direction (`tcp_rmem`/`tcp_wmem`'s third field).
    static func socketBufferMax(_ name: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/\(name)", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? (6 << 20)
    }

    /// Outcome: 400 connections that mix pipelined, malformed, early-answered, streamed, chunked and
    /// 100-continue requests with half-closes, resets and abandoned reads, split at random points
    /// (seeded, so a failure can be replayed), never trip the connection's state machine (a debug
    /// build stops on an impossible transition): afterwards the server answers, holds no output,
    /// and every connection is gone once the clients are.
    func testRandomMisbehaviourNeverBreaksTheStateMachine() throws {
        let server = try TestServer(router: Self.router()) { c in c.headerTimeoutMs = 300; c.bodyTimeoutMs = 300 }
        defer { server.stop() }
        // CR_CHAOS_SEED replays or explores another sequence.
        var rng = SplitMix(seed: ProcessInfo.processInfo.environment["CR_CHAOS_SEED"].flatMap { UInt64($0) } ?? 0x5eed_1234)
        let pieces = [
            "GET /n/1 HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD /page HTTP/1.1\r\nHost: a\r\n\r\n", "GET /later HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n", "GET /stream HTTP/1.0\r\n\r\n", "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\nabc",
            "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
            "POST /n/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz", "GET /n/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n", "GET /\rX HTTP/1.1\r\n\r\n", "BREW / HTCPCP/1.0\r\n\r\n", "\r\n",
        ]
        for _ in 0..<400 {
            let c = try RawClient(port: server.port, timeout: 2)
            var bytes: [UInt8] = []
            for _ in 0..<(1 + rng.next(6)) { bytes += Array(pieces[rng.next(pieces.count)].utf8) }
            var at = 0
            while at < bytes.count {
                let n = Swift.min(bytes.count - at, 1 + rng.next(bytes.count))
                if !c.send(Array(bytes[at..<(at + n)])) { break }
                at += n
            }
            switch rng.next(5) {
            case 0: _ = c.readSome()                       // read a little, then go
            case 1: c.shutdownWrite(); _ = c.readToEnd()    // half-close and read it all
            case 2: c.resetOnClose()                        // vanish with a reset
            case 3: _ = c.readResponse()
            default: break                                  // never read at all
            }
        }
        let ok = try RawClient(port: server.port)
        ok.send("GET /n/done HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(ok.readResponse()?.text, "/n/done")
        XCTAssertTrue(waitUntil(seconds: 10) { server.metrics.openConnections.load(ordering: .relaxed) == 1 },
                      "\(server.metrics.openConnections.load(ordering: .relaxed)) connections still open")
        XCTAssertEqual(server.metrics.bufferedOutputBytes.load(ordering: .relaxed), 0)
    }

    /// A small seeded generator (SplitMix64), so a failing sequence can be replayed.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }
}
