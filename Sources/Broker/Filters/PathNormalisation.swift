// The "is this URL in normal form" test of a filter: node's path.posix.normalize, as snyk/broker applies
// it to the whole request URL, plus our stricter check of the percent-decoded path.

enum PathNormalisation {
    /// node's `path.posix.normalize(p)` (lib/path.js): drops empty and `.` segments, resolves `..`
    /// (never above the root of an absolute path), keeps one trailing slash, `''` → `.`.
    static func nodeNormalize(_ p: String) -> String {
        if p.isEmpty { return "." }
        let absolute = p.hasPrefix("/")
        let trailing = p.hasSuffix("/")
        var out: [Substring] = []
        for segment in p.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if let last = out.last, last != ".." { out.removeLast() }
                else if !absolute { out.append(segment) }
                continue
            }
            out.append(segment)
        }
        var joined = out.joined(separator: "/")
        if joined.isEmpty && !absolute { joined = "." }
        if !joined.isEmpty && trailing { joined += "/" }
        return absolute ? "/" + joined : joined
    }
}
