// Custom filter files (the ACCEPT variable): `:name`, `*` in the middle, `${VAR}` origins, `any`, first match
// wins, `valid` entries with snyk's semantics (its test/fixtures/relay.json rules), `auth`, and load errors.
import XCTest
import Foundation
import Core
@testable import BrokerKit

final class FilterCustomTests: XCTestCase {
    func filter(_ json: String, env: [String: String] = [:]) throws -> AcceptFilter {
        AcceptFilter(rules: try FilterRules.parse(Array(json.utf8), source: "test.json").get(), environment: env)
    }

    func allowed(_ f: AcceptFilter, _ method: String, _ url: String, body: String = "", headers: HTTPHeaders = HTTPHeaders(),
                 direction: FilterDirection = .privateRules) -> (origin: String?, request: FilterRequest)? {
        if case .allowed(let o, let r) = f.decide(FilterRequest(method: method, url: url, headers: headers, body: Array(body.utf8)),
                                                  direction: direction) { return (o, r) }
        return nil
    }

    func testPathSyntax() throws {
        let f = try filter(#"""
        {"private": [
          {"method": "GET", "path": "/repos/:owner/:repo", "origin": "https://a"},
          {"method": "GET", "path": "/a/*/c", "origin": "https://b"},
          {"method": "any", "path": "/any/:id?", "origin": "https://c"},
          {"method": "GET", "path": "/files/:name.:ext", "origin": "https://d"},
          {"method": "GET", "path": "/num/:n(\\d+)", "origin": "https://e"},
          {"path": "no-leading-slash", "origin": "https://f"}
        ]}
        """#)
        let rows: [(String, String, String?)] = [
            ("GET", "/repos/snyk/broker", "https://a"),
            ("GET", "/repos/snyk/broker/", "https://a"),
            ("GET", "/Repos/Snyk/Broker", "https://a"),
            ("GET", "/repos/snyk", nil),                   // `:name` is one whole segment
            ("GET", "/repos/snyk/broker/extra", nil),      // … and no more
            ("GET", "/repos/snyk%2Fx/broker", "https://a"),// an encoded slash is inside one segment
            ("GET", "/a/x/c", "https://b"),
            ("GET", "/a/x/y/z/c", "https://b"),            // `*` in the middle spans slashes
            ("GET", "/a/c", nil),                          // `/a/*/c` needs both slashes
            ("GET", "/a/x/d", nil),
            ("DELETE", "/any/7", "https://c"),             // method `any`
            ("PATCH", "/any", "https://c"),                // optional parameter
            ("GET", "/files/report.pdf", "https://d"),
            ("GET", "/files/report", nil),
            ("GET", "/num/42", "https://e"),
            ("GET", "/num/4x", nil),
            ("GET", "/no-leading-slash", "https://f"),    // snyk prefixes `/`; a rule without method is GET
            ("POST", "/no-leading-slash", nil),
        ]
        for (method, url, origin) in rows {
            let got = allowed(f, method, url)
            XCTAssertEqual(got?.origin, origin, "\(method) \(url)")
        }
    }

    func testCompiledFormsAreThoseOfPathToRegexp() throws {
        // REFERENCE §2, checked there by running path-to-regexp 1.9.
        XCTAssertEqual(try PathPattern("/list").regexSource, #"^\/list(?:\/(?=$))?$"#)
        XCTAssertEqual(try PathPattern("/list/*").regexSource, #"^\/list\/((?:.*))(?:\/(?=$))?$"#)
        XCTAssertEqual(try PathPattern("/").regexSource, #"^(?:\/(?=$))?$"#)
        XCTAssertEqual(try PathPattern("/repos/:owner/:repo").regexSource, #"^\/repos\/((?:[^\/]+?))\/((?:[^\/]+?))(?:\/(?=$))?$"#)
        XCTAssertEqual(try PathPattern("/a/:b?").regexSource, #"^\/a(?:\/((?:[^\/]+?)))?(?:\/(?=$))?$"#)
    }

    func testFirstMatchWinsAndOriginsComeFromTheEnvironment() throws {
        let f = try filter(#"""
        {"private": [
          {"method": "GET", "path": "/x/*", "origin": "${SCHEME}://${HOST}:${PORT}/base"},
          {"method": "GET", "path": "/x/y", "origin": "https://never"},
          {"method": "GET", "path": "/bare", "origin": "${HOST}"},
          {"method": "GET", "path": "/unset", "origin": "${NOT_SET}"}
        ]}
        """#, env: ["SCHEME": "http", "HOST": "files.internal", "PORT": "8080"])
        XCTAssertEqual(allowed(f, "GET", "/x/y")?.origin, "http://files.internal:8080/base")
        XCTAssertEqual(allowed(f, "GET", "/bare")?.origin, "https://files.internal", "no scheme: https, as snyk's prepareRequest")
        guard case .blocked(let reason) = f.decide(FilterRequest(method: "GET", url: "/unset"), direction: .privateRules) else {
            return XCTFail("an origin that resolves to nothing must not be used")
        }
        XCTAssertTrue(reason.contains("${NOT_SET}"))
    }

    // snyk/broker test/fixtures/relay.json and the expectations of test/unit/filters-and-interpolates.test.ts
    // ("on body", "on querystring", "on query and body", "on headers", "with auth").
    static let relay = #"""
    {"private": [
      {"method": "POST", "path": "/", "origin": "https://o", "valid": [
        {"path": "commits.*.added.*", "value": "package.json"}, {"path": "commits.*.modified.*", "value": "package.json"},
        {"path": "commits.*.added.*", "value": ".snyk"}, {"path": "commits.*.modified.*", "value": ".snyk"}]},
      {"method": "GET", "path": "/filtered-on-query", "origin": "https://o", "valid": [
        {"queryParam": "filePath", "values": ["**/package.json", "**/yarn.lock"]}]},
      {"method": "GET", "path": "/filtered-on-multiple-queries", "origin": "https://o", "valid": [
        {"queryParam": "filePath", "values": ["**/package.json", "**/yarn.lock"]}, {"queryParam": "download", "values": ["true"]}]},
      {"method": "GET", "path": "/filtered-on-query-with-dot", "origin": "https://o", "valid": [
        {"queryParam": "filePath", "values": ["**/*Dockerfile"]}]},
      {"method": "POST", "path": "/filtered-on-query-and-body", "origin": "https://o", "valid": [
        {"queryParam": "filePath", "values": ["**/package.json", "**/yarn.lock"]},
        {"path": "commits.*.added.*", "value": "package.json"}, {"path": "commits.*.modified.*", "value": ".snyk"}]},
      {"method": "POST", "path": "/graphql", "origin": "https://o", "valid": [
        {"path": "query", "regex": "mutation\\s*{\\s*resolveReviewThread\\(input:\\s*{\\s*threadId:\\s*\"[a-zA-Z0-9-_.]+\"\\s*}\\)\\s*{.*"}]},
      {"method": "GET", "path": "/basic-auth", "origin": "https://o", "auth": {"scheme": "basic", "username": "user", "password": "${PASS}"}},
      {"method": "GET", "path": "/token-auth", "origin": "https://o", "auth": {"scheme": "token", "token": "1234"}},
      {"method": "GET", "path": "/accept-header", "origin": "https://o", "valid": [{"header": "accept", "values": ["allowed.header"]}]}
    ]}
    """#

    func testValidEntries() throws {
        let f = try filter(Self.relay, env: ["PASS": "pass"])
        // body: some entry holds
        XCTAssertNotNil(allowed(f, "POST", "/", body: #"{"commits":[{"modified":["package.json","file1.txt"]}]}"#))
        XCTAssertNotNil(allowed(f, "POST", "/", body: #"{"commits":[{"modified":["file2.txt"]},{"modified":[".snyk","file1.txt"]}]}"#))
        XCTAssertNil(allowed(f, "POST", "/", body: #"{"commits":[{"modified":["file2.txt"]},{"modified":["file3.txt","file1.txt"]}]}"#))
        XCTAssertNil(allowed(f, "POST", "/", body: #"{"commits":[]}"#))
        XCTAssertNil(allowed(f, "POST", "/", body: "not json"))
        // query: globs with minimatch {dot: true}
        XCTAssertNotNil(allowed(f, "GET", "/filtered-on-query?filePath=yarn.lock"))
        XCTAssertNotNil(allowed(f, "GET", "/filtered-on-query?filePath=/path/to/package.json"))
        XCTAssertNotNil(allowed(f, "GET", "/filtered-on-query?filePath=.hidden/package.json"))
        XCTAssertNotNil(allowed(f, "GET", "/filtered-on-query?filePath=path%2Fto%2Fpackage.json"), "qs decodes the value")
        XCTAssertNotNil(allowed(f, "GET", "/filtered-on-query-with-dot?filePath=.Dockerfile"))
        XCTAssertNil(allowed(f, "GET", "/filtered-on-query?filePath=/etc/passwd"))
        XCTAssertNil(allowed(f, "GET", "/filtered-on-query"), "a missing parameter is ''")
        XCTAssertNil(allowed(f, "GET", "/filtered-on-query?filePath=package.json&filePath=x"), "a repeated parameter blocks, as qs+minimatch throw")
        XCTAssertNotNil(allowed(f, "GET", "/filtered-on-multiple-queries?filePath=package.json&download=true"))
        XCTAssertNil(allowed(f, "GET", "/filtered-on-multiple-queries?filePath=package.json&download=false"), "every query entry must hold")
        XCTAssertNil(allowed(f, "GET", "/filtered-on-multiple-queries?filePath=package.json"))
        // query or body
        XCTAssertNotNil(allowed(f, "POST", "/filtered-on-query-and-body?filePath=package.json"))
        XCTAssertNotNil(allowed(f, "POST", "/filtered-on-query-and-body", body: #"{"commits":[{"added":["package.json"]}]}"#))
        XCTAssertNil(allowed(f, "POST", "/filtered-on-query-and-body?filePath=x", body: #"{"commits":[{"added":["x"]}]}"#))
        // regex on a body field
        XCTAssertNotNil(allowed(f, "POST", "/graphql", body: #"{"query":"mutation { resolveReviewThread(input: { threadId: \"abc-1\" }) { x } }"}"#))
        XCTAssertNil(allowed(f, "POST", "/graphql", body: #"{"query":"query { viewer { login } }"}"#))
        // headers
        XCTAssertNotNil(allowed(f, "GET", "/accept-header", headers: ["Accept": "allowed.header"]))
        XCTAssertNil(allowed(f, "GET", "/accept-header", headers: ["accept": "other"]))
        XCTAssertNil(allowed(f, "GET", "/accept-header"))
        // auth sets the authorization header
        XCTAssertEqual(allowed(f, "GET", "/basic-auth", headers: ["authorization": "caller's"])?.request.headers["authorization"],
                       "Basic " + Base64.encode(Array("user:pass".utf8)))
        XCTAssertEqual(allowed(f, "GET", "/token-auth")?.request.headers["authorization"], "Token 1234")
    }

    /// minimatch 3 with `{dot: true}` (its README and matchOne): rows whose answers follow from its rules.
    func testGlobsAsMinimatch() throws {
        let rows: [(String, String, Bool)] = [
            ("**/package.json", "package.json", true),
            ("**/package.json", "a/b/package.json", true),
            ("**/package.json", "/path/to/package.json", true),
            ("**/package.json", ".hidden/package.json", true),        // dot: true
            ("**/package.json", "a//b/package.json", true),           // runs of slashes are one
            ("**/package.json", "a/package.json/", true),             // one trailing slash
            ("**/package.json", "../package.json", false),            // `**` never takes `..`
            ("**/package.json", "a/../../package.json", false),
            ("**/package.json", "./package.json", false),             // … nor `.`
            ("**/package.json", "xpackage.json", false),
            ("*.json", "a.json", true),
            ("*.json", ".json", true),
            ("*.json", "a/b.json", false),                           // `*` stays in its segment
            ("*", "..", false),                                       // a leading wildcard never matches `.`/`..`
            ("*", ".", false),
            ("*", ".x", true),
            ("?", "a", true),
            ("?", "ab", false),
            ("{a,b}/*.txt", "a/x.txt", true),
            ("{a,b}/*.txt", "b/x.txt", true),
            ("{a,b}/*.txt", "c/x.txt", false),
            ("x{1,{2,3}}", "x3", true),
            ("!*.lock", "yarn.lock", false),
            ("!*.lock", "package.json", true),
            ("#comment", "#comment", false),
            ("[!a]*", "b1", true),
            ("[!a]*", "a1", false),
            ("[]x]", "]", true),
            ("**", "a/b/c", true),
            ("**", "a/../b", false),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "a/../b", false),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
        ]
        for (glob, value, expected) in rows {
            XCTAssertEqual(try GlobPattern(glob).matches(value), expected, "\(glob) on \(value)")
        }
        let f = try filter(Self.relay)
        XCTAssertNil(allowed(f, "GET", "/filtered-on-query?filePath=../../etc/package.json"), "traversal in a glob-checked parameter")
        XCTAssertNil(allowed(f, "GET", "/filtered-on-query?filePath=..%2F..%2Fpackage.json"), "… also percent-encoded")
        // Brace expansion is bounded: 2^20 alternatives are cut at GlobPattern.maxExpansions.
        let wide = try GlobPattern(String(repeating: "{a,b}", count: 20))
        XCTAssertTrue(wide.matches(String(repeating: "a", count: 20)))
    }

    func testAHostileRegexAndAHostilePathCostLinearWork() throws {
        // A backtracking engine takes exponential time on these; the Pike simulation is linear in the input.
        let f = try filter(#"""
        {"private": [
          {"method": "POST", "path": "/r", "origin": "https://o", "valid": [{"path": "q", "regex": "^(a+)+$"}]},
          {"method": "GET", "path": "/p/:a/:b/:c/:d/*/:e/x", "origin": "https://o"}
        ]}
        """#)
        let evil = String(repeating: "a", count: 30_000) + "b"
        XCTAssertNil(allowed(f, "POST", "/r", body: #"{"q":""# + evil + #""}"#))
        XCTAssertNotNil(allowed(f, "POST", "/r", body: #"{"q":""# + String(repeating: "a", count: 30_000) + #""}"#))
        XCTAssertNil(allowed(f, "GET", "/p" + String(repeating: "/a", count: 20_000) + "/y"))
        let re = try BoundedRegex("(x+x+)+y")
        XCTAssertFalse(re.test(String(repeating: "x", count: 50_000)))
    }

    func testLoadErrorsNameTheFileTheRuleAndTheProblem() {
        let cases: [(String, String)] = [
            ("not json", "not JSON"),
            ("[]", "expected an object"),
            (#"{"rules": []}"#, "neither"),
            (#"{"private": {}}"#, "\"private\" must be an array"),
            (#"{"private": [1]}"#, "private[0]: a rule must be an object"),
            (#"{"public": [{"path": 3}]}"#, "public[0]: \"path\" must be a string"),
            (#"{"private": [{"path": "/ok"}, {"method": "GET", "path": "/x/:id([)"}]}"#, "private[1]: \"path\""),
            (#"{"private": [{"path": "/x", "auth": {"scheme": "digest"}}]}"#, "auth.scheme"),
            (#"{"private": [{"path": "/x", "valid": [{"path": "a"}]}]}"#, "neither \"value\" nor \"regex\""),
            (#"{"private": [{"path": "/x", "valid": [{"path": "a", "regex": "(?<=x)y"}]}]}"#, "valid[0].regex"),
            (#"{"private": [{"path": "/x", "valid": [{"queryParam": "a", "values": "x"}]}]}"#, "valid[0].values"),
            (#"{"private": [{"path": "/x", "valid": [{"unknown": 1}]}]}"#, "valid[0] needs"),
            (#"{"private": [{"method": "G E T", "path": "/x"}]}"#, "\"method\""),
        ]
        for (text, expected) in cases {
            guard case .failure(let e) = FilterRules.parse(Array(text.utf8), source: "/etc/broker/accept.json") else {
                XCTFail("accepted \(text)"); continue
            }
            XCTAssertTrue(e.description.hasPrefix("accept filter /etc/broker/accept.json: "), e.description)
            XCTAssertTrue(e.description.contains(expected), "\(e.description) lacks \(expected)")
        }
        guard case .failure(let missing) = FilterRules.load(path: "/nonexistent/filter.json") else { return XCTFail("loaded nothing") }
        XCTAssertTrue(missing.description.contains("/nonexistent/filter.json"))
    }
}
