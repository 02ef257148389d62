// Requests coming down the tunnel: filtered, prepared as snyk's client prepares them (plus our
// authorization and x-broker-client-url), sent to a real origin, and answered up through /response-data
// (4-byte LE length, status/headers JSON, body) to the Python receiver, or through the emitter ack.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientRequestTests: ReceiverAndOriginTestCase {
    func harness() throws -> ClientHarness {
        try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url))
    }

    static func request(_ url: String, method: String = "GET", headers: [(String, JSON)] = [], body: JSON? = nil,
                        streamingID: String? = UUID().uuidString, requestId: String = UUID().uuidString) -> JSON {
        var fields: [(String, JSON)] = [("url", .string(url)), ("method", .string(method)), ("headers", .object(headers))]
        if let body { fields.append(("body", body)) }
        fields.append(("streamingID", streamingID.map { .string($0) } ?? .string("")))
        fields.append(("requestId", .string(requestId)))
        return .object(fields)
    }

    func testAnAllowedRequestReachesTheAgentWithSnyksHygieneAndOurCredentials() throws {
        let h = try harness()
        let sid = "stream-hygiene"
        h.serverRequests(Self.request("/ctx/0b5c3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f/list?page=2", headers: [
            ("authorization", .string("Bearer chosen-by-the-outside")), ("host", .string("broker.snyk.io")),
            ("x-forwarded-for", .string("10.0.0.1")), ("x-forwarded-proto", .string("https")), ("x-forwarded-custom", .string("x")),
            ("snyk-acting-org-public-id", .string("org")), ("snyk-acting-group-public-id", .string("grp")), ("snyk-flow-name", .string("f")),
            ("snyk-product-line", .string("p")), ("x-snyk-broker-context-id", .string("ctx")), ("content-length", .string("99")),
            ("user-agent", .string("snyk-container/1.0")), ("accept", .string("application/json")),
            ("x-broker-client-url", .string("http://evil.example")),
        ], streamingID: sid, requestId: "req-1"))
        let upload = try XCTUnwrap(receiver.upload(sid))
        XCTAssertEqual(upload["path"] as? String, "/response-data/\(ClientFixture.token)/\(sid)")
        XCTAssertEqual((upload["query"] as? [String: String])?["connection_role"], "primary")
        let headers = upload["headers"] as? [String: String] ?? [:]
        XCTAssertEqual(headers["Content-Type"], "application/vnd.broker.stream+octet-stream")
        XCTAssertEqual(headers["Snyk-Request-Id"], "req-1")
        XCTAssertEqual(headers["x-broker-client-version"], "4.200.0")
        let preamble = ClientFixture.preamble(upload)
        XCTAssertEqual(preamble["status"] as? Int, 200)
        XCTAssertNil(preamble["errorType"])
        XCTAssertEqual((preamble["headers"] as? [String: String])?["x-origin"], "echo")
        XCTAssertTrue((upload["preambleText"] as? String ?? "").hasPrefix("{\"status\":200,\"headers\":{"))

        let echoed = try XCTUnwrap(ClientFixture.json(upload["bodyStart"] as? String ?? "") as? [String: Any])
        XCTAssertEqual(echoed["target"] as? String, "/list?page=2", "the /ctx/<uuid> prefix is gone, the query kept")
        let seen = echoed["headers"] as? [String: String] ?? [:]
        XCTAssertEqual(seen["authorization"], ClientFixture.credentials, "CR_CREDENTIALS, never the caller's")
        XCTAssertEqual(seen["x-broker-client-url"], "http://127.0.0.1:7341")
        XCTAssertEqual(seen["host"], "127.0.0.1:\(origin.server.port)")
        XCTAssertEqual(seen["snyk-request-id"], "req-1")
        XCTAssertEqual(seen["x-request-id"], "req-1")
        XCTAssertEqual(seen["user-agent"], "Snyk Broker Client 4.200.0")
        XCTAssertEqual(seen["x-broker-origin-ua"], "snyk-container/1.0")
        XCTAssertEqual(seen["accept"], "application/json")
        for dropped in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-custom", "snyk-acting-org-public-id", "snyk-acting-group-public-id",
                        "snyk-flow-name", "snyk-product-line", "x-snyk-broker-context-id"] {
            XCTAssertNil(seen[dropped], dropped)
        }
        XCTAssertTrue(waitUntil(seconds: 5) { h.onReactor { h.client.metrics.inFlight.load(ordering: .relaxed) } == 0 })
    }

    func testABodyComesDownAsEJSONBinaryOrTextAndReachesTheAgent() throws {
        let h = try harness()
        let payload = "{\"image\":\"alpine:3.19\"}"
        h.serverRequests(Self.request("/echo", method: "POST", headers: [("content-type", .string("application/json"))],
                                      body: .object([("$binary", .string(Base64.encode(Array(payload.utf8))))]), streamingID: "stream-binary"))
        h.serverRequests(Self.request("/echo", method: "POST", body: .string("plain text"), streamingID: "stream-text"))
        let binary = try XCTUnwrap(receiver.upload("stream-binary"))
        let echoed = ClientFixture.json(binary["bodyStart"] as? String ?? "") as? [String: Any]
        XCTAssertEqual(echoed?["body"] as? String, payload)
        XCTAssertEqual(echoed?["method"] as? String, "POST")
        let text = try XCTUnwrap(receiver.upload("stream-text"))
        XCTAssertEqual((ClientFixture.json(text["bodyStart"] as? String ?? "") as? [String: Any])?["body"] as? String, "plain text")
    }

    func testABlockedRequestGets401FilterBlockedUpTheSamePathAndOneAuditLine() throws {
        let h = try harness()
        h.serverRequests(Self.request("/v2/_catalog", streamingID: "stream-blocked"))
        h.serverRequests(Self.request("/list/../admin", streamingID: "stream-traversal"))
        h.serverRequests(Self.request("/list", method: "DELETE", streamingID: "stream-method"))
        let blocked = try XCTUnwrap(receiver.upload("stream-blocked"))
        XCTAssertEqual(blocked["preambleText"] as? String, "{\"status\":401,\"errorType\":\"FILTER_BLOCKED\"}")
        XCTAssertEqual(blocked["bodyStart"] as? String,
                       "{\"code\":\"FILTER_BLOCKED\",\"message\":\"blocked\",\"reason\":\"Request does not match any accept rule\",\"url\":\"/v2/_catalog\"}")
        XCTAssertEqual(ClientFixture.preamble(try XCTUnwrap(receiver.upload("stream-traversal")))["status"] as? Int, 401)
        XCTAssertEqual(ClientFixture.preamble(try XCTUnwrap(receiver.upload("stream-method")))["status"] as? Int, 401)
        let audit = h.log.split(separator: "\n").filter { $0.contains("\"msg\":\"request blocked\"") }
        XCTAssertEqual(audit.count, 3, h.log)
        XCTAssertTrue(audit[0].contains("\"level\":\"info\""))
        XCTAssertTrue(audit[0].contains("\"method\":\"GET\"") && audit[0].contains("\"path\":\"/v2/_catalog\""))
        XCTAssertTrue(audit[0].contains("\"reason\":\"Request does not match any accept rule\""))
        XCTAssertTrue(audit[2].contains("\"method\":\"DELETE\""))
        XCTAssertEqual(h.client.metrics.requestsBlocked.load(ordering: .relaxed), 3)
    }

    func testTheLegacyAckPathAnswersWholeThroughTheEmitter() throws {
        let h = try harness()
        let answer = Locked<[JSON]?>(nil)
        h.serverRequests(Self.request("/echo", streamingID: nil, requestId: "req-ack")) { answer.set($0) }
        XCTAssertTrue(waitUntil(seconds: 10) { answer.get() != nil })
        let first = answer.get()?.first
        XCTAssertEqual(first?["status"]?.int, 200)
        XCTAssertEqual(first?["headers"]?["x-origin"]?.string, "echo")
        let body = ClientFixture.json(first?["body"]?.string ?? "") as? [String: Any]
        XCTAssertEqual((body?["headers"] as? [String: String])?["snyk-request-id"], "req-ack")

        let blocked = Locked<[JSON]?>(nil)
        h.serverRequests(Self.request("/v2/_catalog", streamingID: nil)) { blocked.set($0) }
        XCTAssertTrue(waitUntil(seconds: 10) { blocked.get() != nil })
        XCTAssertEqual(blocked.get()?.first?["status"]?.int, 401)
        XCTAssertEqual(blocked.get()?.first?["body"]?["code"]?.string, "FILTER_BLOCKED")
    }

    func testAnAgentThatIsDownGets502DownstreamUnreachableAfterThreeRetriesAndTheTunnelStaysUp() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: "http://127.0.0.1:9"))
        h.serverRequests(Self.request("/list", streamingID: "stream-down"))
        let upload = try XCTUnwrap(receiver.upload("stream-down"))
        XCTAssertEqual(upload["preambleText"] as? String, "{\"status\":502,\"errorType\":\"DOWNSTREAM_UNREACHABLE\"}")
        let body = ClientFixture.json(upload["bodyStart"] as? String ?? "") as? [String: Any]
        XCTAssertEqual(body?["code"] as? String, "DOWNSTREAM_UNREACHABLE")
        XCTAssertEqual(h.client.metrics.downstreamRetries.load(ordering: .relaxed), 3)
        XCTAssertEqual(h.client.metrics.requestsUnreachable.load(ordering: .relaxed), 1)
        XCTAssertEqual(h.onReactor { h.client.openSocketCount }, 2, "the tunnel stays up")
        XCTAssertEqual(try h.curl("/healthcheck").status, 200)
    }

    func testManyRequestsAtOnceEachGetTheirOwnAnswer() throws {
        let h = try harness()
        let ids = (0..<24).map { "stream-many-\($0)" }
        for (i, id) in ids.enumerated() {
            h.serverRequests(Self.request(i % 3 == 0 ? "/stream/1" : "/echo", streamingID: id), role: i % 2 == 0 ? "primary" : "secondary")
        }
        for (i, id) in ids.enumerated() {
            let upload = try XCTUnwrap(receiver.upload(id), id)
            XCTAssertEqual(ClientFixture.preamble(upload)["status"] as? Int, 200)
            XCTAssertEqual((upload["query"] as? [String: String])?["connection_role"], i % 2 == 0 ? "primary" : "secondary")
            if i % 3 == 0 { XCTAssertEqual(upload["bodyBytes"] as? Int, 1 << 20) }
        }
        XCTAssertTrue(waitUntil(seconds: 5) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 })
    }
}

