// The `broker server` executable with a client written from snyk's sources (Tests/broker/
// fake_broker_client.py over Python's websockets, a stand-in for snyk's npm client): the engine.io
// open, identify both ways, requests down and answers streamed back through /response-data, a
// callback relayed to BROKER_UPSTREAM_URL, and the client gone mid-request.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerTunnelTests: XCTestCase {
    let token = "7a1c9e2b-5d4f-4a3b-9c8d-0e1f2a3b4c5d"

    func startFakeClient(port: Int, scheme: String = "http", _ extra: [String] = []) throws -> BackgroundProcess {
        let script = repositoryRoot.appendingPathComponent("Tests/broker/fake_broker_client.py").path
        guard FileManager.default.fileExists(atPath: projectPython) else { throw MissingPrerequisite("the project's .venv (scripts/deps.sh)") }
        return try BackgroundProcess(projectPython, [script, "\(scheme)://127.0.0.1:\(port)", token] + extra, environment: ProcessInfo.processInfo.environment)
    }

    func lines(_ p: BackgroundProcess) -> [JSON] {
        p.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
    }

    func testRequestsDownAnswersUpCallbacksRelayedAndAClientGone() throws {
        let callbacks = Locked<[String]>([])
        var router = Router()
        router.add("POST", "/api/v2/import/done", maxBodyBytes: 1 << 20) { ex in
            ex.collectBody(limit: 1 << 20) { body in
                callbacks.mutate { $0.append(String(decoding: (try? body.get()) ?? [], as: UTF8.self)) }
                ex.respond(status: 200, json: #"{"received":true}"#)
            }
        }
        let upstream = try TestServer(router: router)
        defer { upstream.stop() }
        let (server, port) = try startBrokerServer(["BROKER_TOKENS": token, "BROKER_UPSTREAM_URL": "http://127.0.0.1:\(upstream.port)"])
        XCTAssertGreaterThan(port, 0, server.stderr)
        defer { _ = server.stop() }
        let client = try startFakeClient(port: port, ["--callback", "/api/v2/import/done"])
        defer { _ = client.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 20) { server.stdout.contains("client identified") }, client.stdout + client.stderr + server.stdout)

        // The engine.io open packet and the server's identify, as snyk's server sends them.
        let open = lines(client).first { $0["event"]?.string == "open" }
        XCTAssertEqual(open?["handshake"]?["pingInterval"]?.int, 25_000)
        XCTAssertEqual(open?["handshake"]?["maxPayload"]?.int, 22_020_096)
        XCTAssertEqual(lines(client).first { $0["event"]?.string == "server identify" }?["args"]?.serialized, #"[{"capabilities":["receive-post-streams","receive-chunk-answers"]}]"#)
        XCTAssertTrue(waitUntil(seconds: 10) { self.lines(client).contains { $0["text"]?.string?.hasPrefix("primus::pong::") == true } }, "Primus heartbeat answered")

        // The callback went up, to the upstream, and its answer came back through the ack.
        XCTAssertTrue(waitUntil(seconds: 20) { self.lines(client).contains { $0["event"]?.string == "ack" } }, client.stdout)
        let ack = lines(client).first { $0["event"]?.string == "ack" }
        XCTAssertEqual(ack?["id"]?.int, 1)
        XCTAssertEqual(ack?["data"]?.array?.first?["status"]?.int, 200)
        XCTAssertEqual(ack?["data"]?.array?.first?["body"]?.string, #"{"received":true}"#)
        XCTAssertEqual(callbacks.get(), [#"{"done": true}"#])

        // A request down, answered through /response-data.
        let echo = try curl(["-X", "POST", "-H", "Content-Type: application/json", "--data", #"{"q":1}"#, "http://127.0.0.1:\(port)/broker/\(token)/echo?x=1"])
        XCTAssertEqual(echo.status, 200, echo.body)
        XCTAssertEqual(echo.headers["x-agent"], "fake")
        let seen = try JSON.parse(echo.body)
        XCTAssertEqual(seen["url"]?.string, "/echo?x=1")
        XCTAssertEqual(seen["method"]?.string, "POST")
        XCTAssertEqual(seen["body"]?.string, #"{"q":1}"#)

        // 64 MiB streamed: every byte arrives, the server's peak memory stays far below it.
        let big = 64 << 20
        let r = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "http://127.0.0.1:\(port)/broker/\(token)/big/\(big)"], timeout: 120)
        XCTAssertEqual(r.stdout, "200 \(big)")
        let hwm = vmHWMKiB(server.process.processIdentifier)
        print("broker server VmHWM after \(big >> 20) MiB relayed: \(hwm) KiB")
        XCTAssertGreaterThan(hwm, 0, "VmHWM read")
        XCTAssertLessThan(hwm, 48 * 1024, "server peak RSS \(hwm) KiB while relaying \(big >> 20) MiB")

        // The client goes while a request waits: the caller gets 502 at once, then the token has no connection.
        let held = try BackgroundCurl(["http://127.0.0.1:\(port)/broker/\(token)/hold"])
        XCTAssertTrue(waitUntil(seconds: 20) { self.lines(client).contains { $0["payload"]?["url"]?.string == "/hold" } })
        _ = client.stop(signal: SIGKILL)
        let gone = held.answer()
        XCTAssertEqual(gone.status, 502)
        XCTAssertTrue(gone.body.contains("CLIENT_DISCONNECTED"), gone.body)
        let none = try curl(["http://127.0.0.1:\(port)/broker/\(token)/echo"])
        XCTAssertEqual(none.status, 404)
        XCTAssertEqual(none.headers["x-broker-failure"], "no-connection")
        XCTAssertFalse((server.stdout + server.stderr).contains(token), "the token reached a log line")
    }

    func testAnOutdatedClientIsToldAndClosed() throws {
        let (server, port) = try startBrokerServer(["BROKER_TOKENS": token])
        XCTAssertGreaterThan(port, 0, server.stderr)
        defer { _ = server.stop() }
        let client = try startFakeClient(port: port, ["--version", "4.99.0"])
        defer { _ = client.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 20) { self.lines(client).contains { $0["event"]?.string == "ended" } }, client.stdout + client.stderr)
        let note = lines(client).first { $0["name"]?.string == "notification" }
        XCTAssertEqual(note?["args"]?.array?.first?["level"]?.string, "error")
        XCTAssertTrue(server.stdout.contains("client refused"), server.stdout)
    }

    func testOverTLSAndATokenRemovedOnSighupClosesItsSockets() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tls = try TLSFixture(in: dir)
        let file = dir.appendingPathComponent("tokens")
        try "\(token)\n".write(to: file, atomically: true, encoding: .utf8)
        let (server, port) = try startBrokerServer(["BROKER_TOKENS_FILE": file.path, "HTTPS_CERT": tls.certPath, "HTTPS_KEY": tls.keyPath])
        XCTAssertGreaterThan(port, 0, server.stderr)
        defer { _ = server.stop() }
        let client = try startFakeClient(port: port, scheme: "https", ["--ca", tls.caPath])
        defer { _ = client.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 20) { server.stdout.contains("client identified") }, client.stdout + client.stderr)
        let echo = try curl(["--cacert", tls.caPath, "https://127.0.0.1:\(port)/broker/\(token)/echo"])
        XCTAssertEqual(echo.status, 200, echo.body)
        XCTAssertEqual(try JSON.parse(echo.body)["url"]?.string, "/echo")

        try "another-token-0000\n".write(to: file, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        XCTAssertTrue(waitUntil(seconds: 20) { self.lines(client).contains { $0["event"]?.string == "ended" } }, "the revoked token's socket closed: " + client.stdout)
        let none = try curl(["--cacert", tls.caPath, "https://127.0.0.1:\(port)/broker/\(token)/echo"])
        XCTAssertEqual(none.status, 404)
    }

    func testWithAcceptItsPublicRulesGateCallersAndItsPrivateRulesRouteCallbacks() throws {
        let callbacks = Locked<Int>(0)
        var router = Router()
        router.add("POST", "/api/v2/import/done", maxBodyBytes: 1 << 20) { ex in
            ex.collectBody(limit: 1 << 20) { _ in callbacks.mutate { $0 += 1 }; ex.respond(status: 200, json: "{}") }
        }
        let upstream = try TestServer(router: router)
        defer { upstream.stop() }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let accept = dir.appendingPathComponent("accept.json")
        try """
        {"public": [{"method": "GET", "path": "/echo"}],
         "private": [{"method": "POST", "path": "/api/v2/import/done", "origin": "http://127.0.0.1:${UPSTREAM_PORT}"}]}
        """.write(to: accept, atomically: true, encoding: .utf8)
        let bad = try runProcess(brokerExecutablePath, ["server"], environment: ["PATH": "/usr/bin:/bin", "PORT": "0", "BROKER_TOKENS": token,
                                                                                 "ACCEPT": dir.appendingPathComponent("missing.json").path], timeout: 20)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("broker server: ACCEPT:"), bad.stderr)

        let (server, port) = try startBrokerServer(["BROKER_TOKENS": token, "ACCEPT": accept.path, "UPSTREAM_PORT": String(upstream.port)])
        XCTAssertGreaterThan(port, 0, server.stderr)
        defer { _ = server.stop() }
        let client = try startFakeClient(port: port, ["--callback", "/api/v2/import/done"])
        defer { _ = client.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 20) { self.lines(client).contains { $0["event"]?.string == "ack" } }, client.stdout + server.stdout)
        XCTAssertEqual(lines(client).first { $0["event"]?.string == "ack" }?["data"]?.array?.first?["status"]?.int, 200)
        XCTAssertEqual(callbacks.get(), 1)
        XCTAssertEqual(try curl(["http://127.0.0.1:\(port)/broker/\(token)/echo"]).status, 200)
        let blocked = try curl(["-X", "DELETE", "http://127.0.0.1:\(port)/broker/\(token)/admin?x=1"])
        XCTAssertEqual(blocked.status, 401)
        XCTAssertEqual(try JSON.parse(blocked.body)["code"]?.string, "FILTER_BLOCKED")
        XCTAssertEqual(try JSON.parse(blocked.body)["url"]?.string, "/admin?x=1")
        XCTAssertFalse(lines(client).contains { $0["payload"]?["url"]?.string?.hasPrefix("/admin") == true }, "a blocked call never goes down")
        XCTAssertTrue(waitUntil(seconds: 5) { server.stdout.contains(#""msg":"request blocked""#) && server.stdout.contains(#""path":"/admin""#) }, server.stdout)
    }

    func testPythonEngineIOClientAgainstOurSocketPath() throws {
        let (server, port) = try startBrokerServer(["BROKER_TOKENS": token])
        XCTAssertGreaterThan(port, 0, server.stderr)
        defer { _ = server.stop() }
        let script = repositoryRoot.appendingPathComponent("Tests/broker/server_engineio_client.py").path
        let r = try runProcess(projectPython, [script, "http://127.0.0.1:\(port)", token], timeout: 40)
        let events = r.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
        XCTAssertEqual(events.first?["event"]?.string, "connect", r.stdout + r.stderr)
        XCTAssertEqual(events.first?["transport"]?.string, "websocket")
        XCTAssertEqual(events.first?["sid"]?.string?.count, 20)
        XCTAssertTrue(events.contains { $0["value"]?.string == "primus::pong::1234" }, r.stdout)
        XCTAssertTrue(events.contains { $0["value"]?["data"]?.array?.first?.string == "identify" }, r.stdout)
        XCTAssertTrue(events.contains { $0["event"]?.string == "result" && $0["ok"]?.bool == true }, r.stdout)
        XCTAssertTrue(waitUntil(seconds: 10) { server.stdout.contains("client disconnected before identifying itself") }, server.stdout)
    }

    func testSigtermGivesAWaitingCaller502ClosesTheSocketsAndExits0() throws {
        let (server, port) = try startBrokerServer(["BROKER_TOKENS": token, "SHUTDOWN_TIMEOUT_MS": "500"])
        XCTAssertGreaterThan(port, 0, server.stderr)
        let client = try startFakeClient(port: port)
        defer { _ = client.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 20) { server.stdout.contains("client identified") }, client.stdout + client.stderr)
        let held = try BackgroundCurl(["http://127.0.0.1:\(port)/broker/\(token)/hold"])
        XCTAssertTrue(waitUntil(seconds: 20) { self.lines(client).contains { $0["payload"]?["url"]?.string == "/hold" } })
        XCTAssertEqual(server.stop(signal: SIGTERM), 0, server.stderr)
        let a = held.answer()
        XCTAssertEqual(a.status, 502)
        XCTAssertTrue(a.body.contains("SHUTTING_DOWN"), a.body)
        XCTAssertTrue(waitUntil(seconds: 10) { self.lines(client).contains { $0["event"]?.string == "ended" } }, client.stdout)
    }
}

/// VmHWM (peak resident set) of a process, in KiB; 0 if unreadable.
func vmHWMKiB(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
}
