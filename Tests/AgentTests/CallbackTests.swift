// Callbacks end to end against receivers the tests start: a recording receiver on the project's own HTTP
// server (with the broker client's 10 MiB body limit), stand-ins for misbehaviour (503 twice, 429 with
// Retry-After, a 400, a listener that never answers), target resolution, and the cut of huge results.
@testable import AgentKit
import Core
import Foundation
import Glibc
import TestSupport
import XCTest

/// A callback receiver that records every request and answers each with what `answer` says for the
/// request's index (0-based): a real HTTP server, misbehaving only when a test tells it to.
final class CallbackReceiver: Sendable {
    struct Recorded: Sendable {
        let path: String
        let headers: [(String, String)]
        let body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    let server: TestServer
    let requests = Locked<[Recorded]>([])
    var url: String { "http://127.0.0.1:\(server.port)" }

    init(answer: @escaping @Sendable (Int) -> (Int, [(String, String)]) = { _ in (200, []) }) throws {
        let requests = self.requests
        var router = Router()
        router.add("POST", "/*", maxBodyBytes: CallbackPayloads.maxBodyBytes) { exchange in
            exchange.collectBody(limit: CallbackPayloads.maxBodyBytes) { result in
                guard case .success(let body) = result else { exchange.respond(status: 413); return }
                var index = 0
                requests.mutate {
                    index = $0.count
                    $0.append(Recorded(path: String(exchange.request.path), headers: exchange.request.headers.map { ($0.name, $0.value) }, body: body))
                }
                let (status, headers) = answer(index)
                exchange.respond(status: status, headers: HTTPHeaders(headers), body: Array("{}".utf8))
            }
        }
        server = try TestServer(router: router)
    }

    deinit { server.stop() }
}

/// Carries the sender to the test's other thread, which only calls its thread-hopping entry points.
// @unchecked: CallbackSender.imageFinished/operationDone hop to the sender's reactor themselves.
final class SenderBox: @unchecked Sendable {
    let sender: CallbackSender
    let finish: () -> Void
    init(sender: CallbackSender, finish: @escaping () -> Void) { self.sender = sender; self.finish = finish }
}

final class CallbackTests: XCTestCase {
    let quietLogger = Logger(level: .error, fd: 2, component: "callback-test")

    func head(_ headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(method: "POST", target: "/scan", headers: HTTPHeaders(headers))
    }

    func target(_ base: String, requestId: String = "req-1", connection: String = "conn-7") throws -> CallbackTarget {
        try CallbackSender.target(for: head([("x-broker-client-url", base), ("snyk-request-id", requestId),
                                             ("snyk-broker-connection-identifier", connection)]),
                                  bodyCallbackURL: nil, environment: Environment([:])).get()
    }

    /// Runs `body` on the thread of a fresh reactor with a sender, until `finish` is called (or 60 s pass).
    @discardableResult
    func withSender(_ env: [String: String] = [:], logger: Logger? = nil,
                    _ body: @escaping (CallbackSender, @escaping () -> Void) -> Void) throws -> CallbackStats {
        var stats = CallbackStats()
        let finished = try runOnReactor(seconds: 60) { reactor, finish in
            let sender = try CallbackSender(reactor: reactor, environment: Environment(env), logger: logger ?? quietLogger)
            // On the reactor's thread, as the service calls it; `finish` keeps the sender alive until then.
            reactor.schedule(afterMilliseconds: 0) {
                body(sender) {
                    stats = sender.stats
                    finish()
                }
            }
        }
        XCTAssertTrue(finished, "the operation's done was delivered or given up")
        return stats
    }

    // MARK: bodies, order, headers

    func testResultsThenDoneInOrderWithCopiedHeaders() throws {
        let receiver = try CallbackReceiver()
        let t = try target(receiver.url)
        let inv = try ReportFixtures.inventory()
        let stats = try withSender { sender, finish in
            sender.imageFinished(operationId: "op-1", kind: .scan, target: t, image: "team/app:1.4.2", outcome: CallbackPayloads.outcome(for: inv))
            sender.imageFinished(operationId: "op-1", kind: .scan, target: t, image: "team/app:missing",
                                 outcome: .failed(code: "MANIFEST_UNKNOWN", message: "manifest unknown: team/app:missing"))
            sender.imageFinished(operationId: "op-1", kind: .scan, target: t, image: "team/app@sha256:" + String(repeating: "c", count: 64),
                                 outcome: CallbackPayloads.outcome(for: inv))
            var summary = OperationSummary(images: 3, scanned: 2, failed: 1)
            summary.errors = [("team/app:missing", "MANIFEST_UNKNOWN", "manifest unknown: team/app:missing")]
            sender.operationDone(operationId: "op-1", kind: .scan, target: t, summary: summary, delivered: finish)
        }
        XCTAssertEqual(stats.delivered, 4)
        XCTAssertEqual(stats.retries, 0)
        let got = receiver.requests.get()
        XCTAssertEqual(got.map(\.path), ["/api/v2/import/result", "/api/v2/import/result", "/api/v2/import/result", "/api/v2/import/done"])
        for r in got {
            XCTAssertEqual(r.header("content-type"), "application/json")
            XCTAssertEqual(r.header("snyk-request-id"), "req-1")
            XCTAssertEqual(r.header("snyk-broker-connection-identifier"), "conn-7")
            XCTAssertEqual(r.header("user-agent"), "cr-agent/\(ProductVersion.current)")
            XCTAssertEqual(r.json["operationId"] as? String, "op-1")
            XCTAssertEqual(r.json["requestId"] as? String, "req-1")
        }
        // A scanned image: the snyk scan result with its dep-graph, nothing cut.
        let first = got[0].json
        XCTAssertEqual(first["image"] as? String, "team/app:1.4.2")
        XCTAssertEqual(first["truncated"] as? [String], [])
        XCTAssertNil(first["error"])
        let results = (first["result"] as? [String: Any])?["scanResults"] as? [[String: Any]] ?? []
        let document = Array(SnykReport.document(inv).serialized.utf8)
        XCTAssertEqual(Array(got[0].body.suffix(document.count + 1)), document + [UInt8(ascii: "}")], "the scan result as SnykReport writes it")
        XCTAssertGreaterThan(results.count, 1, "the OS result and one per application target")
        let osFacts = results.first?["facts"] as? [[String: Any]] ?? []
        let graph = osFacts.first { $0["type"] as? String == "depGraph" }?["data"] as? [String: Any]
        let pkgs = (graph?["pkgs"] as? [[String: Any]] ?? []).compactMap { ($0["info"] as? [String: Any])?["name"] as? String }
        XCTAssertTrue(pkgs.contains("glibc/libc6"), "\(pkgs)")
        XCTAssertFalse(osFacts.contains { $0["type"] as? String == "pluginWarnings" }, "nothing was cut")
        // A failed image: its error, no result.
        let second = got[1].json
        XCTAssertEqual(second["image"] as? String, "team/app:missing")
        XCTAssertNil(second["result"])
        XCTAssertEqual((second["error"] as? [String: Any])?["code"] as? String, "MANIFEST_UNKNOWN")
        // The end, last, with the counts.
        let done = got[3].json
        XCTAssertEqual(done["images"] as? Int, 3)
        XCTAssertEqual(done["scanned"] as? Int, 2)
        XCTAssertEqual(done["failed"] as? Int, 1)
        XCTAssertEqual(done["undelivered"] as? Int, 0)
        XCTAssertTrue(done["endedBy"] is NSNull)
        XCTAssertEqual((done["errors"] as? [[String: Any]])?.first?["code"] as? String, "MANIFEST_UNKNOWN")
    }

    /// The same against an independent server (Python's http.server, Tests/registry/callback_receiver.py),
    /// whose own JSON parser reads the bodies; its first answer is a 503 (misbehaviour on purpose).
    func testPythonReceiverParsesEveryCallback() throws {
        let receiver = try CallbackReceiverProcess(answers: [503])
        defer { receiver.stop() }
        let t = try target(receiver.url)
        let inv = try ReportFixtures.inventory()
        let stats = try withSender(["CALLBACK_RETRY_BASE_MS": "10"]) { sender, finish in
            sender.imageFinished(operationId: "op-py", kind: .scan, target: t, image: "team/app:1.4.2", outcome: CallbackPayloads.outcome(for: inv))
            sender.imageFinished(operationId: "op-py", kind: .scan, target: t, image: "team/app:gone",
                                 outcome: .failed(code: "MANIFEST_UNKNOWN", message: "manifest unknown \u{1F4A5} \"quoted\"\n"))
            sender.operationDone(operationId: "op-py", kind: .scan, target: t,
                                 summary: OperationSummary(images: 2, scanned: 1, failed: 1,
                                                           errors: [("team/app:gone", "MANIFEST_UNKNOWN", "manifest unknown")]),
                                 delivered: finish)
        }
        XCTAssertEqual(stats.retries, 1)
        let got = try receiver.requests()
        XCTAssertEqual(got.map { $0["path"] as? String }, ["/api/v2/import/result", "/api/v2/import/result", "/api/v2/import/result", "/api/v2/import/done"])
        for r in got {
            let headers = r["headers"] as? [String: String] ?? [:]
            XCTAssertEqual(headers["content-type"], "application/json")
            XCTAssertEqual(headers["snyk-request-id"], "req-1")
            XCTAssertEqual(headers["snyk-broker-connection-identifier"], "conn-7")
            XCTAssertEqual(headers["content-length"], String(r["size"] as? Int ?? -1))
            XCTAssertNotNil(r["json"] as? [String: Any], "Python's json module parsed the body")
        }
        let result = got[1]["json"] as? [String: Any]
        XCTAssertEqual(((result?["result"] as? [String: Any])?["scanResults"] as? [Any])?.count,
                       SnykReport.document(inv)["scanResults"]?.array?.count)
        XCTAssertEqual((got[2]["json"] as? [String: Any])?["error"] as? [String: String],
                       ["code": "MANIFEST_UNKNOWN", "message": "manifest unknown \u{1F4A5} \"quoted\"\n"])
        XCTAssertEqual((got[3]["json"] as? [String: Any])?["scanned"] as? Int, 1)
    }

    func testDiscoverResultsGoToRecurringTestsAndEndAtImportDone() throws {
        let receiver = try CallbackReceiver()
        let t = try target(receiver.url + "/prefix/")
        try withSender { sender, finish in
            sender.imageFinished(operationId: "op-d", kind: .discover, target: t, image: "a:1", outcome: .failed(code: "DENIED", message: "denied"))
            sender.operationDone(operationId: "op-d", kind: .discover, target: t,
                                 summary: OperationSummary(images: 1, scanned: 0, failed: 1, errors: [("a:1", "DENIED", "denied")], endedBy: "cancelled"),
                                 delivered: finish)
        }
        let got = receiver.requests.get()
        XCTAssertEqual(got.map(\.path), ["/prefix/api/v1/recurring-tests/dependencies", "/prefix/api/v2/import/done"])
        XCTAssertEqual(got.last?.json["endedBy"] as? String, "cancelled")
    }

    // MARK: target resolution

    func testTargetResolution() throws {
        let env = Environment(["BROKER_CLIENT_URL": "http://broker-client:8000"])
        let none = Environment([:])
        func resolve(_ headers: [(String, String)], _ body: String?, _ e: Environment) -> Result<CallbackTarget, ServiceError> {
            CallbackSender.target(for: head(headers), bodyCallbackURL: body, environment: e)
        }
        // The agent's own setting wins over the header.
        XCTAssertEqual(try resolve([("x-broker-client-url", "http://elsewhere:1")], nil, env).get().base, "http://broker-client:8000")
        // Without it, the header.
        XCTAssertEqual(try resolve([("x-broker-client-url", "HTTP://Client.Example:7341/")], nil, none).get().base, "http://client.example:7341")
        // Neither: 400 naming both ways.
        guard case .failure(let missing) = resolve([], nil, none) else { return XCTFail("no base must be refused") }
        XCTAssertEqual(missing.status, 400)
        XCTAssertTrue(missing.message.contains("BROKER_CLIENT_URL") && missing.message.contains("x-broker-client-url"), missing.message)
        // A body callbackUrl of the same origin (default port written out) is honoured with its path.
        XCTAssertEqual(try resolve([], "http://broker-client:8000/hooks/", env).get().base, "http://broker-client:8000/hooks")
        XCTAssertEqual(try resolve([("x-broker-client-url", "https://c.example")], "https://c.example:443/x", none).get().base, "https://c.example/x")
        // A foreign origin: 400 naming both origins.
        guard case .failure(let foreign) = resolve([], "http://attacker.example:8000/", env) else { return XCTFail("foreign origin accepted") }
        XCTAssertEqual(foreign.status, 400)
        XCTAssertTrue(foreign.message.contains("http://attacker.example:8000") && foreign.message.contains("http://broker-client:8000"), foreign.message)
        for other in ["https://broker-client:8000", "http://broker-client:8001", "http://broker-client.evil:8000"] {
            if case .success = resolve([], other, env) { XCTFail("\(other) has another origin") }
        }
        // Unusable URLs, each refused without quoting the value (userinfo may hold a password).
        let bad = ["ftp://c.example", "http://", "http://user:s3cret-pass@c.example", "http://c.example/?q=1", "http://c.example:0",
                   "http://c.example:99999", "http://169.254.169.254", "http://c.example/a/../b", "http://c.example//x", "http://c.example/p@x",
                   "http://c.example\\@evil.example", "http://c ex", "/relative",
                   "http://" + String(repeating: "a", count: 3000)]
        for raw in bad {
            guard case .failure(let e) = resolve([("x-broker-client-url", raw)], nil, none) else { XCTFail("\(raw) accepted"); continue }
            XCTAssertEqual(e.status, 400, raw)
            XCTAssertFalse(e.message.contains("s3cret-pass"), e.message)
            XCTAssertTrue(e.message.contains("x-broker-client-url"), e.message)
        }
        guard case .failure(let badBody) = resolve([], "http://u:s3cret-pass@broker-client:8000", env) else { return XCTFail("userinfo accepted") }
        XCTAssertFalse(badBody.message.contains("s3cret-pass"), badBody.message)
        // Copied headers: only the two named ones.
        let t = try resolve([("x-broker-client-url", "http://c:1"), ("snyk-request-id", "r"), ("snyk-broker-connection-identifier", "c"),
                             ("authorization", "secret")], nil, none).get()
        XCTAssertEqual(t.copiedHeaders.map(\.0), ["snyk-broker-connection-identifier", "snyk-request-id"])
    }

    /// A callback setting the agent cannot use stops it at start-up: exit 2, one line naming the variable,
    /// never quoting a password from the URL.
    func testBadCallbackSettingsStopTheAgentAtStartUp() throws {
        let cases: [([String: String], String)] = [
            (["BROKER_CLIENT_URL": "http://user:pw-s3cret@broker-client:8000"], "BROKER_CLIENT_URL"),
            (["BROKER_CLIENT_URL": "broker-client:8000"], "BROKER_CLIENT_URL"),
            (["CALLBACK_MAX_ATTEMPTS": "0"], "CALLBACK_MAX_ATTEMPTS"),
            (["CALLBACK_QUEUE_MAX_BYTES": "lots"], "CALLBACK_QUEUE_MAX_BYTES"),
        ]
        for (env, variable) in cases {
            let r = try runProcess(agentExecutablePath, [], environment: env.merging(["PATH": "/usr/bin", "SNYK_PORT": "0"]) { $1 }, timeout: 10)
            XCTAssertEqual(r.status, 2, "\(env): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(variable), r.stderr)
            XCTAssertFalse(r.stderr.contains("pw-s3cret") || r.stdout.contains("pw-s3cret"), r.stderr)
        }
    }

    // MARK: retries against stand-ins

    /// Stand-in (misbehaviour): the receiver answers 503 twice, then 200.
    func testStandIn503TwiceThen200IsRetried() throws {
        let receiver = try CallbackReceiver { i in i < 2 ? (503, []) : (200, []) }
        let t = try target(receiver.url)
        let stats = try withSender(["CALLBACK_RETRY_BASE_MS": "10"]) { sender, finish in
            sender.imageFinished(operationId: "op-r", kind: .scan, target: t, image: "a:1", outcome: .failed(code: "X", message: "x"))
            sender.operationDone(operationId: "op-r", kind: .scan, target: t, summary: OperationSummary(images: 1, failed: 1), delivered: finish)
        }
        let got = receiver.requests.get()
        XCTAssertEqual(got.map(\.path), ["/api/v2/import/result", "/api/v2/import/result", "/api/v2/import/result", "/api/v2/import/done"])
        XCTAssertEqual(got[0].body, got[2].body, "a retry sends the same body")
        XCTAssertEqual(stats.retries, 2)
        XCTAssertEqual(stats.delivered, 2)
        XCTAssertEqual(stats.givenUp, 0)
        XCTAssertEqual(got[3].json["undelivered"] as? Int, 0)
    }

    /// The counters /metrics shows, from another thread, match what the sender did.
    func testMetricsRenderTheSendersCounters() throws {
        let receiver = try CallbackReceiver { i in i == 0 ? (500, []) : (200, []) }
        let t = try target(receiver.url)
        let metrics = Locked<CallbackMetrics?>(nil)
        try withSender(["CALLBACK_RETRY_BASE_MS": "5"]) { sender, finish in
            metrics.set(sender.metrics)
            sender.operationDone(operationId: "op-m", kind: .scan, target: t, summary: OperationSummary(), delivered: finish)
        }
        let text = try XCTUnwrap(metrics.get()).render()
        XCTAssertTrue(text.contains("cr_agent_callbacks_total{outcome=\"delivered\"} 1\n"), text)
        XCTAssertTrue(text.contains("cr_agent_callback_retries_total 1\n"), text)
        XCTAssertTrue(text.contains("cr_agent_callback_queue_items 0\n"), text)
    }

    /// Stand-in (misbehaviour): 429 with Retry-After: 1, then 200. The wait is the receiver's, not the backoff's.
    func testStandIn429HonoursRetryAfter() throws {
        let receiver = try CallbackReceiver { i in i == 0 ? (429, [("Retry-After", "1")]) : (200, []) }
        let t = try target(receiver.url)
        let stats = try withSender(["CALLBACK_RETRY_BASE_MS": "10"]) { sender, finish in
            sender.imageFinished(operationId: "op-429", kind: .scan, target: t, image: "a:1", outcome: .failed(code: "X", message: "x"))
            sender.operationDone(operationId: "op-429", kind: .scan, target: t, summary: OperationSummary(images: 1, failed: 1), delivered: finish)
        }
        XCTAssertEqual(receiver.requests.get().count, 3)
        XCTAssertEqual(stats.retryAfterHonoured, 1)
        XCTAssertGreaterThanOrEqual(stats.longestRetryDelayMs, 1000, "Retry-After: 1 waits at least a second, not the 10 ms backoff")
        XCTAssertEqual(stats.delivered, 2)
    }

    /// Stand-in (misbehaviour): a Retry-After far out of range (or unreadable) waits at most
    /// CALLBACK_RETRY_MAX_DELAY_MS, never the receiver's number.
    func testStandInRetryAfterOutOfRangeIsCapped() throws {
        let answers: [(Int, [(String, String)])] = [(429, [("Retry-After", "99999999999")]), (503, [("Retry-After", "soon")]), (200, [])]
        let receiver = try CallbackReceiver { i in answers[min(i, 2)] }
        let t = try target(receiver.url)
        let stats = try withSender(["CALLBACK_RETRY_BASE_MS": "5", "CALLBACK_RETRY_MAX_DELAY_MS": "50"]) { sender, finish in
            sender.operationDone(operationId: "op-ra", kind: .scan, target: t, summary: OperationSummary(), delivered: finish)
        }
        XCTAssertEqual(receiver.requests.get().count, 3)
        XCTAssertEqual(stats.delivered, 1)
        XCTAssertEqual(stats.retryAfterHonoured, 0)
        XCTAssertLessThanOrEqual(stats.longestRetryDelayMs, 50)
    }

    /// Stand-in (misbehaviour): a 400 is not retried; the result counts as undelivered in the done body.
    func testClientErrorIsNotRetriedAndCountedInDone() throws {
        let receiver = try CallbackReceiver { i in i == 0 ? (400, []) : (200, []) }
        let t = try target(receiver.url)
        let stats = try withSender(["CALLBACK_RETRY_BASE_MS": "10"]) { sender, finish in
            sender.imageFinished(operationId: "op-4", kind: .scan, target: t, image: "a:1", outcome: .failed(code: "X", message: "x"))
            sender.operationDone(operationId: "op-4", kind: .scan, target: t, summary: OperationSummary(images: 1, failed: 1), delivered: finish)
        }
        let got = receiver.requests.get()
        XCTAssertEqual(got.map(\.path), ["/api/v2/import/result", "/api/v2/import/done"])
        XCTAssertEqual(stats.givenUp, 1)
        XCTAssertEqual(stats.retries, 0)
        XCTAssertEqual(got[1].json["undelivered"] as? Int, 1)
    }

    /// Stand-in (misbehaviour): always 500; the callback is given up after CALLBACK_MAX_ATTEMPTS.
    func testServerErrorsGiveUpAfterMaxAttempts() throws {
        let receiver = try CallbackReceiver { _ in (500, []) }
        let t = try target(receiver.url)
        let stats = try withSender(["CALLBACK_RETRY_BASE_MS": "5", "CALLBACK_MAX_ATTEMPTS": "3"]) { sender, finish in
            sender.imageFinished(operationId: "op-5", kind: .scan, target: t, image: "a:1", outcome: .failed(code: "X", message: "x"))
            sender.operationDone(operationId: "op-5", kind: .scan, target: t, summary: OperationSummary(images: 1, failed: 1), delivered: finish)
        }
        XCTAssertEqual(receiver.requests.get().count, 6, "three attempts for the result, three for the done")
        XCTAssertEqual(stats.givenUp, 2)
        XCTAssertEqual(stats.retries, 4)
        XCTAssertEqual(stats.queuedItems, 0)
    }

    /// Nothing listens: connection errors are retried, then given up; the done's closure still runs.
    func testConnectionRefusedIsRetriedThenGivenUp() throws {
        let port = try unusedPort()
        let t = try target("http://127.0.0.1:\(port)")
        let stats = try withSender(["CALLBACK_RETRY_BASE_MS": "5", "CALLBACK_MAX_ATTEMPTS": "2"]) { sender, finish in
            sender.operationDone(operationId: "op-c", kind: .scan, target: t, summary: OperationSummary(), delivered: finish)
        }
        XCTAssertEqual(stats.retries, 1)
        XCTAssertEqual(stats.givenUp, 1)
    }

    // MARK: bounds

    /// Stand-in (misbehaviour): a listener that accepts nothing and answers nothing. Results pile up
    /// behind the one in flight: the queue stays inside its bounds by dropping the oldest results,
    /// counts them, and still takes the operation's end.
    func testReceiverThatNeverAnswersKeepsTheQueueBounded() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let t = try target("http://127.0.0.1:\(port)")
        let body = CallbackPayloads.outcome(forScanResult: Array("{\"scanResults\":[],\"pad\":\"\(String(repeating: "x", count: 10_000))\"}".utf8))
        guard case .scanned = body else { return XCTFail("a small JSON result is scanned") }
        try withSender(["CALLBACK_QUEUE_MAX_ITEMS": "20", "CALLBACK_QUEUE_MAX_BYTES": "150000", "CALLBACK_TIMEOUT_MS": "600000"]) { sender, finish in
            for i in 0..<500 {
                sender.imageFinished(operationId: "op-s", kind: .scan, target: t, image: "img:\(i)", outcome: body)
            }
            sender.operationDone(operationId: "op-s", kind: .scan, target: t, summary: OperationSummary(images: 500, scanned: 500)) {}
            let s = sender.stats
            XCTAssertLessThanOrEqual(s.maxQueuedItems, 20)
            XCTAssertLessThanOrEqual(s.maxQueuedBytes, 150_000 + 1024, "results within the byte bound, plus one small done")
            XCTAssertEqual(s.queued, 501)
            XCTAssertEqual(s.dropped + s.queuedItems, 501, "every result is either waiting or counted as dropped")
            XCTAssertGreaterThanOrEqual(s.dropped, 500 - 14)
            XCTAssertEqual(s.delivered, 0)
            // Let the first request reach the silent socket, then check nothing grew.
            sender.reactor.schedule(afterMilliseconds: 200) {
                XCTAssertLessThanOrEqual(sender.stats.queuedItems, 20)
                XCTAssertEqual(sender.stats.delivered, 0)
                finish()
            }
        }
    }

    /// The same in bytes of memory: 200 MB of results offered to a receiver that never answers leave
    /// the process's resident size within the 2 MB queue bound plus a generous margin.
    func testReceiverThatNeverAnswersDoesNotGrowMemory() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let t = try target("http://127.0.0.1:\(port)")
        let result = Array("{\"scanResults\":[],\"pad\":\"\(String(repeating: "x", count: 200_000))\"}".utf8)
        let before = residentBytes()
        XCTAssertGreaterThan(before, 0, "VmRSS read from /proc/self/status")
        try withSender(["CALLBACK_QUEUE_MAX_BYTES": "2000000", "CALLBACK_TIMEOUT_MS": "600000"]) { sender, finish in
            for i in 0..<1000 {
                sender.imageFinished(operationId: "op-mem", kind: .scan, target: t, image: "m:\(i)", outcome: .scanned(scanResult: result, truncated: []))
            }
            XCTAssertLessThanOrEqual(sender.stats.maxQueuedBytes, 2_000_000)
            XCTAssertGreaterThanOrEqual(sender.stats.dropped, 990)
            finish()
        }
        let grown = residentBytes() - before
        XCTAssertLessThan(grown, 64 << 20, "offered 200 MB, kept at most 2 MB; resident size grew \(grown) bytes")
    }

    /// VmRSS of this process, from /proc/self/status.
    func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return (fields.count >= 2 ? Int(fields[1]) ?? 0 : 0) * 1024
    }

    /// At the end of a shutdown: everything waiting is given up at once (each end's closure runs), and
    /// what comes later too, so no operation waits on a receiver that is away.
    func testAbandonAllGivesUpEverythingAndRunsEachEnd() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let t = try target("http://127.0.0.1:\(port)")
        var ends = 0
        let stats = try withSender(["CALLBACK_TIMEOUT_MS": "600000"]) { sender, finish in
            for i in 0..<5 { sender.imageFinished(operationId: "op-a", kind: .scan, target: t, image: "a:\(i)", outcome: .failed(code: "X", message: "x")) }
            sender.operationDone(operationId: "op-a", kind: .scan, target: t, summary: OperationSummary(images: 5, failed: 5)) { ends += 1 }
            sender.reactor.schedule(afterMilliseconds: 100) {
                sender.abandonAll(reason: "SHUTDOWN_TIMEOUT_MS passed")
                XCTAssertEqual(ends, 1)
                sender.operationDone(operationId: "op-b", kind: .scan, target: t, summary: OperationSummary()) { ends += 1 }
                XCTAssertEqual(ends, 2, "an end queued after abandoning is given up at once")
                finish()
            }
        }
        XCTAssertEqual(stats.givenUp, 7)
        XCTAssertEqual(stats.queuedItems, 0)
        XCTAssertEqual(stats.queuedBytes, 0)
        XCTAssertEqual(stats.delivered, 0)
    }

    /// Operations may report from another thread: the sender hops to its reactor, order kept.
    func testCallsFromAnotherThreadAreDeliveredInOrder() throws {
        let receiver = try CallbackReceiver()
        let t = try target(receiver.url)
        try withSender { sender, finish in
            let box = SenderBox(sender: sender, finish: finish)
            Thread {
                for i in 0..<20 {
                    box.sender.imageFinished(operationId: "op-t", kind: .scan, target: t, image: "t:\(i)", outcome: .failed(code: "X", message: "x"))
                }
                box.sender.operationDone(operationId: "op-t", kind: .scan, target: t, summary: OperationSummary(images: 20, failed: 20), delivered: box.finish)
            }.start()
        }
        let got = receiver.requests.get()
        XCTAssertEqual(got.compactMap { $0.json["image"] as? String }, (0..<20).map { "t:\($0)" })
        XCTAssertEqual(got.last?.path, "/api/v2/import/done")
    }

    /// LOG_LEVEL=debug: callback log lines name the operation, image and URL, never a body, a copied
    /// header or anything in them.
    func testDebugLogsCarryNoBodyOrHeaders() throws {
        let receiver = try CallbackReceiver { i in i == 0 ? (503, []) : (200, []) }
        let t = try CallbackSender.target(for: head([("x-broker-client-url", receiver.url), ("snyk-request-id", "rid-not-in-logs"),
                                                     ("snyk-broker-connection-identifier", "conn-not-in-logs")]),
                                          bodyCallbackURL: nil, environment: Environment([:])).get()
        let dir = try makeTemporaryDirectory("callback-logs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("log").path
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let inv = try ReportFixtures.inventory()
        try withSender(["CALLBACK_RETRY_BASE_MS": "5"], logger: Logger(level: .debug, fd: fd, component: "cr-agent")) { sender, finish in
            sender.imageFinished(operationId: "op-log", kind: .scan, target: t, image: "team/app:1.4.2", outcome: CallbackPayloads.outcome(for: inv))
            sender.operationDone(operationId: "op-log", kind: .scan, target: t, summary: OperationSummary(images: 1, scanned: 1), delivered: finish)
        }
        close(fd)
        let log = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(log.contains("callback failed, retrying") && log.contains("callback delivered"), log)
        for line in log.split(separator: "\n") { XCTAssertTrue(line.contains("\"operationId\":\"op-log\""), String(line)) }
        for absent in ["rid-not-in-logs", "conn-not-in-logs", "glibc", "scanResults", "depGraph"] {
            XCTAssertFalse(log.contains(absent), "\(absent) in the log:\n\(log)")
        }
    }

    // MARK: size

    /// An inventory whose optional facts are huge: the plugin's field limits apply, then whole facts
    /// go, largest first; the dep-graph stays whole and the body fits the broker client's 10 MiB.
    func testHugeInventoryIsCutToFitAndSaysSo() throws {
        let env = (0..<2000).map { "\"VAR_\($0)=\(String(repeating: "v", count: 1500))\"" }.joined(separator: ",")
        let history = (0..<1100).map { "{\"created_by\":\"RUN \(String(repeating: "c", count: 4200)) \($0)\"}" }.joined(separator: ",")
        let bigLabel = String(repeating: "L", count: 11 << 20)
        let config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\(env)],\"Labels\":{\"huge\":\"\(bigLabel)\"}},"
            + "\"history\":[\(history)]}"
        let packages = (0..<20_000).map { ReportFixtures.pkg(.deb, "pkg-\($0)", "1.0-\($0)", "/var/lib/dpkg/status") }
        let inv = ImageInventory(reference: "registry.example/big:1", manifestDigest: nil, imageID: "sha256:" + String(repeating: "e", count: 64),
                                 platform: Platform(os: "linux", architecture: "amd64"), os: ReportFixtures.debian12, packages: packages,
                                 layerDigests: [ReportFixtures.osLayer], diffIDs: [ReportFixtures.osDiff], config: try ReportFixtures.config(config),
                                 imageSizeBytes: 1, warnings: [])
        guard case .scanned(let bytes, let truncated) = CallbackPayloads.outcome(for: inv) else { return XCTFail("the dep-graph fits: it must not fail") }
        XCTAssertLessThanOrEqual(bytes.count, CallbackPayloads.maxBodyBytes - CallbackPayloads.envelopeReserve)
        XCTAssertTrue(truncated.contains("containerConfig.data.env: 1500 elements removed (limit 500)"), "\(truncated)")
        XCTAssertTrue(truncated.contains("containerConfig.data.env[*]: up to \(1500 + 9 - 1024) characters cut from a value (limit 1024)")
                      || truncated.contains { $0.hasPrefix("containerConfig.data.env[*]: up to") }, "\(truncated)")
        XCTAssertTrue(truncated.contains("history.data: 100 elements removed (limit 1000)"), "\(truncated)")
        XCTAssertTrue(truncated.contains { $0.hasPrefix("history.data[*].createdBy: up to") }, "\(truncated)")
        XCTAssertTrue(truncated.contains { $0.hasPrefix("imageLabels: fact removed (") }, "\(truncated)")

        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let facts = ((doc["scanResults"] as? [[String: Any]])?.first?["facts"] as? [[String: Any]]) ?? []
        XCTAssertFalse(facts.contains { $0["type"] as? String == "imageLabels" })
        let graph = facts.first { $0["type"] as? String == "depGraph" }?["data"] as? [String: Any]
        XCTAssertEqual((graph?["pkgs"] as? [Any])?.count, 20_001, "every package and the root: the dep-graph is never cut")
        let warnings = facts.first { $0["type"] as? String == "pluginWarnings" }?["data"] as? [String: Any]
        let cut = warnings?["truncatedFacts"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(cut["containerConfig.data.env"]?["type"] as? String, "array")
        XCTAssertEqual(cut["containerConfig.data.env"]?["countAboveLimit"] as? Int, 1500)
        XCTAssertEqual(cut["history.data"]?["countAboveLimit"] as? Int, 100)
        XCTAssertEqual(cut["history.data[*].createdBy"]?["type"] as? String, "string")
        XCTAssertEqual(cut["imageLabels"]?["type"] as? String, "fact")
        let config2 = facts.first { $0["type"] as? String == "containerConfig" }?["data"] as? [String: Any]
        XCTAssertEqual((config2?["env"] as? [String])?.count, 500)
        XCTAssertEqual((config2?["env"] as? [String])?.first?.utf16.count, 1024)

        // Delivered, the whole body stays under the broker client's limit (the receiver enforces it).
        let receiver = try CallbackReceiver()
        let t = try target(receiver.url)
        try withSender { sender, finish in
            sender.imageFinished(operationId: "op-big", kind: .scan, target: t, image: "registry.example/big:1", outcome: .scanned(scanResult: bytes, truncated: truncated))
            sender.operationDone(operationId: "op-big", kind: .scan, target: t, summary: OperationSummary(images: 1, scanned: 1), delivered: finish)
        }
        let got = receiver.requests.get()
        XCTAssertEqual(got.count, 2)
        XCTAssertLessThan(got[0].body.count, CallbackPayloads.maxBodyBytes)
        XCTAssertEqual(got[0].json["truncated"] as? [String], truncated)
    }

    /// A result whose dep-graphs alone exceed the budget is not sent cut: the image becomes RESULT_TOO_LARGE.
    func testDepGraphTooLargeBecomesAnError() throws {
        let packages = (0..<2000).map { ReportFixtures.pkg(.deb, "package-with-a-long-name-\($0)", "1.0", "/var/lib/dpkg/status") }
        let inv = try ReportFixtures.inventory(packages: packages)
        guard case .failed(let code, let message) = CallbackPayloads.outcome(for: inv, maxBytes: 100_000) else {
            return XCTFail("a dep-graph over the budget must not be sent")
        }
        XCTAssertEqual(code, "RESULT_TOO_LARGE")
        XCTAssertTrue(message.contains("100000-byte"), message)
        let (bytes, truncated) = CallbackPayloads.scanResult(inv, maxBytes: 100_000)
        XCTAssertGreaterThan(bytes.count, 100_000)
        XCTAssertTrue(truncated.last?.contains("dep-graphs are never cut") ?? false, "\(truncated)")
    }

    /// An outcome built without fitting and over 10 MiB: the sender sends RESULT_TOO_LARGE instead and
    /// moves the image from scanned to failed in the done body.
    func testOversizedOutcomeIsSentAsAnErrorAndCountedInDone() throws {
        let receiver = try CallbackReceiver()
        let t = try target(receiver.url)
        let huge: [UInt8] = Array("{\"scanResults\":[]".utf8) + [UInt8](repeating: 0x20, count: 11 << 20) + [UInt8(ascii: "}")]
        let stats = try withSender { sender, finish in
            sender.imageFinished(operationId: "op-h", kind: .scan, target: t, image: "h:1", outcome: .scanned(scanResult: huge, truncated: []))
            sender.operationDone(operationId: "op-h", kind: .scan, target: t, summary: OperationSummary(images: 1, scanned: 1), delivered: finish)
        }
        XCTAssertEqual(stats.tooLarge, 1)
        let got = receiver.requests.get()
        XCTAssertEqual((got.first?.json["error"] as? [String: Any])?["code"] as? String, "RESULT_TOO_LARGE")
        XCTAssertEqual(got.last?.json["scanned"] as? Int, 0)
        XCTAssertEqual(got.last?.json["failed"] as? Int, 1)
        XCTAssertEqual((got.last?.json["errors"] as? [[String: Any]])?.first?["image"] as? String, "h:1")
    }

    /// A result a worker streams back as bytes is parsed: the plugin's limits apply to it too, and bytes
    /// that are not a JSON object never reach a body (RESULT_INVALID), from either entry point.
    func testSerializedResultsAreCheckedAndLimited() throws {
        let env = (0..<600).map { "\"V\($0)=x\"" }.joined(separator: ",")
        let streamed = Array("{\"scanResults\":[{\"facts\":[{\"type\":\"depGraph\",\"data\":{}},{\"type\":\"containerConfig\",\"data\":{\"env\":[\(env)]}}]}]}".utf8)
        guard case .scanned(_, let truncated) = CallbackPayloads.outcome(forScanResult: streamed) else { return XCTFail("valid JSON is scanned") }
        XCTAssertEqual(truncated, ["containerConfig.data.env: 100 elements removed (limit 500)"])
        for bad in ["not json", "[1,2]", "{\"a\":"] {
            guard case .failed(let code, _) = CallbackPayloads.outcome(forScanResult: Array(bad.utf8)) else { XCTFail(bad); continue }
            XCTAssertEqual(code, "RESULT_INVALID", bad)
        }
        let receiver = try CallbackReceiver()
        let t = try target(receiver.url)
        let stats = try withSender { sender, finish in
            sender.imageFinished(operationId: "op-i", kind: .scan, target: t, image: "i:1", outcome: .scanned(scanResult: Array("oops".utf8), truncated: []))
            sender.operationDone(operationId: "op-i", kind: .scan, target: t, summary: OperationSummary(images: 1, scanned: 1), delivered: finish)
        }
        XCTAssertEqual(stats.delivered, 2)
        let got = receiver.requests.get()
        XCTAssertEqual((got.first?.json["error"] as? [String: Any])?["code"] as? String, "RESULT_INVALID")
        XCTAssertEqual(got.last?.json["failed"] as? Int, 1)
        XCTAssertEqual(got.last?.json["scanned"] as? Int, 0)
    }

    /// As the plugin: cuts go into a pluginWarnings fact the result already has (its other data kept),
    /// a history entry's author is cut to 128 characters, and a depGraph is left alone.
    func testCutsMergeIntoAnExistingPluginWarningsFact() throws {
        let longAuthor = String(repeating: "a", count: 200)
        let doc = try JSON.parse("""
        {"scanResults":[{"facts":[{"type":"depGraph","data":{"env":[\((0..<600).map { "\"\($0)\"" }.joined(separator: ","))]}},\
        {"type":"history","data":[{"author":"\(longAuthor)","createdBy":"x"}]},\
        {"type":"pluginWarnings","data":{"parameterChecks":["p"]}}]}]}
        """)
        guard case .fits(let bytes, let truncated) = ScanResultFit.fit(doc, maxBytes: 1 << 20) else { return XCTFail("fits") }
        XCTAssertEqual(truncated, ["history.data[*].author: up to 72 characters cut from a value (limit 128)"])
        let out = try JSON.parse(bytes)
        let facts = out["scanResults"]?.array?.first?["facts"]?.array ?? []
        XCTAssertEqual(facts.count, 3, "no second pluginWarnings fact")
        XCTAssertEqual(facts[0], doc["scanResults"]?.array?.first?["facts"]?.array?.first, "the depGraph is untouched")
        XCTAssertEqual(facts[1]["data"]?.array?.first?["author"]?.string?.count, 128)
        XCTAssertEqual(facts[2]["data"]?["parameterChecks"], .array([.string("p")]))
        XCTAssertEqual(facts[2]["data"]?["truncatedFacts"]?["history.data[*].author"]?["countAboveLimit"]?.int, 72)
    }

    /// The plugin's string limits count UTF-16 units, as JavaScript does, and never split a character.
    func testUTF16PrefixMatchesJavaScriptSubstring() {
        XCTAssertEqual(ScanResultFit.utf16Prefix("abcdef", 3), "abc")
        XCTAssertEqual(ScanResultFit.utf16Prefix("a😀b", 2), "a", "the emoji is two UTF-16 units and is not split")
        XCTAssertEqual(ScanResultFit.utf16Prefix("a😀b", 3), "a😀")
    }

    // MARK: helpers

    func unusedPort() throws -> Int {
        let (fd, port) = try silentListener()
        close(fd)
        return port
    }

    /// A TCP socket on 127.0.0.1 that listens but never accepts: connections complete in the kernel's
    /// backlog and requests go unanswered.
    func silentListener() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MissingPrerequisite("socket") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw MissingPrerequisite("bind/listen on 127.0.0.1") }
        let named = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        guard named == 0 else { close(fd); throw MissingPrerequisite("getsockname") }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }
}
