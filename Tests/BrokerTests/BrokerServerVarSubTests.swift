// A client's callback relayed by the `broker server` executable (ACCEPT with a private rule) to a test
// upstream that records what it receives: the callback asks for `${BROKER_TOKENS}` to be substituted
// (header through x-broker-var-sub, body through BROKER_VAR_SUB), and no token value ever goes up. Only
// the variables BROKER_SERVER_VAR_SUB_VARIABLES lists are filled. The client is the raw stub peer
// (Tests/broker/raw_tunnel_peer.py `callback`), which sends what an agent's callback could carry.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerVarSubTests: XCTestCase {
    let tokens = ["tok-alpha-0001", "tok-bravo-0002"]

    func relay(_ value: String, extra: [String: String] = [:]) throws -> (header: String, body: String, ack: JSON?, log: String) {
        let seen = Locked<[(String, String)]>([])
        var router = Router()
        router.add("POST", "/api/v2/import/done", maxBodyBytes: 1 << 20) { ex in
            ex.collectBody(limit: 1 << 20) { body in
                seen.mutate { $0.append((ex.request.headers["x-a"] ?? "", String(decoding: (try? body.get()) ?? [], as: UTF8.self))) }
                ex.respond(status: 200, json: #"{"echo":true}"#)
            }
        }
        let upstream = try TestServer(router: router)
        defer { upstream.stop() }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let accept = dir.appendingPathComponent("accept.json")
        try """
        {"public": [], "private": [{"method": "POST", "path": "/api/v2/import/done", "origin": "http://127.0.0.1:${UPSTREAM_PORT}"}]}
        """.write(to: accept, atomically: true, encoding: .utf8)
        let (server, port) = try startBrokerServer(["BROKER_TOKENS": tokens.joined(separator: ","), "ACCEPT": accept.path,
                                                    "UPSTREAM_PORT": String(upstream.port)].merging(extra) { $1 })
        XCTAssertGreaterThan(port, 0, server.stderr)
        defer { _ = server.stop() }
        let peer = try startRawTunnelPeer(port: port, token: tokens[0], ["callback", value])
        defer { _ = peer.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 30) { jsonLines(peer).contains { $0["event"]?.string == "ack" } }, peer.stdout + peer.stderr + server.stdout)
        let ack = jsonLines(peer).first { $0["event"]?.string == "ack" }?["packet"]?["data"]?.array?.first
        XCTAssertEqual(seen.get().count, 1, server.stdout)
        let got = seen.get().first ?? ("", "")
        return (got.0, got.1, ack, server.stdout + server.stderr)
    }

    func testTheServersEnvironmentIsNotSubstitutedIntoACallback() throws {
        let r = try relay("${BROKER_TOKENS}")
        XCTAssertEqual(r.ack?["status"]?.int, 200)
        XCTAssertEqual(r.header, "${BROKER_TOKENS}", "the placeholder arrives as written")
        XCTAssertEqual(try JSON.parse(r.body)["v"]?.string, "${BROKER_TOKENS}")
        for t in tokens {
            XCTAssertFalse(r.header.contains(t) || r.body.contains(t) || (r.ack?.serialized.contains(t) ?? false), "a token went up or came back")
            XCTAssertFalse(r.log.contains(t), "a token reached a log line")
        }
    }

    func testOnlyTheListedVariablesAreSubstituted() throws {
        let r = try relay("${PUBLIC_NAME}/${BROKER_TOKENS}", extra: ["PUBLIC_NAME": "registry-scanner", "BROKER_SERVER_VAR_SUB_VARIABLES": "PUBLIC_NAME"])
        XCTAssertEqual(r.header, "registry-scanner/")
        XCTAssertEqual(try JSON.parse(r.body)["v"]?.string, "registry-scanner/")
        XCTAssertNil(try JSON.parse(r.body)["BROKER_VAR_SUB"], "the request's list is taken out, as snyk does")
        for t in tokens { XCTAssertFalse(r.header.contains(t) || r.body.contains(t)) }

        let refused = try runProcess(brokerExecutablePath, ["server"], environment: ["PATH": "/usr/bin:/bin", "PORT": "0", "BROKER_TOKENS": tokens[0],
                                                                                     "BROKER_SERVER_VAR_SUB_VARIABLES": "PUBLIC_NAME, BROKER_TOKENS"], timeout: 20)
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.hasPrefix("broker server: BROKER_SERVER_VAR_SUB_VARIABLES:"), refused.stderr)
    }
}
