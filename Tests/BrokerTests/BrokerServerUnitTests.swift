// The broker server's pure pieces: headers from the tunnel, tokens and how they
// show, version checks, the URL a client receives, settings errors.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerUnitTests: XCTestCase {
    func testHeadersFromTheTunnelCannotInjectLines() {
        // Header values a peer could use to inject lines are dropped; names must be tokens.
        let h = RelayHeaders.fromJSON(.object([("x-ok", .string("v")), ("x-bad", .string("a\r\nSet-Cookie: x")), ("bad name", .string("v")),
                                               ("x-num", .int(3)), ("x-list", .array([.string("a"), .string("b")]))]))
        XCTAssertEqual(h.fields.map { $0.name }, ["x-ok", "x-num", "x-list", "x-list"])
    }

    func testMetricsTextIsExactlyTheFormatCallersScrape() {
        // The section as it was written by hand before PrometheusText wrote it: byte for byte.
        let stats = BrokerServerStats()
        stats.setPool(["h1": ClientPool.PoolCounts(identified: 2, pending: 1, clients: 1)])
        stats.count(.down, "ok")
        stats.count(.up, "blocked")
        stats.addBytes("to_caller", 7)
        stats.observe(seconds: 0.003)
        var want = """
            # HELP broker_server_connected_clients Identified broker clients connected, by token hash.
            # TYPE broker_server_connected_clients gauge
            broker_server_connected_clients{token_hash="h1"} 1
            # HELP broker_server_sockets Client sockets open, by token hash and whether they identified.
            # TYPE broker_server_sockets gauge
            broker_server_sockets{token_hash="h1",state="identified"} 2
            broker_server_sockets{token_hash="h1",state="pending"} 1
            # HELP broker_server_requests_total Requests through the tunnel, by direction (down: callers of /broker, up: the clients' callbacks) and outcome.
            # TYPE broker_server_requests_total counter
            broker_server_requests_total{direction="down",outcome="ok"} 1
            broker_server_requests_total{direction="up",outcome="blocked"} 1
            # HELP broker_server_relayed_bytes_total Body bytes relayed, by leg.
            # TYPE broker_server_relayed_bytes_total counter
            broker_server_relayed_bytes_total{leg="to_caller"} 7
            # HELP broker_server_request_duration_seconds Time from a /broker request to the end of its answer.
            # TYPE broker_server_request_duration_seconds histogram

            """
        for b in ServerMetrics.buckets { want += "broker_server_request_duration_seconds_bucket{le=\"\(b)\"} \(b < 0.003 ? 0 : 1)\n" }
        want += """
            broker_server_request_duration_seconds_bucket{le="+Inf"} 1
            broker_server_request_duration_seconds_sum 0.003
            broker_server_request_duration_seconds_count 1

            """
        XCTAssertEqual(stats.render(), want)
    }

    func testTokensFromAFileWithCRLFAndCommentsAndHowTheyShow() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tokens")
        try "# tokens\r\nAbCd-1234-efgh\r\n\r\n  second-token-5678 \n".write(to: file, atomically: true, encoding: .utf8)
        let book = try TokenBook(source: .file(file.path))
        XCTAssertTrue(book.accepts("abcd-1234-EFGH"))
        XCTAssertTrue(book.accepts("second-token-5678"))
        XCTAssertFalse(book.accepts("# tokens"))
        try "third-token-0000\n".write(to: file, atomically: true, encoding: .utf8)
        try book.reload()
        XCTAssertEqual(book.tokens, ["third-token-0000"])
        try "\n# none\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try book.reload())
        XCTAssertEqual(book.tokens, ["third-token-0000"], "a failed reload keeps the tokens")
        let id = TokenIdentity("0123456789abcdef")
        XCTAssertEqual(id.masked, "0123-...-cdef")
        XCTAssertEqual(id.hashed, "9f9f5111f7b27a781f1f1ddde5ebc2dd2b796bfc7365c9c28b548e564176929f")
        XCTAssertFalse(id.logFields.contains { Redaction.isSensitiveName($0.0) }, "the fields are meant to be seen")
    }

    func testVersionsAsSemverComparesThem() {
        func v(_ s: String) -> ClientVersion? { ClientVersion(s) }
        XCTAssertTrue(v("4.99.9")! < v("4.100.0")!)
        XCTAssertFalse(v("4.100.0")! < v("4.100.0")!)
        XCTAssertTrue(v("4.100.0-beta.1")! < v("4.100.0")!)
        XCTAssertFalse(v("4.200.0+build")! < v("4.100.0")!)
        XCTAssertNil(v("4.100"))
        XCTAssertNil(v("four"))
        XCTAssertNil(v("4.x.0"))
    }

    func testTheURLTheClientReceives() {
        XCTAssertTrue(ForwardedRequests.split("/broker/tok/list?x=1", prefix: "/broker/")! == ("tok", "/list?x=1"))
        XCTAssertNil(ForwardedRequests.split("/broker/tok", prefix: "/broker/"))
        XCTAssertNil(ForwardedRequests.split("/broker//list", prefix: "/broker/"))
        XCTAssertTrue(ForwardedRequests.clientURL("/list?connection_role=primary") == ("/list", nil))
        XCTAssertTrue(ForwardedRequests.clientURL("/list?a=1&connection_role=secondary&b=2") == ("/list?a=1&b=2", nil))
        XCTAssertTrue(ForwardedRequests.clientURL("/ctx/0b7c1e2a-1111-4222-8333-444455556666/scan") == ("/scan", "0b7c1e2a-1111-4222-8333-444455556666"))
        XCTAssertTrue(ForwardedRequests.isUUID("2b5c7f0e-3c1d-4d8e-9f00-123456789abc"))
        XCTAssertFalse(ForwardedRequests.isUUID("00000000-0000-0000-0000-000000000000"))
        XCTAssertTrue(ForwardedRequests.isUUID(ForwardedRequests.newUUID()))
    }

    func testSettingsNameTheVariableAtFault() {
        func error(_ env: [String: String]) -> String {
            do { _ = try BrokerServerSettings.from(Environment(env)); return "" } catch { return error.description }
        }
        XCTAssertTrue(error([:]).hasPrefix("BROKER_TOKENS:"))
        XCTAssertTrue(error(["BROKER_TOKENS": "a", "BROKER_TOKENS_FILE": "/x"]).hasPrefix("BROKER_TOKENS_FILE:"))
        XCTAssertTrue(error(["BROKER_TOKENS": " , "]).hasPrefix("BROKER_TOKENS:"))
        XCTAssertTrue(error(["BROKER_TOKENS": "a", "BROKER_UPSTREAM_URL": "ftp://x"]).hasPrefix("BROKER_UPSTREAM_URL:"))
        XCTAssertTrue(error(["BROKER_TOKENS": "a", "BROKER_REQUEST_TIMEOUT_MS": "soon"]).hasPrefix("BROKER_REQUEST_TIMEOUT_MS:"))
        XCTAssertTrue(error(["BROKER_TOKENS": "a", "PORT": "70000"]).hasPrefix("PORT:"))
        let s = try? BrokerServerSettings.from(Environment(["BROKER_TOKENS": "a,b"]))
        XCTAssertEqual(s?.server.port, 7341)
        XCTAssertEqual(s?.requestTimeoutMs, 600_000)
        XCTAssertEqual(s?.tokens, .list(["a", "b"]))
    }

    /// The limits one token holder meets: their defaults, their variables, and a message cap never above
    /// what the open packet announces (snyk's 22020096 unless BROKER_MAX_MESSAGE_BYTES is lower).
    func testTheSocketLimitsAndTheMessageCapTheServerAnnounces() throws {
        let d = try BrokerServerSettings.from(Environment(["BROKER_TOKENS": "a"]))
        XCTAssertEqual(d.identifyTimeoutMs, 30_000)
        XCTAssertEqual(d.maxSocketsPerToken, 64)
        XCTAssertEqual(d.maxMessageBytes, 33_554_432)
        XCTAssertEqual(d.acceptedMessageBytes, 22_020_096)
        let s = try BrokerServerSettings.from(Environment(["BROKER_TOKENS": "a", "BROKER_IDENTIFY_TIMEOUT_MS": "5000",
                                                           "BROKER_MAX_SOCKETS_PER_TOKEN": "8", "BROKER_MAX_MESSAGE_BYTES": "1048576"]))
        XCTAssertEqual(s.identifyTimeoutMs, 5_000)
        XCTAssertEqual(s.maxSocketsPerToken, 8)
        XCTAssertEqual(s.acceptedMessageBytes, 1_048_576)
        for (name, bad) in [("BROKER_IDENTIFY_TIMEOUT_MS", "0"), ("BROKER_MAX_SOCKETS_PER_TOKEN", "0"), ("BROKER_MAX_SOCKETS_PER_TOKEN", "many")] {
            XCTAssertThrowsError(try BrokerServerSettings.from(Environment(["BROKER_TOKENS": "a", name: bad]))) { XCTAssertTrue("\($0)".hasPrefix(name), "\($0)") }
        }
    }
}
