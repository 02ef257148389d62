// The `Link: <...>; rel="next"` of paged listings, resolved against the request URL on the same origin.
import Core

enum LinkHeader {
    /// The target of the first link with rel="next" among the field values, as written.
    static func next(_ fields: [String]) -> String? {
        for field in fields {
            for link in splitLinks(field) {
                guard let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"), open < close else { continue }
                let target = String(link[link.index(after: open)..<close])
                let params = link[link.index(after: close)...].split(separator: ";")
                for p in params {
                    let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmed(" \t\"") }
                    if kv.count == 2, kv[0].lowercased() == "rel", kv[1].split(separator: " ").contains(where: { $0.lowercased() == "next" }) {
                        return target
                    }
                }
            }
        }
        return nil
    }

    /// Splits on commas outside `<...>` and quotes.
    private static func splitLinks(_ field: String) -> [Substring] {
        var out: [Substring] = []
        var inAngle = false, inQuote = false
        var start = field.startIndex
        var i = field.startIndex
        while i < field.endIndex {
            let c = field[i]
            if c == "<" && !inQuote { inAngle = true }
            else if c == ">" && !inQuote { inAngle = false }
            else if c == "\"" && !inAngle { inQuote.toggle() }
            else if c == "," && !inAngle && !inQuote { out.append(field[start..<i]); start = field.index(after: i) }
            i = field.index(after: i)
        }
        out.append(field[start...])
        return out
    }

    /// Resolves a link target against the URL of the request that returned it. Relative targets keep
    /// the request's origin; an absolute target on another origin is refused (nil).
    static func resolve(_ target: String, against requestURL: String) -> String? {
        let origin = URLParts.origin(requestURL)
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            return URLParts.origin(target)?.lowercased() == origin?.lowercased() ? target : nil
        }
        guard let origin else { return nil }
        if target.hasPrefix("//") { return nil }
        if target.hasPrefix("/") { return origin + target }
        // Relative to the request path's directory.
        let path = URLParts.path(requestURL)
        let dir = path.hasSuffix("/") ? path : String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) + "/"
        return origin + dir + target
    }
}

/// Minimal pieces of absolute http(s) URLs.
enum URLParts {
    /// `scheme://authority`
    static func origin(_ url: String) -> String? {
        guard let r = url.range(of: "://") else { return nil }
        let rest = url[r.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        return String(url[..<end])
    }

    /// The path (without query), "/" when empty.
    static func path(_ url: String) -> String {
        guard let o = origin(url) else { return "/" }
        var rest = url.dropFirst(o.count)
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<q] }
        return rest.isEmpty ? "/" : String(rest)
    }

    /// The host of an absolute URL, without port or brackets, lower-cased.
    static func host(_ url: String) -> String? {
        guard let o = origin(url), let r = o.range(of: "://") else { return nil }
        var auth = o[r.upperBound...]
        if let at = auth.lastIndex(of: "@") { auth = auth[auth.index(after: at)...] }
        if auth.hasPrefix("[") , let close = auth.firstIndex(of: "]") { return String(auth[auth.index(after: auth.startIndex)..<close]).lowercased() }
        if let colon = auth.lastIndex(of: ":") { auth = auth[..<colon] }
        return auth.lowercased()
    }
}
