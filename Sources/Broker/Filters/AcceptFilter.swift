// The accept filter with snyk/broker's semantics (lib/hybrid-sdk/common/filter/filtersAsync.ts): the first
// rule whose method, path and `valid` entries all fit decides; no rule, or a URL not in normal form: blocked.
import Core

public struct AcceptFilter: RequestFilter {
    public let rules: FilterRules
    /// Where `${VAR}` in origins, auth and var-sub come from (the client's environment).
    public let environment: [String: String]
    /// Where `${VAR}` in a request's own headers (`x-broker-var-sub`) and body (`BROKER_VAR_SUB`) come
    /// from: nil for the whole `environment`; the client passes its environment without the secrets
    /// (a caller never has a credential written into its request); on the server, which relays requests
    /// a client wrote, only the variables its operator lists, and when there are none nothing is
    /// substituted (as with snyk's DISABLE_HEADER_VARS_SUBSTITUTION/DISABLE_BODY_VARS_SUBSTITUTION).
    public let requestVariables: [String: String]?

    /// The status and `code` of a blocked answer (snyk's BROKER_ERROR_CODES.FILTER_BLOCKED).
    public static let blockedStatus = 401

    /// Each rule's origin with its `${VAR}`s replaced, by position in its list: the environment and the
    /// rules never change, so this is done once, not on every request.
    private let privateOrigins: [String?]
    private let publicOrigins: [String?]

    public init(rules: FilterRules, environment: [String: String], requestVariables: [String: String]? = nil) {
        self.rules = rules
        self.environment = environment
        self.requestVariables = requestVariables
        privateOrigins = rules.privateRules.map { $0.origin.map { VariableSubstitution.replace($0, from: environment) } }
        publicOrigins = rules.publicRules.map { $0.origin.map { VariableSubstitution.replace($0, from: environment) } }
    }

    /// The default container-registry-agent filter, or the file `acceptPath` when given (the ACCEPT variable).
    public static func load(acceptPath: String?, environment: [String: String],
                            requestVariables: [String: String]? = nil) -> Result<AcceptFilter, FilterLoadError> {
        let rules = acceptPath.map { FilterRules.load(path: $0) } ?? DefaultFilters.containerRegistryAgent()
        return rules.map { AcceptFilter(rules: $0, environment: environment, requestVariables: requestVariables) }
    }

    /// The body of a blocked answer, as snyk's client writes it: `url` is the request's URL with its query.
    public static func blockedBody(reason: String, url: String) -> [UInt8] {
        Array(JSON.object([("code", .string("FILTER_BLOCKED")), ("message", .string("blocked")),
                           ("reason", .string(reason)), ("url", .string(url))]).serialized.utf8)
    }

    public func decide(_ request: FilterRequest, direction: FilterDirection) -> FilterDecision {
        let url = request.url
        // snyk: `path.normalize(req.url) !== req.url` on the whole URL, query and fragment included.
        if !PathNormalisation.isNormal(url) {
            return .blocked(reason: "the URL is not in normal form (it has `..`, `.` or empty segments)")
        }
        let withoutFragment = url.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = withoutFragment.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let query = parts.count > 1 ? String(parts[1]) : ""
        // Ours, stricter than snyk: the path must stay in normal form once percent-decoded, so `%2e%2e` and
        // `%2F%2F` cannot smuggle traversal past the match to an origin that decodes.
        guard let decoded = PercentEncoding.decode(path) else {
            return .blocked(reason: "the path has a malformed percent-encoding")
        }
        if !PathNormalisation.isNormal(decoded) {
            return .blocked(reason: "the path is not in normal form once percent-decoded")
        }
        let list = direction == .privateRules ? rules.privateRules : rules.publicRules
        let method = request.method.lowercased()
        var body: JSON??   // parsed lazily, once: .some(nil) when not JSON
        for (index, rule) in list.enumerated() {
            if rule.method != "any" && rule.method != method { continue }
            if !rule.path.matches(path) { continue }
            switch validity(rule, request, query: query, body: &body) {
            case .fits:
                let origin = (direction == .privateRules ? privateOrigins : publicOrigins)[index]
                return allowed(by: rule, origin: origin, request, direction: direction)
            case .doesNotFit: continue
            case .refuse(let why): return .blocked(reason: why)
            }
        }
        // The path is the caller's: cut so one request cannot make a huge log line (the body's `url` has it whole).
        let shown = path.count > 256 ? String(path.prefix(256)) + "…" : path
        let verb = request.method.count > 32 ? String(request.method.prefix(32)) + "…" : request.method
        return .blocked(reason: "no \(direction.rawValue) accept rule matches \(verb.uppercased()) \(shown)")
    }

    private enum Validity { case fits, doesNotFit, refuse(String) }

    /// snyk's `valid` logic: when body or query entries exist, at least one body entry or all query entries
    /// must hold; every header entry must hold.
    private func validity(_ rule: FilterRule, _ request: FilterRequest, query: String, body: inout JSON??) -> Validity {
        var bodyValues: [(String, String)] = [], bodyRegexes: [(String, BoundedRegex)] = []
        var queries: [(String, [GlobPattern])] = [], headers: [(String, [String])] = []
        for v in rule.valid {
            switch v {
            case .bodyValue(let p, let value): bodyValues.append((p, value))
            case .bodyRegex(let p, let re): bodyRegexes.append((p, re))
            case .queryParam(let n, let g): queries.append((n, g))
            case .header(let n, let values): headers.append((n, values))
            }
        }
        if !bodyValues.isEmpty || !bodyRegexes.isEmpty || !queries.isEmpty {
            var ok = false
            if !bodyValues.isEmpty || !bodyRegexes.isEmpty {
                if body == nil { body = .some(try? JSON.parse(request.body)) }
                let parsed: JSON = (body ?? nil) ?? .object([])
                ok = bodyValues.contains { p, value in
                    var budget = 100_000
                    return JSONPath.values(in: parsed, at: JSONPath.segments(p)[...], limit: &budget)
                        .contains { $0.string == value || (!$0.isNull && $0.string == nil && $0.serialized == value) }
                } || bodyRegexes.contains { p, re in
                    var budget = 100_000
                    let segments = JSONPath.segments(p)
                    let found = JSONPath.values(in: parsed, at: segments[...], limit: &budget)
                    let subject: JSON? = segments.contains("*") ? (found.isEmpty ? nil : .array(found)) : found.first
                    return re.test(JSONPath.javaScriptString(subject))
                }
            }
            if !ok && !queries.isEmpty {
                let params = QueryString.parse(query)
                if let repeated = queries.first(where: { params.repeatedNames.contains($0.0) }) {
                    // qs makes a repeated or bracketed parameter an array/object; minimatch then throws
                    // and snyk blocks the request outright.
                    return .refuse("query parameter \(repeated.0) is given more than once or with brackets")
                }
                ok = queries.allSatisfy { name, globs in
                    let value = params.values[name] ?? ""
                    return globs.contains { $0.matches(value) }
                }
            }
            if !ok { return .doesNotFit }
        }
        for (name, values) in headers {
            let present = request.headers.values(name)
            guard !present.isEmpty else { return .doesNotFit }
            // node joins a repeated header's values with ", ".
            let value = present.joined(separator: ", ")
            if value.isEmpty || !values.contains(value) { return .doesNotFit }
        }
        return .fits
    }

    /// `substituted` is the rule's origin with its variables replaced.
    private func allowed(by rule: FilterRule, origin substituted: String?, _ request: FilterRequest, direction: FilterDirection) -> FilterDecision {
        var out = request
        var origin: String?
        if let written = rule.origin, var o = substituted {
            if o.isEmpty {
                return .blocked(reason: "the matching rule's origin \(written) is empty (its variables are not set)")
            }
            if !o.hasPrefix("http") { o = "https://" + o }   // as snyk's prepareRequest does
            origin = o
        }
        if direction == .privateRules && requestVariables?.isEmpty != true {
            // snyk substitutes only on requests going down to the origin ('downstream').
            let source = requestVariables ?? environment
            out.body = VariableSubstitution.substituteBody(out.body, env: source)
            out.headers = VariableSubstitution.substituteHeaders(out.headers, env: source)
        }
        if let auth = rule.auth { out.headers.set("authorization", authorization(auth)) }
        return .allowed(origin: origin, request: out)
    }

    /// snyk's auth-header.ts.
    func authorization(_ auth: RuleAuth) -> String {
        func r(_ s: String) -> String { VariableSubstitution.replace(s, from: environment) }
        switch auth {
        case .basic(let u, let p): return "Basic " + Base64.encode(Array((r(u) + ":" + r(p)).utf8))
        case .basicToken(let t): return "Basic " + Base64.encode(Array(r(t).utf8))
        case .bearer(let t): return "Bearer " + r(t)
        case .token(let t): return "Token " + r(t)
        case .raw(let t): return r(t)
        }
    }
}

/// The query as `qs.parse` sees it for the `valid` checks: `+` is a space, percent-escapes decoded
/// (a malformed one kept as written, as qs does).
struct QueryString {
    var values: [String: String] = [:]
    var repeatedNames: Set<String> = []

    static let maxParameters = 1000   // qs's parameterLimit

    static func parse(_ query: String) -> QueryString {
        var q = QueryString()
        for (k, part) in query.split(separator: "&", omittingEmptySubsequences: true).enumerated() {
            if k >= maxParameters { break }
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            var name = decode(String(kv[0]))
            let value = kv.count > 1 ? decode(String(kv[1])) : ""
            if let bracket = name.firstIndex(of: "["), bracket != name.startIndex {
                name = String(name[..<bracket])
                q.repeatedNames.insert(name)
            }
            if q.values[name] != nil { q.repeatedNames.insert(name) }
            q.values[name] = value
        }
        return q
    }

    static func decode(_ s: String) -> String {
        let spaced = s.replacingPlus()
        return PercentEncoding.decode(spaced) ?? spaced
    }
}

private extension String {
    func replacingPlus() -> String { String(map { $0 == "+" ? " " : $0 }) }
}
