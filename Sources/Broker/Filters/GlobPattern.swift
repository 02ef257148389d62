// A query-parameter glob of a filter's `valid` entry, with minimatch's meaning under `{dot: true}` (what
// snyk/broker passes): `**` as a whole segment spans any number of segments, `*` any run within a segment,
// `?` one character, `[...]` a class (`[!...]` negated), `{a,b}` alternatives; compiled to BoundedRegex.

public struct GlobPattern: Sendable {
    public let glob: String
    private let regex: BoundedRegex

    public init(_ glob: String) throws(RegexCompileError) {
        self.glob = glob
        regex = try BoundedRegex(Self.regexSource(glob))
    }

    public func matches(_ value: String) -> Bool { regex.test(value) }

    static func regexSource(_ glob: String) -> String {
        let segments = glob.split(separator: "/", omittingEmptySubsequences: false)
        var out = "^"
        for (k, segment) in segments.enumerated() {
            let last = k == segments.count - 1
            if segment == "**" {
                // Zero or more whole segments; as the last segment, anything at all.
                out += last ? ".*" : "(?:[^/]*/)*"
                continue
            }
            out += translate(segment)
            if !last { out += "/" }
        }
        return out + "$"
    }

    /// One segment: wildcards become classes that never cross `/`, everything else a literal.
    private static func translate(_ segment: Substring) -> String {
        let c = Array(segment)
        var out = ""
        var i = 0
        var braceDepth = 0
        while i < c.count {
            let ch = c[i]
            switch ch {
            case "*":
                while i + 1 < c.count && c[i + 1] == "*" { i += 1 }
                out += "[^/]*"
            case "?": out += "[^/]"
            case "[":
                if let end = c[(i + 1)...].firstIndex(of: "]"), end > i + 1 {
                    var body = String(c[(i + 1)..<end])
                    var negated = false
                    if body.hasPrefix("!") || body.hasPrefix("^") { negated = true; body.removeFirst() }
                    let escaped = body.map { $0 == "\\" || $0 == "[" || $0 == "/" ? "\\" + String($0) : String($0) }.joined()
                    out += negated ? "[^/" + escaped + "]" : "[" + escaped + "]"
                    i = end
                } else {
                    out += "\\["
                }
            case "{" where c[(i + 1)...].contains("}"):
                braceDepth += 1
                out += "(?:"
            case "," where braceDepth > 0: out += "|"
            case "}" where braceDepth > 0:
                braceDepth -= 1
                out += ")"
            case "\\" where i + 1 < c.count:
                i += 1
                out += PathPattern.escapeString(String(c[i]))
            default:
                out += PathPattern.escapeString(String(ch))
            }
            i += 1
        }
        // An unclosed brace is literal in minimatch; close ours so the expression stays well-formed.
        out += String(repeating: ")", count: braceDepth)
        return out
    }
}
