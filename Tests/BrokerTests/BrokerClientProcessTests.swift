// `broker client` as operators run it, all real processes on 127.0.0.1: the client binary, cr-agent, the
// Debian docker-registry (htpasswd), and a stand-in for snyk's broker server (Tests/broker/
// fake_broker_server.py: engine.io + Primus + primus-emitter written from snyk's sources; no real snyk
// server can run here). Requests go down the real websocket, answers come up /response-data, callbacks
// go up the socket; then the faults: the server drops every socket, the agent goes away.
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientProcessTests: XCTestCase {

    final class StandInServer {
        let process: BackgroundProcess
        let url: String

        init(pingIntervalMilliseconds: Int = 300) throws {
            (process, url) = try startPythonServer("broker/fake_broker_server.py",
                                                   ["--ping-interval-ms", String(pingIntervalMilliseconds), "--max-lifetime", "600"])
        }

        var recordText: String { (try? runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "\(url)/_standin/record"]).stdout) ?? "" }
        var record: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(recordText.utf8)) as? [String: Any]) ?? [:] }
        var sockets: [[String: Any]] { record["sockets"] as? [[String: Any]] ?? [] }

        /// Sends a request down the primary socket; its streamingID.
        func request(_ spec: [String: Any]) throws -> String {
            let body = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
            let r = try runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "-X", "POST", "--data-binary", body, "\(url)/_standin/request"])
            let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return try XCTUnwrap(obj?["streamingID"] as? String, r.stdout)
        }

        func upload(_ sid: String, seconds: Double = 60) -> [String: Any]? {
            var found: [String: Any]?
            waitUntil(seconds: seconds) {
                found = (record["uploads"] as? [[String: Any]])?.first { ($0["path"] as? String)?.hasSuffix("/\(sid)") == true && $0["complete"] as? Bool == true }
                return found != nil
            }
            return found
        }

        func drop() { _ = try? runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "-X", "POST", "\(url)/_standin/drop"]) }
        func stop() { _ = process.stop() }
    }

    func testTheClientBinaryThroughTheStandInServerToTheRealAgent() throws {
        let fx = try RegistryFixture.start(auth: "htpasswd", pushing: ["basic"])
        defer { fx.stop() }
        var (agent, agentPort) = try startAgentService(["HOME": "/nonexistent"])
        defer { _ = agent.stop() }
        let server = try StandInServer()
        defer { server.stop() }
        let token = "7d0f3c2e-9a41-4b7e-8c55-2f1e0d9b6a31"
        let port = ClientFixture.freePort()
        let env = ["PATH": "/usr/bin:/bin", "BROKER_TOKEN": token, "BROKER_SERVER_URL": server.url,
                   "BROKER_CLIENT_URL": "http://127.0.0.1:\(port)", "CR_AGENT_URL": "http://127.0.0.1:\(agentPort)",
                   "CR_TYPE": "harbor-cr", "CR_BASE": fx.url, "CR_USERNAME": fx.username!, "CR_PASSWORD": fx.password!,
                   "PORT": String(port), "LOG_LEVEL": "debug"]
        let client = try BackgroundProcess(brokerExecutablePath, ["client"], environment: env)
        defer { _ = client.stop() }

        // Two sockets, snyk's handshake headers, identify with the hashed token.
        XCTAssertTrue(waitUntil(seconds: 20) { server.sockets.filter { $0["identify"] is [String: Any] }.count == 2 },
                      "\(server.recordText) \(client.stdout) \(client.stderr)")
        let sockets = server.sockets
        XCTAssertEqual(Set(sockets.compactMap { ($0["query"] as? [String: String])?["connection_role"] }), ["primary", "secondary"])
        for s in sockets {
            let headers = s["headers"] as? [String: String] ?? [:]
            XCTAssertEqual(headers["x-broker-client-version"], "4.200.0")
            XCTAssertNotNil(headers["x-snyk-broker-client-id"])
            XCTAssertEqual(s["token"] as? String, token)
            let metadata = (s["identify"] as? [String: Any])?["metadata"] as? [String: Any]
            XCTAssertEqual(metadata?["identifier"] as? String, SHA256.digest(Array(token.utf8)))
            XCTAssertEqual(metadata?["capabilities"] as? [String], ["post-streams"])
            // The default filter's rules, as written: origins keep their ${VAR} placeholders.
            let privateRules = (metadata?["filters"] as? [String: Any])?["private"] as? [[String: Any]] ?? []
            XCTAssertTrue(privateRules.contains { $0["path"] as? String == "/list/*" && $0["origin"] as? String == "${CR_AGENT_URL}" }, "\(privateRules)")
        }

        // /list down the tunnel, the answer up /response-data.
        let list = try XCTUnwrap(server.upload(try server.request(["url": "/list", "headers": ["accept": "application/json"]])))
        XCTAssertEqual((list["preamble"] as? [String: Any])?["status"] as? Int, 200, "\(list)")
        let repos = (try? JSONSerialization.jsonObject(with: Data((list["bodyStart"] as? String ?? "").utf8))) as? [String] ?? []
        XCTAssertEqual(Set(repos), Set(try fx.pushed("basic")["repositories"] as! [String]))
        XCTAssertEqual((list["query"] as? [String: String])?["connection_role"], "primary")

        // Outside the default filter.
        let blocked = try XCTUnwrap(server.upload(try server.request(["url": "/v2/_catalog"])))
        XCTAssertEqual((blocked["preamble"] as? [String: Any])?["status"] as? Int, 401)
        XCTAssertTrue((blocked["bodyStart"] as? String ?? "").contains("FILTER_BLOCKED"))

        // A callback from inside goes up the socket; the server's ack comes back.
        let callback = try runProcess("/usr/bin/curl", ["-sS", "--max-time", "30", "-X", "POST", "-H", "Content-Type: application/json",
                                                        "--data-binary", "{\"done\":true}", "-w", "\n%{http_code}",
                                                        "http://127.0.0.1:\(port)/api/v2/import/done"])
        XCTAssertEqual(callback.stdout, "{\"ok\":true}\n200", callback.stderr)
        let callbacks = server.record["callbacks"] as? [[String: Any]] ?? []
        XCTAssertEqual((callbacks.first?["payload"] as? [String: Any])?["url"] as? String, "/api/v2/import/done")

        // The server drops every socket (a restart as the client sees it): the client dials again.
        server.drop()
        XCTAssertTrue(waitUntil(seconds: 30) { server.sockets.filter { $0["open"] as? Bool == true && $0["identify"] is [String: Any] }.count == 2 },
                      server.recordText)
        XCTAssertEqual(server.sockets.count, 4)
        let again = try XCTUnwrap(server.upload(try server.request(["url": "/list"])))
        XCTAssertEqual((again["preamble"] as? [String: Any])?["status"] as? Int, 200)

        // The agent goes away: 502 DOWNSTREAM_UNREACHABLE, and the tunnel stays up.
        _ = agent.stop()
        let down = try XCTUnwrap(server.upload(try server.request(["url": "/list"]), seconds: 60))
        XCTAssertEqual((down["preamble"] as? [String: Any])?["status"] as? Int, 502)
        XCTAssertEqual((down["preamble"] as? [String: Any])?["errorType"] as? String, "DOWNSTREAM_UNREACHABLE")
        let health = try runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/healthcheck"])
        XCTAssertTrue(health.stdout.hasSuffix("\n200"), health.stdout)
        (agent, agentPort) = (agent, 0)

        // No byte the server side received, and no line the client logged at debug, carries a secret.
        let seen = server.recordText
        XCTAssertFalse(seen.contains(fx.password!), "the registry password reached the server")
        XCTAssertFalse(client.stdout.contains(fx.password!), "the client logged the registry password")
        XCTAssertFalse(client.stdout.contains(token), "the client logged its token")
        XCTAssertTrue(client.stdout.contains("\"level\":\"debug\""))
        XCTAssertEqual(client.stop(), 0, client.stderr)
    }

    /// Peak resident memory of a process (VmHWM), in KiB.
    static func peakResidentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    func testA256MiBAnswerThroughTheClientBinaryKeepsItsMemoryFlat() throws {
        let run = try StreamingClientRun(token: "9b1c2d3e-4f50-4a6b-8c7d-8e9f0a1b2c3d")
        defer { run.stop() }
        let (server, client) = (run.server, run.client)
        let idle = Self.peakResidentKiB(client.process.processIdentifier)

        let mib = 256
        let upload = try XCTUnwrap(server.upload(try server.request(["url": "/stream/\(mib)"]), seconds: 240))
        XCTAssertEqual(upload["bodyBytes"] as? Int, mib << 20)
        let sha = SHA256()
        for _ in 0..<(mib * 16) { sha.update(EchoOrigin.chunk) }
        XCTAssertEqual(upload["sha256"] as? String, sha.finalizeHex())
        let peak = Self.peakResidentKiB(client.process.processIdentifier)
        // A few fixed buffers, never the answer: the peak stays within 16 MiB of the idle client's.
        XCTAssertGreaterThan(idle, 0)
        XCTAssertLessThan(peak - idle, 16 * 1024, "idle \(idle) KiB, peak \(peak) KiB after \(mib) MiB")
        XCTAssertLessThan(peak, 32 * 1024, "the issue sizes the client under 32 MB: peak \(peak) KiB")
        XCTAssertEqual(client.stop(), 0, client.stderr)
    }

    /// Many large answers asked in quick succession through the binary: fixed buffers per request, so the
    /// process's peak stays under the 32 MB the issue sizes the client at (the bound on what many slow
    /// uploads hold together is BrokerClientSmallAnswerTests.testManyLargeAnswersToASlowServerHoldBoundedBytesTogether).
    func testManyLargeAnswersInQuickSuccessionKeepTheClientUnder32MB() throws {
        let run = try StreamingClientRun(token: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d")
        defer { run.stop() }
        let (server, client) = (run.server, run.client)
        let idle = Self.peakResidentKiB(client.process.processIdentifier)

        let ids = try (0..<96).map { _ in try server.request(["url": "/stream/2"]) }
        for id in ids {
            let upload = try XCTUnwrap(server.upload(id, seconds: 240), id)
            XCTAssertEqual(upload["bodyBytes"] as? Int, 2 << 20)
        }
        let peak = Self.peakResidentKiB(client.process.processIdentifier)
        XCTAssertGreaterThan(idle, 0)
        XCTAssertLessThan(peak, 32 * 1024, "96 answers of 2 MiB: idle \(idle) KiB, peak \(peak) KiB")
        XCTAssertEqual(client.stop(), 0, client.stderr)
    }

    func testMissingSettingsStopTheClientWithOneErrorAndExit2() throws {
        let r = try runProcess(brokerExecutablePath, ["client"], environment: ["PATH": "/usr/bin:/bin", "CR_TYPE": "docker-hub"], timeout: 30)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("broker client: 5 settings are wrong:\n"), r.stderr)
        XCTAssertFalse(r.stderr.contains("broker client: broker client"), r.stderr)
        for name in ["BROKER_TOKEN", "BROKER_CLIENT_URL", "CR_AGENT_URL", "CR_USERNAME", "CR_PASSWORD"] {
            XCTAssertTrue(r.stderr.contains("  - \(name)"), "\(name) named: \(r.stderr)")
        }
        XCTAssertEqual(r.stdout, "", "nothing served, nothing logged")
    }
}

/// The client binary against the stand-in server, with an accept rule for `GET /stream/*` to an echo
/// origin that streams the megabytes the path names; both sockets identified when it is made.
struct StreamingClientRun {
    let origin: EchoOrigin
    let server: BrokerClientProcessTests.StandInServer
    let client: BackgroundProcess
    let dir: URL

    init(token: String) throws {
        origin = try EchoOrigin()
        server = try BrokerClientProcessTests.StandInServer()
        dir = try makeTemporaryDirectory("broker-accept")
        let accept = dir.appendingPathComponent("accept.json")
        try Data("{\"private\":[{\"method\":\"GET\",\"path\":\"/stream/*\",\"origin\":\"\(origin.url)\"}],\"public\":[]}".utf8).write(to: accept)
        let port = ClientFixture.freePort()
        let env = ["PATH": "/usr/bin:/bin", "BROKER_TOKEN": token, "BROKER_SERVER_URL": server.url,
                   "BROKER_CLIENT_URL": "http://127.0.0.1:\(port)", "CR_AGENT_URL": origin.url, "CR_TYPE": "docker-hub",
                   "CR_USERNAME": "bench", "CR_PASSWORD": "bench-password", "PORT": String(port), "ACCEPT": accept.path, "LOG_LEVEL": "info"]
        client = try BackgroundProcess(brokerExecutablePath, ["client"], environment: env)
        let (server, client) = (self.server, self.client)
        XCTAssertTrue(waitUntil(seconds: 20) { server.sockets.filter { $0["identify"] is [String: Any] }.count == 2 }, client.stdout + client.stderr)
    }

    func stop() {
        _ = client.stop()
        server.stop()
        origin.stop()
        try? FileManager.default.removeItem(at: dir)
    }
}
