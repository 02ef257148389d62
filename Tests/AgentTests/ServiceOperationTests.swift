// The service's operations end to end: the cr-agent service started by the test, the real docker-registry
// with images pushed by the test (good ones, a missing tag, an oversized and a hostile one), and the
// misbehaving stub only for an image that never finishes (`slow`: one byte a second). Observed through
// GET /operations/<id>, /metrics, the service's log lines and its exit status; requests made with curl.
import Core
import Foundation
import TestSupport
import XCTest
@testable import AgentKit

final class ServiceOperationTests: XCTestCase {
    nonisolated(unsafe) static var fx: RegistryFixture?
    nonisolated(unsafe) static var stub: MisbehavingRegistry?
    /// Where BROKER_CLIENT_URL points: a plain HTTP server that answers 200 to every callback.
    nonisolated(unsafe) static var receiver: TestServer?

    override class func setUp() {
        super.setUp()
        do {
            let f = try RegistryFixture.start(auth: "none", pushing: ["basic", "operations"])
            fx = f
            stub = try MisbehavingRegistry()
            var router = Router()
            router.add("POST", "/*", maxBodyBytes: 16 << 20) { ex in
                ex.collectBody(limit: 16 << 20) { _ in ex.respond(status: 200, json: "{}") }
            }
            receiver = try TestServer(router: router)
        } catch {
            XCTFail("cannot start the registry, the stub or the callback receiver: \(error)")
        }
    }

    override class func tearDown() {
        fx?.stop()
        stub?.stop()
        receiver?.stop()
        super.tearDown()
    }

    var fx: RegistryFixture { Self.fx! }
    var stub: MisbehavingRegistry { Self.stub! }
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("operations") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let password = "op-secret-\(UInt32.random(in: 0...UInt32.max))"

    /// The broker's CR_CREDENTIALS for `registry` (a URL), as snyk's entrypoint writes them.
    func credentials(_ registry: String) -> String {
        let line = #"{"username":"tester", "password":""# + Self.password + #"", "registryBase":""# + registry + "\"}\n"
        return Data(line.utf8).base64EncodedString()
    }

    func startAgent(_ extra: [String: String] = [:]) throws -> (BackgroundProcess, Int) {
        let env = ["BROKER_CLIENT_URL": "http://127.0.0.1:\(Self.receiver!.port)", "SCAN_CACHE_DIR": dir.appendingPathComponent("cache").path,
                   "SNYK_MAX_IMAGE_SIZE_IN_BYTES": "1048576", "REGISTRY_STALL_TIMEOUT_MS": "600000", "SWIFT_BACKTRACE": "enable=no",
                   "HOME": "/nonexistent"].merging(extra) { $1 }
        let (p, port) = try startAgentService(env)
        if port == 0 { XCTFail("the agent did not start: \(p.stdout) \(p.stderr)") }
        return (p, port)
    }

    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
    }

    /// One request with curl; headers lower-cased.
    func http(_ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil) throws -> Answer {
        var args = ["-sS", "-D", "-", "-X", method, "http://127.0.0.1:\(port)\(path)"]
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        if body != nil { args += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        let r = try runProcess("curl", args, timeout: 30, stdin: body.map { Data($0.utf8) })
        let parts = r.stdout.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var h: [String: String] = [:]
        for l in lines.dropFirst() { if let c = l.firstIndex(of: ":") { h[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) } }
        return Answer(status: status, headers: h, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    func scan(_ port: Int, _ images: [String], registry: String, requestId: String? = nil, path: String = "/scan") throws -> Answer {
        var headers = ["authorization": credentials(registry)]
        if let requestId { headers["snyk-request-id"] = requestId }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["images": images]), as: UTF8.self)
        return try http(port, "POST", path, headers: headers, body: body)
    }

    /// Polls GET /operations/<id> until `condition`, checking /healthcheck answers 200 on every round.
    @discardableResult
    func waitFor(_ port: Int, _ id: String, seconds: Double = 120, healthChecks: Counter? = nil,
                 _ condition: ([String: Any]) -> Bool) throws -> [String: Any] {
        var last: [String: Any] = [:]
        let held = waitUntil(seconds: seconds) {
            guard let a = try? http(port, "GET", "/operations/\(id)") else { return false }
            last = a.json
            if let healthChecks, (try? http(port, "GET", "/healthcheck"))?.status == 200 { healthChecks.increment() }
            return condition(last)
        }
        XCTAssertTrue(held, "operation \(id) never reached the expected state: \(last)")
        return last
    }

    func images(_ op: [String: Any]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for i in op["images"] as? [[String: Any]] ?? [] { out[i["image"] as! String] = i }
        return out
    }

    func isDone(_ op: [String: Any]) -> Bool { op["state"] as? String == "done" }
    func imageRunning(_ op: [String: Any], _ name: String) -> Bool { images(op)[name]?["state"] as? String == "running" }

    /// The scan worker processes the agent runs now (its children, from /proc).
    func workers(of agent: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(agent)/task")) ?? []
        var pids: [Int32] = []
        for t in tasks {
            let text = (try? String(contentsOfFile: "/proc/\(agent)/task/\(t)/children", encoding: .utf8)) ?? ""
            pids += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return pids
    }

    func metric(_ port: Int, _ line: String) throws -> Int {
        let text = try http(port, "GET", "/metrics").body
        for l in text.split(separator: "\n") where l.hasPrefix(line + " ") { return Int(l.split(separator: " ").last!) ?? -1 }
        return 0
    }

    /// Packages `cr-agent scan --format json` reports for `reference` (non-root depGraph nodes).
    func cliPackageCount(_ reference: String) throws -> Int {
        let r = try runProcess(agentExecutablePath, ["scan", "--format", "json", "--plain-http", "\(fx.info["host"] as! String)/\(reference)"],
                               environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        var n = 0
        for result in json["scanResults"] as! [[String: Any]] {
            for fact in result["facts"] as! [[String: Any]] where fact["type"] as? String == "depGraph" {
                let pkgs = (fact["data"] as! [String: Any])["pkgs"] as! [[String: Any]]
                n += pkgs.count { !($0["id"] as! String).hasPrefix("docker-image|") }
            }
        }
        return n
    }

    // MARK: one operation, every kind of image

    func testAMixedOperationGivesOneOutcomePerImageWhileTheServiceAnswers() throws {
        let (agent, port) = try startAgent()
        defer { _ = agent.stop() }
        let names = ["single/app:1.0", "multi/app:1.0", "single/app:missing", "big/app:1.0", "hostile/cutgzip:1.0"]
        let a = try scan(port, names, registry: fx.url, requestId: "mixed-1")
        XCTAssertEqual(a.status, 202, a.body)
        let id = try XCTUnwrap(a.json["operationId"] as? String)
        let health = Counter()
        let op = try waitFor(port, id, healthChecks: health) { isDone($0) }
        XCTAssertGreaterThan(health.count, 0, "/healthcheck answered 200 while the operation ran")
        let byName = images(op)
        XCTAssertEqual(byName.count, names.count, "one outcome per image: \(op)")
        XCTAssertEqual(byName["single/app:1.0"]?["state"] as? String, "scanned", "\(op)")
        XCTAssertEqual(byName["single/app:1.0"]?["packages"] as? Int, try cliPackageCount("single/app:1.0"))
        XCTAssertEqual(byName["multi/app:1.0"]?["state"] as? String, "scanned", "\(op)")
        XCTAssertEqual(byName["multi/app:1.0"]?["packages"] as? Int, try cliPackageCount("multi/app:1.0"))
        XCTAssertEqual(byName["single/app:missing"]?["code"] as? String, "MANIFEST_UNKNOWN", "\(op)")
        let big = byName["big/app:1.0"] ?? [:]
        XCTAssertEqual(big["code"] as? String, "IMAGE_TOO_LARGE", "\(op)")
        let bigSize = try fx.image("big/app:1.0", set: "operations")
        let size = (bigSize["config"] as! [String: Any])["size"] as! Int + ((bigSize["layers"] as! [[String: Any]])[0]["size"] as! Int)
        XCTAssertTrue((big["message"] as? String ?? "").contains("\(size) bytes") && (big["message"] as? String ?? "").contains("1048576"), "\(big)")
        let hostile = byName["hostile/cutgzip:1.0"] ?? [:]
        XCTAssertEqual(hostile["state"] as? String, "failed", "\(op)")
        XCTAssertNotEqual(hostile["code"] as? String, "WORKER_CRASHED", "a cut gzip layer is a precise error, not a crash: \(hostile)")
        XCTAssertFalse((hostile["message"] as? String ?? "").isEmpty)
        let counts = op["counts"] as! [String: Any]
        XCTAssertEqual(counts["scanned"] as? Int, 2)
        XCTAssertEqual(counts["failed"] as? Int, 3)
        // The layer shared by single/app and multi/app (the debian base) was read once: the second is a cache hit.
        XCTAssertGreaterThanOrEqual(try metric(port, "cr_agent_layer_cache_hits_total"), 1)
        XCTAssertEqual(try metric(port, "cr_agent_image_scans_total{outcome=\"scanned\"}"), 2)
        XCTAssertEqual(try metric(port, "cr_agent_image_scans_total{outcome=\"too_large\"}"), 1)
        XCTAssertEqual(try metric(port, "cr_agent_operations_total{outcome=\"completed\"}"), 1)
        XCTAssertEqual(try metric(port, "cr_agent_scan_duration_seconds_count"), 5)
        XCTAssertGreaterThan(try metric(port, "cr_agent_scan_bytes_pulled_total"), 0)
        // The big image was refused before any layer was fetched: far fewer bytes pulled than its 3 MiB layer.
        XCTAssertLessThan(try metric(port, "cr_agent_scan_bytes_pulled_total"), 1 << 20)
        // Five results and one done reached the receiver; the service process's own registry reads
        // (the size check before the workers) went through the per-host limiter, none left in flight.
        XCTAssertEqual(try metric(port, "cr_agent_callbacks_total{outcome=\"delivered\"}"), 6)
        XCTAssertEqual(try metric(port, "cr_agent_callback_queue_items"), 0)
        XCTAssertEqual(try metric(port, "cr_agent_registry_requests_in_flight"), 0)
        // Every log line about the operation names it; the password never appears.
        let lines = agent.stdout.split(separator: "\n").filter { $0.contains("image finished") || $0.contains("operation done") }
        XCTAssertEqual(lines.count, 6, agent.stdout)
        for l in lines { XCTAssertTrue(l.contains("\"operation\":\"\(id)\""), String(l)) }
        XCTAssertFalse(agent.stdout.contains(Self.password) || agent.stderr.contains(Self.password))
    }

    func testTheSameRequestIdStartsOneOperation() throws {
        let (agent, port) = try startAgent()
        defer { _ = agent.stop() }
        let first = try scan(port, ["single/app:1.0"], registry: fx.url, requestId: "retry-me")
        let second = try scan(port, ["single/app:1.0"], registry: fx.url, requestId: "retry-me")
        XCTAssertEqual(first.status, 202)
        XCTAssertEqual(second.status, 202)
        XCTAssertEqual(first.json["operationId"] as? String, second.json["operationId"] as? String)
        XCTAssertEqual(second.json["duplicate"] as? Bool, true)
        try waitFor(port, first.json["operationId"] as! String) { isDone($0) }
        XCTAssertEqual(agent.stdout.components(separatedBy: "\"msg\":\"operation accepted\"").count - 1, 1, agent.stdout)
        XCTAssertEqual(try metric(port, "cr_agent_image_scans_total{outcome=\"scanned\"}"), 1)
        let other = try scan(port, ["single/app:1.0"], registry: fx.url, requestId: "another")
        XCTAssertNotEqual(other.json["operationId"] as? String, first.json["operationId"] as? String)
    }

    // MARK: queue, cancel, crash, shutdown (the stub's `slow` image never finishes on its own)

    func testTheQueueBoundGives429AndCancelStopsTheRunningScan() throws {
        let (agent, port) = try startAgent(["MAX_QUEUED_OPERATIONS": "1"])
        defer { _ = agent.stop() }
        let running = try scan(port, ["slow:latest", "paged:latest"], registry: stub.url)
        let runningId = try XCTUnwrap(running.json["operationId"] as? String)
        try waitFor(port, runningId) { imageRunning($0, "slow:latest") }
        let queued = try scan(port, ["paged:latest"], registry: stub.url)
        XCTAssertEqual(queued.status, 202)
        let refused = try scan(port, ["paged:latest"], registry: stub.url)
        XCTAssertEqual(refused.status, 429, refused.body)
        XCTAssertEqual(refused.json["code"] as? String, "TOO_MANY_OPERATIONS")
        XCTAssertGreaterThanOrEqual(Int(refused.headers["retry-after"] ?? "") ?? 0, 1, "\(refused.headers)")
        XCTAssertEqual(try http(port, "GET", "/ready").status, 503)
        XCTAssertEqual(try http(port, "GET", "/healthcheck").status, 200)
        let queuedOp = try http(port, "GET", "/operations/\(queued.json["operationId"] as! String)").json
        XCTAssertEqual(queuedOp["state"] as? String, "queued")
        let worker = workers(of: agent.process.processIdentifier)
        XCTAssertEqual(worker.count, 1, "one scan worker at MAX_ACTIVE_OPERATIONS=1")

        let cancel = try http(port, "DELETE", "/operations/\(runningId)")
        XCTAssertEqual(cancel.status, 200, cancel.body)
        let op = try waitFor(port, runningId) { isDone($0) }
        XCTAssertEqual(op["endedBy"] as? String, "cancelled")
        for (name, image) in images(op) { XCTAssertEqual(image["code"] as? String, "CANCELLED", "\(name): \(image)") }
        XCTAssertTrue((images(op)["slow:latest"]?["message"] as? String ?? "").contains("while this image was scanned"))
        XCTAssertTrue(waitUntil(seconds: 10) { kill(worker[0], 0) != 0 }, "the cancelled scan's worker is gone")
        // The queued operation runs next and scans.
        let next = try waitFor(port, queued.json["operationId"] as! String) { isDone($0) }
        XCTAssertEqual(images(next)["paged:latest"]?["state"] as? String, "scanned", "\(next)")
        XCTAssertEqual(try http(port, "GET", "/ready").status, 200)
        XCTAssertEqual(try metric(port, "cr_agent_operations_rejected_total{reason=\"queue_full\"}"), 1)
        XCTAssertEqual(try metric(port, "cr_agent_operations_total{outcome=\"cancelled\"}"), 1)
        XCTAssertEqual(try http(port, "GET", "/operations/no-such-id").status, 404)
    }

    func testAKilledWorkerIsOneFailedImageAndTheNextImageScans() throws {
        let (agent, port) = try startAgent()
        defer { _ = agent.stop() }
        let a = try scan(port, ["slow:latest", "paged:latest"], registry: stub.url)
        let id = try XCTUnwrap(a.json["operationId"] as? String)
        try waitFor(port, id) { imageRunning($0, "slow:latest") }
        var pids: [Int32] = []
        XCTAssertTrue(waitUntil(seconds: 10) { pids = workers(of: agent.process.processIdentifier); return pids.count == 1 })
        // The job (with the request's credentials) went on the worker's stdin: neither its command line
        // nor its environment, which ps and /proc show, holds them.
        let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pids[0])/cmdline"))) ?? Data()
        let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pids[0])/environ"))) ?? Data()
        XCTAssertEqual(String(decoding: cmdline, as: UTF8.self), "cr-agent\0scan-worker\0")
        for secret in [Self.password, credentials(stub.url)] {
            XCTAssertFalse(String(decoding: environ, as: UTF8.self).contains(secret))
        }
        XCTAssertEqual(kill(pids[0], SIGKILL), 0)
        let op = try waitFor(port, id) { isDone($0) }
        XCTAssertEqual(images(op)["slow:latest"]?["code"] as? String, "WORKER_CRASHED", "\(op)")
        XCTAssertTrue((images(op)["slow:latest"]?["message"] as? String ?? "").contains("signal 9"), "\(op)")
        XCTAssertEqual(images(op)["paged:latest"]?["state"] as? String, "scanned", "\(op)")
        XCTAssertEqual(try metric(port, "cr_agent_scan_worker_restarts_total"), 1)
        XCTAssertEqual(try http(port, "GET", "/healthcheck").status, 200)
        XCTAssertTrue(agent.process.isRunning)
    }

    func testTheWorkersDeadlineAndMemoryLimitAreOneFailedImageEach() throws {
        let (slowAgent, slowPort) = try startAgent(["SCAN_TIMEOUT_MS": "1500"])
        defer { _ = slowAgent.stop() }
        let a = try scan(slowPort, ["slow:latest"], registry: stub.url)
        let op = try waitFor(slowPort, a.json["operationId"] as! String) { isDone($0) }
        XCTAssertEqual(images(op)["slow:latest"]?["code"] as? String, "SCAN_TIMEOUT", "\(op)")

        // 8 MiB is below what any worker holds once started: the first poll (200 ms) stops the one that
        // never finishes; the next image goes on in a new worker.
        let (smallAgent, smallPort) = try startAgent(["SCAN_WORKER_MAX_RSS_MB": "8"])
        defer { _ = smallAgent.stop() }
        let b = try scan(smallPort, ["slow:latest", "single/app:missing"], registry: stub.url)
        let op2 = try waitFor(smallPort, b.json["operationId"] as! String) { isDone($0) }
        let slow = images(op2)["slow:latest"] ?? [:]
        XCTAssertEqual(slow["code"] as? String, "WORKER_MEMORY_LIMIT", "\(op2)")
        XCTAssertTrue((slow["message"] as? String ?? "").contains("SCAN_WORKER_MAX_RSS_MB=8"), "\(slow)")
        XCTAssertEqual(images(op2).count, 2, "\(op2)")
        XCTAssertEqual(try metric(smallPort, "cr_agent_image_scans_total{outcome=\"memory_limit\"}"), 1)
        XCTAssertEqual(try metric(smallPort, "cr_agent_scan_worker_restarts_total"), 1)
        XCTAssertEqual(try http(smallPort, "GET", "/healthcheck").status, 200)
    }

    func testSIGTERMReportsEveryUnfinishedImageThenStops() throws {
        let (agent, port) = try startAgent(["SHUTDOWN_TIMEOUT_MS": "1000"])
        let running = try scan(port, ["slow:latest", "paged:latest"], registry: stub.url)
        let runningId = try XCTUnwrap(running.json["operationId"] as? String)
        try waitFor(port, runningId) { imageRunning($0, "slow:latest") }
        let queued = try scan(port, ["paged:latest"], registry: stub.url)
        let queuedId = try XCTUnwrap(queued.json["operationId"] as? String)
        kill(agent.process.processIdentifier, SIGTERM)
        XCTAssertTrue(waitUntil(seconds: 5) { (try? http(port, "GET", "/ready"))?.status == 503 }, "/ready is 503 while draining")
        let late = try scan(port, ["paged:latest"], registry: stub.url)
        XCTAssertTrue(late.status == 503 || late.status == 0, "a scan asked for while draining: \(late.status) \(late.body)")
        let status = agent.stop(signal: 0, seconds: 30)
        XCTAssertEqual(status, 0, agent.stdout)
        let finished = agent.stdout.split(separator: "\n").filter { $0.contains("\"msg\":\"image finished\"") }
        XCTAssertEqual(finished.count, 3, agent.stdout)
        for l in finished { XCTAssertTrue(l.contains("\"code\":\"SHUTDOWN\""), String(l)) }
        for id in [runningId, queuedId] {
            XCTAssertTrue(agent.stdout.split(separator: "\n").contains { $0.contains("\"msg\":\"operation done\"") && $0.contains(id) && $0.contains("\"endedBy\":\"shutdown\"") },
                          "operation \(id) ended with done: \(agent.stdout)")
        }
        XCTAssertTrue(agent.stdout.contains("\"msg\":\"stopped\""))
    }

    // MARK: memory

    /// The service's own memory does not grow with the images it scans (the scans are in workers; what
    /// it remembers of ended operations is bounded): 3 more operations of 23 images each after a first
    /// one move its resident memory by less than 6 MiB (a leak of 100 KiB per image would be 6.7 MiB).
    func testTheServicesMemoryDoesNotGrowWithTheImagesItScans() throws {
        let (agent, port) = try startAgent()
        defer { _ = agent.stop() }
        let tags = (0..<23).map { String(format: "tags/app:t%02d", $0) }
        func rss() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(agent.process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
        }
        var after: [Int] = []
        for round in 0..<4 {
            let a = try scan(port, tags, registry: fx.url, requestId: "memory-\(round)")
            let op = try waitFor(port, a.json["operationId"] as! String) { isDone($0) }
            XCTAssertEqual((op["counts"] as? [String: Any])?["scanned"] as? Int, 23, "\(op)")
            after.append(rss())
        }
        XCTAssertEqual(try metric(port, "cr_agent_image_scans_total{outcome=\"scanned\"}"), 92)
        XCTAssertLessThan(after[3] - after[0], 6 << 20, "resident bytes after each round: \(after)")
    }

    /// Two operations at once (MAX_ACTIVE_OPERATIONS=2) scan the same images, so two workers write the
    /// shared cache at the same time: every image scans, no temporary file is left, and the folder ends
    /// under its SCAN_CACHE_MAX_BYTES cap. At debug level every line a worker writes names its operation.
    func testTwoOperationsShareTheCappedLayerCache() throws {
        let cap = 2048
        let (agent, port) = try startAgent(["MAX_ACTIVE_OPERATIONS": "2", "SCAN_CACHE_MAX_BYTES": "\(cap)", "LOG_LEVEL": "debug"])
        defer { _ = agent.stop() }
        let names = ["single/app:1.0", "multi/app:1.0", "docker/app:1.0", "public/app:1.0", "plain/app:1.0"] + (0..<10).map { String(format: "tags/app:t%02d", $0) }
        let ids = try (0..<2).map { i in try XCTUnwrap(scan(port, names, registry: fx.url, requestId: "pair-\(i)").json["operationId"] as? String) }
        for id in ids {
            let op = try waitFor(port, id) { isDone($0) }
            XCTAssertEqual((op["counts"] as? [String: Any])?["scanned"] as? Int, names.count, "\(op)")
        }
        let cacheDir = dir.appendingPathComponent("cache").path
        let files = try FileManager.default.contentsOfDirectory(atPath: cacheDir)
        XCTAssertFalse(files.isEmpty)
        XCTAssertFalse(files.contains { $0.contains(".tmp.") }, "\(files)")
        let total = try files.reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: "\(cacheDir)/\($1)")[.size] as? Int) ?? 0) }
        XCTAssertLessThanOrEqual(total, cap)
        // Not vacuous: the single-platform images alone have more distinct layers than the cap left files.
        var layers = Set<String>()
        for n in names where n != "multi/app:1.0" {
            for l in try fx.image(n)["layers"] as! [[String: Any]] { layers.insert(l["digest"] as! String) }
        }
        let findings = files.filter { !$0.hasPrefix("config-") }    // the images' configs are kept beside them
        XCTAssertLessThan(findings.count, layers.count, "findings files kept: \(findings.count), distinct layers: \(layers.count)")
        let workerLines = agent.stdout.split(separator: "\n").filter { $0.contains("\"component\":\"cr-agent scan-worker\"") }
        XCTAssertFalse(workerLines.isEmpty, "the workers log at debug level")
        for l in workerLines { XCTAssertTrue(ids.contains { l.contains("\"operation\":\"\($0)\"") }, String(l)) }
        XCTAssertFalse(agent.stdout.contains(Self.password))
    }

    /// With a long SHUTDOWN_TIMEOUT_MS a running scan holds the drain; a second SIGTERM stops it now.
    func testASecondSIGTERMStopsTheRunningScans() throws {
        let (agent, port) = try startAgent(["SHUTDOWN_TIMEOUT_MS": "600000"])
        let a = try scan(port, ["slow:latest"], registry: stub.url)
        try waitFor(port, a.json["operationId"] as! String) { imageRunning($0, "slow:latest") }
        kill(agent.process.processIdentifier, SIGTERM)
        XCTAssertTrue(waitUntil(seconds: 5) { (try? http(port, "GET", "/ready"))?.status == 503 })
        XCTAssertTrue(agent.process.isRunning, "the first SIGTERM lets the scan go on")
        kill(agent.process.processIdentifier, SIGTERM)
        XCTAssertEqual(agent.stop(signal: 0, seconds: 60), 0, agent.stdout)
        let finished = agent.stdout.split(separator: "\n").filter { $0.contains("\"msg\":\"image finished\"") }
        XCTAssertEqual(finished.count, 1, agent.stdout)
        XCTAssertTrue(finished.first?.contains("a second signal") ?? false, agent.stdout)
    }

    /// A worker never outlives its service: the agent SIGKILLed (as the OOM killer would) takes its
    /// running scan worker with it.
    func testAWorkerDiesWithItsService() throws {
        let (agent, port) = try startAgent()
        let a = try scan(port, ["slow:latest"], registry: stub.url)
        try waitFor(port, a.json["operationId"] as! String) { imageRunning($0, "slow:latest") }
        var pids: [Int32] = []
        XCTAssertTrue(waitUntil(seconds: 10) { pids = workers(of: agent.process.processIdentifier); return pids.count == 1 })
        XCTAssertNil(agent.stop(signal: SIGKILL, seconds: 10).flatMap { $0 == 0 ? 0 : nil })
        XCTAssertTrue(waitUntil(seconds: 10) {
            // Gone, or a zombie waiting for its new parent to reap it.
            let stat = (try? String(contentsOfFile: "/proc/\(pids[0])/stat", encoding: .utf8)) ?? ""
            return stat.isEmpty || stat.contains(") Z ")
        }, "worker \(pids[0]) still runs after its service was killed")
    }

    // MARK: bad requests

    func testBadRequestsAreRefusedPreciselyAndNothingStarts() throws {
        let (agent, port) = try startAgent()
        defer { _ = agent.stop() }
        let noAuth = try http(port, "POST", "/scan", body: #"{"images":["single/app:1.0"]}"#)
        XCTAssertEqual(noAuth.status, 401, noAuth.body)
        let auth = ["authorization": credentials(fx.url)]
        let tooMany = "{\"images\":[" + (0...1000).map { i in "\"r/a:t\(i)\"" }.joined(separator: ",") + "]}"
        let cases: [(String, String)] = [
            ("not json", "not JSON"),
            (#"{"images":[]}"#, "empty"),
            (#"{"images":"single/app:1.0"}"#, "must be an array"),
            (#"{"images":[1]}"#, "images[0] must be a string"),
            (#"{"images":["Single/App:1.0"]}"#, "images[0]"),
            (#"{"images":["other.example:5000/app:1.0"]}"#, "names the registry"),
            (#"{"images":["single/app:1.0"],"platform":"linux"}"#, "platform"),
            (String(repeating: "[", count: 50) + String(repeating: "]", count: 50), "not JSON"),
            (tooMany, "more than the 1000"),
        ]
        for (body, expected) in cases {
            let a = try http(port, "POST", "/scan", headers: auth, body: body)
            XCTAssertEqual(a.status, 400, "\(body.prefix(80)): \(a.body)")
            XCTAssertTrue((a.json["message"] as? String ?? "").contains(expected), "\(body.prefix(80)): \(a.body)")
        }
        let huge = try http(port, "POST", "/discover", headers: auth, body: String(repeating: " ", count: ScanRequest.maxBodyBytes + 1))
        XCTAssertEqual(huge.status, 413, huge.body)
        XCTAssertEqual(try metric(port, "cr_agent_operations_running"), 0)
        XCTAssertFalse(agent.stdout.contains("operation accepted"), agent.stdout)
        XCTAssertFalse(agent.stdout.contains(Self.password))
    }

    // MARK: pieces

    func testScanRequestBodies() {
        let ok = ScanRequest.parse(Array(#"{"images":["a/b:1", {"image":"c@sha256:00"}, "a/b:1"], "platform":"linux/arm64/v8", "callbackUrl":"http://x", "extra":{}}"#.utf8))
        guard case .success(let r) = ok else { return XCTFail("\(ok)") }
        XCTAssertEqual(r.images, ["a/b:1", "c@sha256:00"], "a duplicate is scanned once")
        XCTAssertEqual(r.platform?.description, "linux/arm64/v8")
        XCTAssertEqual(r.callbackURL, "http://x")
        XCTAssertEqual(try ScanRequest.references(["127.0.0.1:5000/a/b:1", "a/b:2"], registry: "127.0.0.1:5000").get(), ["a/b:1", "a/b:2"])
        if case .success = ScanRequest.references(["evil.example/a:1"], registry: "127.0.0.1:5000") { XCTFail("another registry's image accepted") }
    }

    func testTheDiskCacheKeepsTheMostRecentlyUsedUnderItsCap() throws {
        let d = dir.appendingPathComponent("cap").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        for i in 0..<5 {
            let path = "\(d)/f\(i).json"
            try Data(repeating: 0x41, count: 1000).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(i))], ofItemAtPath: path)
        }
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(d)/not-cache.txt"))
        XCTAssertEqual(LayerCache.evict(directory: d, downTo: 2500), 3)
        let left = try FileManager.default.contentsOfDirectory(atPath: d).sorted()
        XCTAssertEqual(left, ["f3.json", "f4.json", "not-cache.txt"])
        XCTAssertEqual(LayerCache.evict(directory: d, downTo: 2500), 0)
    }

    func testWorkerFramesSplitAcrossReads() {
        let bytes = ScanWorkerFrame.encode(ScanWorkerFrame.stats, Array("{}".utf8)) + ScanWorkerFrame.encode(ScanWorkerFrame.result, [1, 2, 3])
        var buffer = Array(bytes.prefix(9))
        XCTAssertEqual(ScanWorkerFrame.take(from: &buffer)?.count, 1)
        buffer += bytes.dropFirst(9)
        let rest = ScanWorkerFrame.take(from: &buffer)
        XCTAssertEqual(rest?.count, 1)
        XCTAssertEqual(rest?.first?.1, [1, 2, 3])
        XCTAssertTrue(buffer.isEmpty)
        var bad: [UInt8] = [ScanWorkerFrame.result, 0xFF, 0xFF, 0xFF, 0x7F]
        XCTAssertNil(ScanWorkerFrame.take(from: &bad), "a frame claiming 2 GiB is refused")
    }
}
