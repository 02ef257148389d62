// Fuzz target `accept-filter`: a random filter file (or the default filter when it does not load), random
// requests, random path patterns and regexes. Nothing traps or hangs (the regex engine's work is linear),
// and a URL a filter without query checks blocks stays blocked whatever query or fragment is added.
//
// Input: filter JSON, a 0x00 byte, then request lines `METHOD URL` (one per line, the first line may be a
// body for POSTs), a 0x00 byte, then a pattern and a subject for BoundedRegex and PathPattern.
import BrokerKit
import Core

enum AcceptFilterFuzz {
    static let env = ["CR_AGENT_URL": "http://agent:17500", "HOST": "h.internal", "V": "${V}"]
    /// Loaded once: compiling it on every input would be most of each run's work.
    static let defaultFilter = try? AcceptFilter.load(acceptPath: nil, environment: env).get()
    static let queries = ["?a=1", "?", "?x=/y", "#frag", "?q=%2e%2e", "?list=/list&b"]

    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let parts = Array(data).split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map(Array.init)
        var filters: [AcceptFilter] = []
        if case .success(let rules) = FilterRules.parse(parts[0], source: "fuzz") { filters.append(AcceptFilter(rules: rules, environment: env)) }
        guard let defaultFilter else { fuzzFail("the default filter did not load") }
        filters.append(defaultFilter)

        let lines = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self).split(separator: "\n").prefix(16) : []
        let body = Array((lines.first ?? "").utf8)
        for line in lines {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2 else { continue }
            let request = FilterRequest(method: String(fields[0]), url: String(fields[1]),
                                        headers: ["x-broker-var-sub": "x-a", "x-a": "${HOST}"], body: body)
            for filter in filters {
                for direction in [FilterDirection.privateRules, .publicRules] {
                    if case .allowed(let origin, let out) = filter.decide(request, direction: direction), let origin {
                        fuzzCheck(origin.hasPrefix("http"), "origin without a scheme: \(origin)")
                        _ = out
                    }
                    let hasQueryRules = (direction == .privateRules ? filter.rules.privateRules : filter.rules.publicRules)
                        .contains { $0.valid.contains { if case .queryParam = $0 { return true }; return false } }
                    let base = String(request.url.prefix { $0 != "?" && $0 != "#" })
                    guard !hasQueryRules,
                          case .blocked = filter.decide(FilterRequest(method: request.method, url: base, headers: request.headers, body: body),
                                                        direction: direction) else { continue }
                    for q in queries {
                        let longer = FilterRequest(method: request.method, url: base + q, headers: request.headers, body: body)
                        if case .allowed = filter.decide(longer, direction: direction) {
                            fuzzFail("\(request.method) \(base) is blocked but \(base + q) is allowed")
                        }
                    }
                }
            }
        }

        if parts.count > 2 {
            let text = String(decoding: parts[2], as: UTF8.self)
            let pieces = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let subject = pieces.count > 1 ? String(pieces[1]) : text
            if let re = try? BoundedRegex(String(pieces[0]), caseInsensitive: true) { _ = re.test(subject) }
            if let p = try? PathPattern(String(pieces[0])) { _ = p.matches(subject) }
            if let g = try? GlobPattern(String(pieces[0])) { _ = g.matches(subject) }
        }
    }
}
