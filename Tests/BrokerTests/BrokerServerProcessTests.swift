// The `broker server` executable as a process: settings errors, /healthcheck, token checks at the
// socket path (re-read on SIGHUP), the failure answers, SIGTERM to exit 0, and no token in any log.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

/// Starts `broker server` on a free port; returns the process and its port (0 if it did not start).
func startBrokerServer(_ extra: [String: String]) throws -> (BackgroundProcess, Int) {
    let env = ["PATH": "/usr/bin:/bin", "PORT": "0", "LOG_LEVEL": "debug"].merging(extra) { $1 }
    let p = try BackgroundProcess(brokerExecutablePath, ["server"], environment: env)
    var port = 0
    waitUntil(seconds: 10) {
        if let m = p.stdout.firstMatch(of: /"msg":"broker server listening","port":(\d+)/) { port = Int(m.1)!; return true }
        return !p.process.isRunning
    }
    return (p, port)
}

final class BrokerServerProcessTests: XCTestCase {
    func testSettingsErrorsAreOneLineNamingTheVariable() throws {
        for (env, variable) in [([:], "BROKER_TOKENS"), (["BROKER_TOKENS_FILE": "/nonexistent/tokens"], "BROKER_TOKENS_FILE"),
                                (["BROKER_TOKENS": "t1", "BROKER_UPSTREAM_URL": "nope"], "BROKER_UPSTREAM_URL")] as [([String: String], String)] {
            let r = try runProcess(brokerExecutablePath, ["server"], environment: ["PATH": "/usr/bin:/bin", "PORT": "0"].merging(env) { $1 }, timeout: 20)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("broker server: \(variable):"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }

    func testTokensAreCheckedAtTheSocketPathReReadOnSighupAndNeverLogged() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tokens")
        let first = "5f1b2c3d-aaaa-4bbb-8ccc-0123456789ab", second = "9e8d7c6b-dddd-4eee-8fff-ba9876543210"
        try "\(first)\n".write(to: file, atomically: true, encoding: .utf8)
        let (p, port) = try startBrokerServer(["BROKER_TOKENS_FILE": file.path])
        XCTAssertGreaterThan(port, 0, p.stderr + p.stdout)
        let base = "http://127.0.0.1:\(port)"
        let health = try curl(["\(base)/healthcheck"])
        XCTAssertEqual(health.status, 200)
        XCTAssertTrue(health.body.hasPrefix(#"{"ok":true,"version":"#), health.body)

        let unknown = try curl(["\(base)/primus/\(second)/?EIO=4&transport=websocket"])
        XCTAssertEqual(unknown.status, 401)
        XCTAssertEqual(unknown.headers["www-authenticate"], "Bearer")
        XCTAssertNotEqual(try curl(["\(base)/primus/\(first)/?EIO=4&transport=websocket"]).status, 401)

        try "# rotated\n\(second)\n".write(to: file, atomically: true, encoding: .utf8)
        kill(p.process.processIdentifier, SIGHUP)
        XCTAssertTrue(waitUntil(seconds: 10) { p.stdout.contains("tokens re-read") }, p.stdout)
        XCTAssertEqual(try curl(["\(base)/primus/\(first)/?EIO=4&transport=websocket"]).status, 401)
        XCTAssertNotEqual(try curl(["\(base)/primus/\(second)/?EIO=4&transport=websocket"]).status, 401)

        let none = try curl(["-X", "POST", "--data", "x", "\(base)/broker/\(second)/scan"])
        XCTAssertEqual(none.status, 404)
        XCTAssertEqual(none.headers["x-broker-failure"], "no-connection")
        let metrics = try curl(["\(base)/metrics"])
        XCTAssertTrue(metrics.body.contains("broker_server_requests_total{direction=\"down\",outcome=\"no_connection\"} 1"), metrics.body)

        XCTAssertEqual(p.stop(signal: SIGTERM), 0)
        let logs = p.stdout + p.stderr
        XCTAssertTrue(logs.contains(TokenIdentity(second).hashed), "the hash identifies the token in the logs")
        for t in [first, second] { XCTAssertFalse(logs.contains(t), "a token reached a log line") }
    }
}
