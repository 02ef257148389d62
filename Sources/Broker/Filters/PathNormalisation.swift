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

    /// Percent-decoding of a path as bytes (`%2F` → `/`, `%2e` → `.`); nil when a `%` is not followed by
    /// two hex digits or the result is not UTF-8, so such a path can be refused rather than guessed at.
    static func percentDecoded(_ s: String) -> String? {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "%") {
                guard i + 2 < u.count, let h = hex(u[i + 1]), let l = hex(u[i + 2]) else { return nil }
                bytes.append(h << 4 | l)
                i += 3
            } else {
                bytes.append(u[i])
                i += 1
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
