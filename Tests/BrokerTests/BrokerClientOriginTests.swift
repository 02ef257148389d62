// Where a request from the server goes and with which credentials: CR_CREDENTIALS only to the agent's
// origin, a rule's `auth` to its own origin, never the caller's authorization; a /ctx/<id> prefix cannot
// turn the path into another host; a request that could never be answered holds no place. Two real
// HTTP origins (Core's server, echoing the headers they received) stand in the agent's and another host's
// place, with the real accept filter.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientOriginTests: XCTestCase {
    nonisolated(unsafe) static var agent: EchoOrigin?
    nonisolated(unsafe) static var other: EchoOrigin?

    override class func setUp() {
        super.setUp()
        agent = try? EchoOrigin()
        other = try? EchoOrigin()
    }

    override class func tearDown() {
        agent?.stop()
        other?.stop()
        super.tearDown()
    }

    var agent: EchoOrigin { Self.agent! }
    var other: EchoOrigin { Self.other! }

    /// The real accept filter over `rules` (private list), `${CR_AGENT_URL}` the agent, `${OTHER_URL}` the other origin.
    func filter(_ rules: String) throws -> AcceptFilter {
        let env = ["CR_AGENT_URL": agent.url, "OTHER_URL": other.url, "OTHER_TOKEN": "rule-token-for-other"]
        return AcceptFilter(rules: try FilterRules.parse(Array("{\"private\":[\(rules)],\"public\":[]}".utf8), source: "test.json").get(), environment: env)
    }

    /// One request down the primary socket with an ack; the ack's first argument.
    func ask(_ h: ClientHarness, _ url: String, headers: [(String, JSON)] = []) -> JSON? {
        let answer = Locked<[JSON]?>(nil)
        h.serverRequests(BrokerClientRequestTests.request(url, headers: headers, streamingID: nil)) { answer.set($0) }
        XCTAssertTrue(waitUntil(seconds: 20) { answer.get() != nil }, url)
        return answer.get()?.first
    }

    /// The headers the origin saw, from its echoed answer.
    func seenHeaders(_ answer: JSON?) -> [String: String] {
        let body = ClientFixture.json(answer?["body"]?.string ?? "") as? [String: Any]
        return body?["headers"] as? [String: String] ?? [:]
    }

    func testCredentialsGoOnlyToTheAgentAndARuleAuthOnlyToItsOrigin() throws {
        let f = try filter("""
            {"method":"GET","path":"/list","origin":"${CR_AGENT_URL}"},
            {"method":"GET","path":"/echo","origin":"${OTHER_URL}","auth":{"scheme":"bearer","token":"${OTHER_TOKEN}"}},
            {"method":"GET","path":"/healthcheck","origin":"${OTHER_URL}"}
            """)
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: agent.url, filter: f))
        let caller: [(String, JSON)] = [("authorization", .string("Bearer chosen-by-the-caller"))]

        let toAgent = ask(h, "/list", headers: caller)
        XCTAssertEqual(toAgent?["status"]?.int, 200)
        XCTAssertEqual(seenHeaders(toAgent)["host"], "127.0.0.1:\(agent.server.port)")
        XCTAssertEqual(seenHeaders(toAgent)["authorization"], ClientFixture.credentials, "the agent gets CR_CREDENTIALS")

        let withRuleAuth = ask(h, "/echo", headers: caller)
        XCTAssertEqual(withRuleAuth?["status"]?.int, 200)
        XCTAssertEqual(seenHeaders(withRuleAuth)["host"], "127.0.0.1:\(other.server.port)", "the rule's origin answered")
        XCTAssertEqual(seenHeaders(withRuleAuth)["authorization"], "Bearer rule-token-for-other", "the rule's auth, as auth-header.ts makes it")

        let withoutAuth = ask(h, "/healthcheck", headers: caller)
        XCTAssertEqual(withoutAuth?["status"]?.int, 200)
        XCTAssertEqual(seenHeaders(withoutAuth)["host"], "127.0.0.1:\(other.server.port)")
        XCTAssertNil(seenHeaders(withoutAuth)["authorization"], "no rule auth: no authorization at all, neither ours nor the caller's")

        XCTAssertEqual(seenHeaders(toAgent)["x-broker-client-url"], "http://127.0.0.1:7341", "the agent learns where to call back")
        for answer in [withRuleAuth, withoutAuth] {
            XCTAssertNil(seenHeaders(answer)["x-broker-client-url"], "another origin does not learn the client's address")
            XCTAssertFalse((answer?["body"]?.string ?? "").contains(ClientFixture.credentials), "CR_CREDENTIALS never reach another origin")
        }
    }

    func testTheAgentIsKnownBySchemeHostAndPortOnly() {
        let creds = "CREDS"
        let rows: [(String, String, String?)] = [
            // url the request goes to, CR_AGENT_URL, authorization expected (rule auth "RULE")
            ("http://agent:17500/list", "http://agent:17500", creds),
            ("http://AGENT:17500/list", "http://agent:17500/", creds),
            ("https://agent/list", "https://agent:443", creds),
            ("http://agent/list", "http://agent:80", creds),
            ("http://agent:17501/list", "http://agent:17500", "RULE"),
            ("https://agent:17500/list", "http://agent:17500", "RULE"),
            ("http://agent.evil.example:17500/list", "http://agent:17500", "RULE"),
            ("http://agent:17500@evil.example/x", "http://agent:17500", "RULE"),
            ("http://[::1]:17500/list", "http://[::1]:17500", creds),
            ("http://[::1]:17500/list", "http://127.0.0.1:17500", "RULE"),
            ("HTTP://Agent:17500/x", "http://agent:17500", creds),
            ("http://user:pw@agent:17500/x", "http://agent:17500", creds),
            ("http://agent:17500?q=@evil.example", "http://agent:17500", creds),
            ("http://agent:99999/x", "http://agent:17500", "RULE"),
            ("ftp://agent:17500/x", "http://agent:17500", "RULE"),
        ]
        for (url, agentURL, expected) in rows {
            XCTAssertEqual(DownstreamPreparation.authorization(for: url, agentURL: agentURL, credentials: creds, ruleAuthorization: "RULE"),
                           expected, "\(url) with agent \(agentURL)")
        }
        XCTAssertNil(DownstreamPreparation.authorization(for: "http://other/x", agentURL: "http://agent", credentials: creds, ruleAuthorization: nil))
    }

    /// `/ctx/<uuid>` followed by something other than `/`: pasted onto the origin, the rest would name
    /// another host. The real filter matches no such path (every rule path starts with `/`), so this runs
    /// with a test-only filter that allows every path to the agent, as any filter the client is given may.
    func testAContextPrefixCannotTurnThePathIntoAnotherHost() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: agent.url, filter: EveryPathAllowedFilter()))
        let zero = "00000000-0000-0000-0000-000000000000"
        for url in ["/ctx/\(zero)@127.0.0.1:\(other.server.port)/echo", "/ctx/\(zero).evil.example/x", "/ctx/\(zero)?x=1", "/ctx/\(zero)"] {
            let answer = ask(h, url)
            XCTAssertEqual(answer?["status"]?.int, 401, url)
            XCTAssertEqual(answer?["body"]?["code"]?.string, "FILTER_BLOCKED", url)
            XCTAssertFalse((answer?["body"]?.string ?? "").contains(ClientFixture.credentials), url)
        }
        XCTAssertEqual(h.client.metrics.requestsBlocked.load(ordering: .relaxed), 4)
        XCTAssertEqual(h.client.metrics.requestsForwarded.load(ordering: .relaxed), 0, "nothing left the client")
        XCTAssertTrue(h.log.contains("does not start with / once its /ctx/<id> prefix is taken out"))
        // A well-formed context path still reaches the agent.
        let fine = ask(h, "/ctx/\(zero)/list")
        XCTAssertEqual(fine?["status"]?.int, 200)
        XCTAssertEqual(seenHeaders(fine)["host"], "127.0.0.1:\(agent.server.port)")
    }

    /// A request with neither a streamingID nor an ack id can never be answered: it is refused at once,
    /// so more of them than the cap on running requests leave every place free.
    func testUnanswerableRequestsHoldNoPlace() throws {
        var settings = ClientFixture.settings(server: "http://127.0.0.1:9", agent: agent.url)
        settings.maxConcurrentRequests = 2
        settings.maxQueuedRequests = 2
        let h = try ClientHarness(settings: settings)
        for i in 0..<6 { h.serverRequests(BrokerClientRequestTests.request("/echo", streamingID: nil, requestId: "req-unanswerable-\(i)")) }
        let answer = ask(h, "/echo")
        XCTAssertEqual(answer?["status"]?.int, 200, "a normal request after them is answered")
        XCTAssertTrue(waitUntil(seconds: 10) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 }, "no call held")
        XCTAssertEqual(h.client.metrics.requestsInvalid.load(ordering: .relaxed), 6)
        XCTAssertEqual(h.client.metrics.requestsQueued.load(ordering: .relaxed), 0)
        XCTAssertEqual(h.client.metrics.requestsRefusedBusy.load(ordering: .relaxed), 0)
        XCTAssertTrue(h.log.contains("neither a streamingID nor an ack id"))
    }
}

/// Test-only: allows every request to the agent unchanged (what a filter with a catch-all rule that also
/// matched paths without a leading `/` would do).
struct EveryPathAllowedFilter: RequestFilter {
    func decide(_ request: FilterRequest, direction: FilterDirection) -> FilterDecision { .allowed(origin: nil, request: request) }
}
