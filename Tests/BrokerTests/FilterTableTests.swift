// The default container-registry-agent filter against a table of requests: each row the decision snyk's
// filter semantics give it, and why (REFERENCE §2; snyk/broker filtersAsync.ts).
import XCTest
import Foundation
import Core
@testable import BrokerKit

final class FilterTableTests: XCTestCase {
    static let agent = "http://cr-agent:17500"

    func defaultFilter() throws -> AcceptFilter {
        try AcceptFilter.load(acceptPath: nil, environment: ["CR_AGENT_URL": Self.agent]).get()
    }

    struct Row {
        let direction: FilterDirection
        let method: String
        let url: String
        let allowed: Bool
        let why: String
        init(_ d: FilterDirection, _ m: String, _ u: String, _ a: Bool, _ w: String) {
            direction = d; method = m; url = u; allowed = a; why = w
        }
    }

    static let allow = true, block = false
    static let rows: [Row] = [
        // private: requests coming down the tunnel to the agent
        Row(.privateRules, "GET", "/healthcheck", allow, "rule GET /healthcheck"),
        Row(.privateRules, "get", "/healthcheck", allow, "methods compare case-insensitively"),
        Row(.privateRules, "GET", "/HEALTHCHECK", allow, "path-to-regexp matches case-insensitively"),
        Row(.privateRules, "GET", "/healthcheck/", allow, "one optional trailing slash"),
        Row(.privateRules, "GET", "/healthcheck//", block, "`//` is not normal form"),
        Row(.privateRules, "POST", "/healthcheck", block, "the rule is GET only"),
        Row(.privateRules, "HEAD", "/healthcheck", block, "HEAD is not GET"),
        Row(.privateRules, "GET", "/healthcheck?verbose=1", allow, "the query is not part of the path match"),
        Row(.privateRules, "GET", "/healthcheck#top", allow, "the fragment is dropped before matching"),
        Row(.privateRules, "GET", "/validate-credentials", allow, "rule GET /validate-credentials"),
        Row(.privateRules, "GET", "/get-state-identifier?imageName=library/nginx:1.25", allow, "a slash inside the query is fine"),
        Row(.privateRules, "GET", "/list", allow, "rule GET /list"),
        Row(.privateRules, "GET", "/list/", allow, "`/list` takes a trailing slash; `/list/*` matches it too"),
        Row(.privateRules, "GET", "/list/library/nginx", allow, "`*` spans slashes"),
        Row(.privateRules, "GET", "/list/project/team/repo", allow, "Harbor-style nested names under `*`"),
        Row(.privateRules, "GET", "/List/Library/NGINX", allow, "case-insensitive"),
        Row(.privateRules, "GET", "/list/../../etc/passwd", block, "`..` changes the path under normalisation"),
        Row(.privateRules, "GET", "/list/x/..", block, "a trailing `..` is traversal too"),
        Row(.privateRules, "GET", "/list/./x", block, "`./` is not normal form"),
        Row(.privateRules, "GET", "/./list", block, "`./` at the start"),
        Row(.privateRules, "GET", "//list", block, "a leading `//`"),
        Row(.privateRules, "GET", "/list/%2e%2e/%2e%2e/metrics", block, "encoded dots: not normal once decoded (ours)"),
        Row(.privateRules, "GET", "/list/%2E%2E", block, "upper-case encoded dots too"),
        Row(.privateRules, "GET", "/list/project%2Frepo", allow, "an encoded slash is an ordinary character for `*`; decoded it is still normal"),
        Row(.privateRules, "GET", "/list/a%2F%2Fb", block, "encoded `//`: not normal once decoded (ours)"),
        Row(.privateRules, "GET", "/list/a%zz", block, "a malformed percent-escape cannot be checked"),
        Row(.privateRules, "GET", "/listing", block, "`/list` is anchored and `/list/*` needs the slash"),
        Row(.privateRules, "GET", "/list?u=http://evil", block, "snyk normalises the whole URL: `//` in the query blocks"),
        Row(.privateRules, "GET", "/list?next=../../x", block, "`..` in the query changes the normalised URL"),
        Row(.privateRules, "GET", "/list?page=2&size=100", allow, "an ordinary query"),
        Row(.privateRules, "DELETE", "/list", block, "no DELETE rule"),
        Row(.privateRules, "GET", "/list-paginated", block, "`/list-paginated/*` needs a slash after it (REFERENCE §2)"),
        Row(.privateRules, "GET", "/list-paginated/library/nginx?cursor=abc", allow, "rule GET /list-paginated/*"),
        Row(.privateRules, "GET", "/list-with-metadata/library/nginx", allow, "rule GET /list-with-metadata/*"),
        Row(.privateRules, "GET", "/image-metadata/library/nginx/latest", allow, "rule GET /image-metadata/*"),
        Row(.privateRules, "GET", "/image-metadata", block, "bare `/image-metadata` has no rule"),
        Row(.privateRules, "POST", "/scan", allow, "rule POST /scan"),
        Row(.privateRules, "POST", "/SCAN/", allow, "case and trailing slash"),
        Row(.privateRules, "GET", "/scan", block, "the scan rule is POST only"),
        Row(.privateRules, "PUT", "/scan", block, "no PUT rule"),
        Row(.privateRules, "POST", "/scan/../list", block, "traversal"),
        Row(.privateRules, "POST", "/scan/extra", block, "`/scan` is anchored"),
        Row(.privateRules, "POST", "/discover", allow, "rule POST /discover"),
        Row(.privateRules, "GET", "/metrics", block, "the agent's metrics are not exposed through the tunnel"),
        Row(.privateRules, "GET", "/v2/_catalog", block, "registry API paths are not in the filter"),
        Row(.privateRules, "POST", "/api/v2/import/done", block, "a public rule does not open the private direction"),
        Row(.privateRules, "GET", "", block, "an empty URL normalises to `.`"),
        // public: the agent's callbacks going up
        Row(.publicRules, "POST", "/api/v2/import/done", allow, "callback rule"),
        Row(.publicRules, "POST", "/api/v1/recurring-tests/dependencies", allow, "callback rule"),
        Row(.publicRules, "POST", "/api/v2/import/result", allow, "callback rule"),
        Row(.publicRules, "POST", "/v1/import/app", allow, "callback rule (api hosts)"),
        Row(.publicRules, "POST", "/v2/import/done", allow, "callback rule (api hosts)"),
        Row(.publicRules, "POST", "/v1/recurring-tests/dependencies", allow, "callback rule (api hosts)"),
        Row(.publicRules, "POST", "/v2/import/result?orgId=1", allow, "callback rule, query ignored"),
        Row(.publicRules, "POST", "/rest/scan/result", allow, "code lineage callback"),
        Row(.publicRules, "GET", "/api/v2/import/done", block, "callbacks are POST only"),
        Row(.publicRules, "POST", "/api/v2/import/done/../../../admin", block, "traversal"),
        Row(.publicRules, "POST", "/api/v2/import/done/extra", block, "no `*` on callback rules"),
        Row(.publicRules, "POST", "/scan", block, "a private rule does not open the public direction"),
        Row(.publicRules, "GET", "/healthcheck", block, "a private rule does not open the public direction"),
    ]

    func testTheDefaultFilterDecidesEveryRowAsSnykDoes() throws {
        XCTAssertGreaterThanOrEqual(Self.rows.count, 40)
        let filter = try defaultFilter()
        for row in Self.rows {
            let decision = filter.decide(FilterRequest(method: row.method, url: row.url), direction: row.direction)
            switch decision {
            case .allowed(let origin, _):
                XCTAssertTrue(row.allowed, "\(row.method) \(row.url) (\(row.direction.rawValue)) allowed, but: \(row.why)")
                XCTAssertEqual(origin, row.direction == .privateRules ? Self.agent : nil, "origin for \(row.url)")
            case .blocked(let reason):
                XCTAssertFalse(row.allowed, "\(row.method) \(row.url) (\(row.direction.rawValue)) blocked (\(reason)), but: \(row.why)")
                XCTAssertFalse(reason.isEmpty)
            }
        }
    }

    func testABlockedPathStaysBlockedWithAnyQuery() throws {
        let filter = try defaultFilter()
        for row in Self.rows where !row.allowed && !row.url.contains("?") && !row.url.contains("#") && !row.url.isEmpty {
            for query in ["?a=1", "?", "?list=/list", "?x=..%2F..", "#/healthcheck"] {
                if case .allowed = filter.decide(FilterRequest(method: row.method, url: row.url + query), direction: row.direction) {
                    XCTFail("\(row.method) \(row.url + query) allowed, \(row.url) is not")
                }
            }
        }
    }

    func testVarSubstitutionOnAnAllowedRequestComingDown() throws {
        let env = ["CR_AGENT_URL": Self.agent, "SNYK_CALLBACK": "https://api.snyk.io/v2/import/done", "TOKEN_X": "tok"]
        let filter = try AcceptFilter.load(acceptPath: nil, environment: env).get()
        let body = #"{"callback":"${SNYK_CALLBACK}","other":"${SNYK_CALLBACK}","BROKER_VAR_SUB":["callback"],"n":1}"#
        let request = FilterRequest(method: "POST", url: "/scan",
                                    headers: ["x-broker-var-sub": "x-token , x-missing", "x-token": "Bearer ${TOKEN_X}", "x-other": "${TOKEN_X}"],
                                    body: Array(body.utf8))
        guard case .allowed(let origin, let out) = filter.decide(request, direction: .privateRules) else {
            return XCTFail("POST /scan blocked")
        }
        XCTAssertEqual(origin, Self.agent)
        // Only the listed path is filled, the key is removed, the rest keeps its order.
        XCTAssertEqual(String(decoding: out.body, as: UTF8.self),
                       #"{"callback":"https://api.snyk.io/v2/import/done","other":"${SNYK_CALLBACK}","n":1}"#)
        XCTAssertEqual(out.headers["x-token"], "Bearer tok")
        XCTAssertEqual(out.headers["x-other"], "${TOKEN_X}", "a header not listed is left alone")
        XCTAssertEqual(out.headers["x-broker-var-sub"], "x-token , x-missing", "the list header stays, as in snyk")

        // Going up (public), nothing is substituted: snyk substitutes on 'downstream' requests only.
        let up = FilterRequest(method: "POST", url: "/api/v2/import/done", headers: request.headers, body: request.body)
        guard case .allowed(nil, let same) = filter.decide(up, direction: .publicRules) else { return XCTFail("callback blocked") }
        XCTAssertEqual(same.body, request.body)
        XCTAssertEqual(same.headers["x-token"], "Bearer ${TOKEN_X}")
    }

    func testTheOriginIsEmptyWhenItsVariableIsUnsetAndThenTheRequestIsRefused() throws {
        let filter = try AcceptFilter.load(acceptPath: nil, environment: [:]).get()
        guard case .blocked(let reason) = filter.decide(FilterRequest(method: "GET", url: "/list"), direction: .privateRules) else {
            return XCTFail("allowed with no CR_AGENT_URL")
        }
        XCTAssertTrue(reason.contains("${CR_AGENT_URL}"), reason)
    }

    func testTheShippedFilterIsSnyksFileVerbatim() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try Data(contentsOf: root.appendingPathComponent("deploy/filters/container-registry-agent.json"))
        XCTAssertEqual(try JSON.parse(Array(file)), try JSON.parse(DefaultFilters.containerRegistryAgentJSON))
        let rules = try DefaultFilters.containerRegistryAgent().get()
        XCTAssertEqual(rules.publicRules.count, 8)
        XCTAssertEqual(rules.privateRules.count, 10)
        XCTAssertEqual(rules.privateRules.map { "\($0.method) \($0.path.path)" },
                       ["get /healthcheck", "get /validate-credentials", "get /get-state-identifier", "get /list", "get /list/*",
                        "get /list-paginated/*", "get /list-with-metadata/*", "post /discover", "post /scan", "get /image-metadata/*"])
        XCTAssertTrue(rules.privateRules.allSatisfy { $0.origin == "${CR_AGENT_URL}" })
        XCTAssertTrue(rules.publicRules.allSatisfy { $0.origin == nil && $0.method == "post" })
    }

    func testTheBlockedBodyIsSnyks() {
        let body = AcceptFilter.blockedBody(reason: "no private accept rule matches GET /x", url: "/x?a=\"1\"")
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       #"{"code":"FILTER_BLOCKED","message":"blocked","reason":"no private accept rule matches GET /x","url":"/x?a=\"1\""}"#)
        XCTAssertEqual(AcceptFilter.blockedStatus, 401)
    }
}
