// The cr-agent executable as users run it: flags, settings errors, healthcheck, metrics, HTTPS, SIGTERM.
import Foundation
import TestSupport
import XCTest

final class AgentProcessTests: XCTestCase {
    var agentPath: String { agentExecutablePath }

    /// Starts the agent on a free port and returns it with the port it logged.
    func startAgent(_ extra: [String: String] = [:]) throws -> (BackgroundProcess, Int) {
        let (p, port) = try startAgentService(extra)
        XCTAssertGreaterThan(port, 0, "agent did not log its port: \(p.stdout)\(p.stderr)")
        return (p, port)
    }

    func testVersionAndHelp() throws {
        let v = try runProcess(agentPath, ["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertEqual(v.stdout, "cr-agent 0.1.0\n")
        let h = try runProcess(agentPath, ["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("SNYK_PORT"))
        let bad = try runProcess(agentPath, ["--frobnicate"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1)
    }

    func testBadSettingsExitTwoWithOneLineNamingTheVariable() throws {
        let cases: [([String: String], String)] = [
            (["SNYK_PORT": "seventeen"], "SNYK_PORT"),
            (["SNYK_PORT": "70000"], "SNYK_PORT"),
            (["LOG_LEVEL": "chatty"], "LOG_LEVEL"),
            (["REACTOR_THREADS": "0"], "REACTOR_THREADS"),
            (["MAX_CONNECTIONS": "0"], "MAX_CONNECTIONS"),
            (["HTTP_MAX_PIPELINED_REQUESTS": "many"], "HTTP_MAX_PIPELINED_REQUESTS"),
            (["HTTPS_CERT": "/nonexistent.pem"], "HTTPS_KEY"),
            (["HTTPS_CERT": "/nonexistent.pem", "HTTPS_KEY": "/nonexistent.key"], "HTTPS_CERT"),
            (["REGISTRY_STALL_TIMEOUT_MS": "10"], "REGISTRY_STALL_TIMEOUT_MS"),
            (["REGISTRY_MAX_CONCURRENCY": "lots"], "REGISTRY_MAX_CONCURRENCY"),
        ]
        for (env, variable) in cases {
            let r = try runProcess(agentPath, [], environment: env.merging(["PATH": "/usr/bin"]) { $1 }, timeout: 10)
            XCTAssertEqual(r.status, 2, "\(env): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(variable), "\(env): \(r.stderr)")
        }
    }

    func testPortInUseIsAClearError() throws {
        let (first, port) = try startAgent()
        defer { _ = first.stop() }
        let r = try runProcess(agentPath, [], environment: ["SNYK_PORT": String(port), "REACTOR_THREADS": "1"], timeout: 10)
        // SO_REUSEPORT lets a second agent bind only as the same user with the option; either way it must not hang.
        if r.status != 0 { XCTAssertTrue(r.stderr.contains("cannot serve on port"), r.stderr) }
    }

    func testHealthcheckMetricsAndGracefulStop() throws {
        let (agent, port) = try startAgent()
        let h = try runProcess("curl", ["-sS", "-i", "http://127.0.0.1:\(port)/healthcheck"])
        XCTAssertTrue(h.stdout.hasPrefix("HTTP/1.1 200 OK\r\n"), h.stdout)
        XCTAssertTrue(h.stdout.hasSuffix("\r\n\r\n{\"ok\":true,\"version\":\"0.1.0\"}"), h.stdout)
        _ = try runProcess("curl", ["-sS", "-X", "POST", "http://127.0.0.1:\(port)/healthcheck"])
        let m = try runProcess("curl", ["-sS", "http://127.0.0.1:\(port)/metrics"])
        XCTAssertTrue(m.stdout.contains("http_requests_total{route=\"/healthcheck\",status=\"200\"} 1\n"), m.stdout)
        XCTAssertTrue(m.stdout.contains("http_requests_total{route=\"unmatched\",status=\"405\"} 1\n"), m.stdout)
        XCTAssertTrue(m.stdout.contains("# TYPE http_request_duration_seconds histogram"))
        XCTAssertTrue(m.stdout.contains("http_request_duration_seconds_count{route=\"/healthcheck\"} 1\n"))
        XCTAssertTrue(m.stdout.contains("http_open_connections 1\n"), "the scrape's own connection is open")
        XCTAssertEqual(agent.stop(signal: SIGTERM), 0, "SIGTERM must drain and exit 0")
        XCTAssertTrue(agent.stdout.contains("\"msg\":\"stopped\""))
        XCTAssertTrue(try runProcess("curl", ["-sS", "http://127.0.0.1:\(port)/healthcheck"]).status != 0)
    }

    func testSigintAlsoDrains() throws {
        let (agent, port) = try startAgent()
        let c = try RawClient(port: port)
        c.send("GET /healthcheck HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 200)
        XCTAssertEqual(agent.stop(signal: SIGINT), 0)
        XCTAssertTrue(c.readToEnd().closed, "idle keep-alive connections are closed by the drain")
    }

    func testHTTPSWithCertificateFromTheEnvironment() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tls = try TLSFixture(in: dir)
        let (agent, port) = try startAgent(["HTTPS_CERT": tls.certPath, "HTTPS_KEY": tls.keyPath])
        defer { _ = agent.stop() }
        let r = try runProcess("curl", ["-sS", "--cacert", tls.caPath, "https://localhost:\(port)/healthcheck"])
        XCTAssertEqual(r.stdout, "{\"ok\":true,\"version\":\"0.1.0\"}", r.stderr)
        XCTAssertEqual(try runProcess("curl", ["-sS", "http://127.0.0.1:\(port)/healthcheck"]).stdout.contains("\"ok\":true"), false)
    }
}
