// The whole tunnel, every part a real process on 127.0.0.1: the docker-registry (htpasswd), cr-agent
// serve, broker server, broker client, and a callback receiver standing for the outside service's
// BROKER_UPSTREAM_URL. The outside service's calls go to the server's /broker/<token>/...; what the
// accept filter allows reaches the agent with the client's credentials; the scan results come back up
// through the client's PORT, the tunnel and the server's relay. The registry password must be absent
// from every byte the server side receives or writes.
import Foundation
import TestSupport
import XCTest

final class BrokerEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var registry: RegistryFixture?
    nonisolated(unsafe) static var upstream: CallbackReceiverProcess?
    nonisolated(unsafe) static var agent: (BackgroundProcess, Int)?
    nonisolated(unsafe) static var server: (BackgroundProcess, Int)?
    nonisolated(unsafe) static var client: (BackgroundProcess, Int)?
    static let token = UUID().uuidString.lowercased()

    override class func setUp() {
        super.setUp()
        do {
            let fx = try RegistryFixture.start(auth: "htpasswd", pushing: ["basic"])
            registry = fx
            upstream = try CallbackReceiverProcess()
            agent = try startAgentService(["HOME": "/nonexistent", "LOG_LEVEL": "debug"])
            server = try startBroker("server", ["BROKER_TOKENS": token, "BROKER_UPSTREAM_URL": upstream!.url])
            let serverPort = server!.1
            client = try startBroker("client", [
                "BROKER_TOKEN": token, "BROKER_SERVER_URL": "http://127.0.0.1:\(serverPort)",
                "CR_AGENT_URL": "http://127.0.0.1:\(agent!.1)", "CR_TYPE": "harbor-cr", "CR_BASE": fx.url,
                "CR_USERNAME": fx.username!, "CR_PASSWORD": fx.password!,
            ], clientURLFromPort: true)
            // Ready when the server routes to the client: the agent's /healthcheck answers through it.
            _ = waitUntil(seconds: 20) { (try? Self.call("GET", "/healthcheck").status) == 200 }
        } catch {
            XCTFail("cannot start the parts of the tunnel: \(error)")
        }
    }

    override class func tearDown() {
        _ = client?.0.stop()
        _ = server?.0.stop()
        _ = agent?.0.stop()
        upstream?.stop()
        registry?.stop()
        super.tearDown()
    }

    /// A free TCP port on 127.0.0.1 (bound, read, released).
    static func freePort() throws -> Int {
        let r = try runProcess(projectPython, ["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        guard let p = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw MissingPrerequisite("no free port: \(r.stderr)") }
        return p
    }

    /// Starts `broker <mode>` on a free PORT and waits for its /healthcheck to answer (any status: the
    /// client answers 500 until its sockets are open).
    static func startBroker(_ mode: String, _ extra: [String: String], clientURLFromPort: Bool = false) throws -> (BackgroundProcess, Int) {
        let port = try freePort()
        var env = ["PATH": "/usr/bin:/bin", "PORT": String(port), "LOG_LEVEL": "debug"].merging(extra) { $1 }
        if clientURLFromPort { env["BROKER_CLIENT_URL"] = "http://127.0.0.1:\(port)" }
        let p = try BackgroundProcess(brokerExecutablePath, [mode], environment: env)
        let up = waitUntil(seconds: 15) {
            guard p.process.isRunning else { return true }
            let r = try? runProcess("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "http://127.0.0.1:\(port)/healthcheck"])
            return (r?.stdout ?? "000") != "000"
        }
        guard up, p.process.isRunning else { throw MissingPrerequisite("broker \(mode) did not start: \(p.stderr)\(p.stdout)") }
        return (p, port)
    }

    struct Answer {
        let status: Int
        let body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    }

    /// One request to the server's /broker/<token><path>, as the outside service makes it.
    static func call(_ method: String, _ path: String, body: String? = nil, headers: [String] = []) throws -> Answer {
        var args = ["-sS", "--max-time", "60", "-X", method, "-o", "-", "-w", "\n%{http_code}"]
        for h in headers { args += ["-H", h] }
        if let body { args += ["-H", "content-type: application/json", "--data-binary", body] }
        args.append("http://127.0.0.1:\(server!.1)/broker/\(token)\(path)")
        let r = try runProcess("/usr/bin/curl", args, timeout: 90)
        let cut = r.stdout.lastIndex(of: "\n") ?? r.stdout.startIndex
        return Answer(status: Int(r.stdout[cut...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, body: String(r.stdout[..<cut]))
    }

    var fx: RegistryFixture { Self.registry! }

    func testRepositoriesAndTagsThroughTheTunnel() throws {
        let want = Set(try fx.pushed("basic")["repositories"] as! [String])
        let list = try Self.call("GET", "/list")
        XCTAssertEqual(list.status, 200, list.body)
        XCTAssertEqual(Set(list.json as? [String] ?? []), want, list.body)
        let repo = try XCTUnwrap(want.sorted().first)
        let tags = try Self.call("GET", "/list/\(repo)")
        XCTAssertEqual(tags.status, 200, tags.body)
        XCTAssertFalse((tags.json as? [String] ?? []).isEmpty, tags.body)
        // A caller's own authorization is replaced by the client's credentials: the listing still works.
        let withOwn = try Self.call("GET", "/list", headers: ["authorization: Basic bm90OnRoaXM="])
        XCTAssertEqual(withOwn.status, 200, withOwn.body)
    }

    func testRequestsOutsideTheFilterAreRefused() throws {
        for (method, path) in [("GET", "/operations/abc"), ("DELETE", "/operations/abc"), ("POST", "/list"), ("GET", "/metrics"),
                               ("GET", "/list/../metrics"), ("GET", "/ready"), ("PUT", "/scan")] {
            let a = try Self.call(method, path)
            XCTAssertEqual(a.status, 401, "\(method) \(path): \(a.body)")
            XCTAssertEqual((a.json as? [String: Any])?["code"] as? String, "FILTER_BLOCKED", "\(method) \(path): \(a.body)")
        }
    }

    func testAScanReportsBackThroughTheServersRelay() throws {
        let tags = try XCTUnwrap((try fx.pushed("basic")["tags"] as? [String: [String]])?["single/app"], "the fixture's single/app")
        let reference = "single/app:\(try XCTUnwrap(tags.sorted().first))"
        let a = try Self.call("POST", "/scan", body: #"{"images":["\#(reference)"]}"#, headers: ["snyk-request-id: e2e-scan-1"])
        XCTAssertEqual(a.status, 202, a.body)
        let id = try XCTUnwrap((a.json as? [String: Any])?["operationId"] as? String, a.body)
        var requests: [[String: Any]] = []
        let done = waitUntil(seconds: 120) {
            requests = (try? Self.upstream!.requests()) ?? []
            return requests.contains { ($0["path"] as? String) == "/api/v2/import/done" }
        }
        XCTAssertTrue(done, "the operation's done callback reached BROKER_UPSTREAM_URL: \(requests.map { $0["path"] ?? "?" })")
        let results = requests.filter { ($0["path"] as? String) == "/api/v2/import/result" }
        XCTAssertEqual(results.count, 1, "\(requests.map { $0["path"] ?? "?" })")
        let result = results.first?["json"] as? [String: Any] ?? [:]
        XCTAssertTrue("\(result)".contains(id), "the result names its operation: \(result)")
        XCTAssertTrue("\(result)".contains("depGraph"), "a scan result with its dep-graph: \(String(describing: result).prefix(500))")
    }

    /// Every byte the server side saw or wrote: its own output, what the upstream received, what callers got.
    func testTheRegistryPasswordNeverReachesTheServerSide() throws {
        _ = try Self.call("GET", "/list")
        _ = try Self.call("GET", "/validate-credentials")
        let password = try XCTUnwrap(fx.password)
        var seen = Self.server!.0.stdout + Self.server!.0.stderr
        for r in (try? Self.upstream!.requests()) ?? [] {
            seen += "\(r)"
        }
        seen += try Self.call("GET", "/healthcheck").body
        seen += try Self.call("GET", "/validate-credentials").body
        XCTAssertFalse(seen.isEmpty)
        XCTAssertFalse(seen.contains(password), "the registry password reached the server side")
        let credentials = Data(password.utf8).base64EncodedString()
        XCTAssertFalse(seen.contains(credentials))
        // The client's own log at debug level carries neither.
        let clientOut = Self.client!.0.stdout + Self.client!.0.stderr
        XCTAssertFalse(clientOut.contains(password), "the client logged the password")
        XCTAssertFalse(clientOut.contains(Self.token), "the client logged its token")
        XCTAssertFalse(seen.contains(Self.token) && Self.server!.0.stdout.contains(Self.token), "the server logged the token")
    }
}
