// The "is this URL in normal form" test of a filter: node's path.posix.normalize, as snyk/broker applies
// it to the whole request URL, plus our stricter check of the percent-decoded path.

enum PathNormalisation {
    /// `nodeNormalize(p) == p`, answered without building the normal form when `p` plainly is one: an
    /// absolute ASCII path with no empty, `.` or `..` segment (the common case, checked on every request
    /// the filter sees). Anything else is normalised and compared.
    static func isNormal(_ p: String) -> Bool {
        isPlainlyNormal(p) || nodeNormalize(p) == p
    }

    private static func isPlainlyNormal(_ p: String) -> Bool {
        var u = p.utf8.makeIterator()
        guard u.next() == 0x2F else { return false }   // "/"
        var segmentLength = 0, dots = 0                 // of the segment being read
        while let c = u.next() {
            if c >= 0x80 { return false }
            if c == 0x2F {
                if segmentLength == 0 || dots == segmentLength { return false }   // "//", "/./", "/../"
                segmentLength = 0; dots = 0
                continue
            }
            segmentLength += 1
            if c == 0x2E { dots += 1 }
        }
        return !(segmentLength > 0 && dots == segmentLength && dots <= 2)    // a last "." or ".." segment
    }

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
