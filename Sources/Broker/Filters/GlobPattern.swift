// A query-parameter glob of a filter's `valid` entry, with minimatch 3's meaning under `{dot: true}` (what
// snyk/broker passes), segment by segment as minimatch's matchOne works:
// - braces `{a,b}` are expanded first (at most `maxExpansions` patterns); a leading `!` negates; a leading
//   `#` is a comment that matches nothing;
// - pattern and value are split on runs of `/`; `**` as a whole segment takes any number of segments but
//   never a `.` or `..` one (so `**/package.json` does not match `../../etc/package.json`);
// - other segments: `*` any run, `?` one character, `[...]`/`[!...]` a class, `\x` a literal; a segment that
//   starts with a wildcard or class never matches `.` or `..`;
// - a value with one trailing `/` more than the pattern still matches.
// Each segment is a BoundedRegex, and the segment walk is memoised: work is bounded by pattern × value.

public struct GlobPattern: Sendable {
    public static let maxExpansions = 64

    public let glob: String
    private let negated: Bool
    private let comment: Bool
    private let alternatives: [[Segment]]

    enum Segment: Sendable {
        case globstar
        case literal(String)
        case wildcard(BoundedRegex)   // starts with a wildcard or class: `.` and `..` never match
        case pattern(BoundedRegex)
    }

    public init(_ glob: String) throws(RegexCompileError) {
        self.glob = glob
        var body = Substring(glob)
        var negate = false
        while body.first == "!" { negate.toggle(); body.removeFirst() }
        negated = negate
        comment = glob.hasPrefix("#")
        var alternatives: [[Segment]] = []
        for expanded in Self.expandBraces(String(body), budget: Self.maxExpansions) {
            var segments: [Segment] = []
            for part in Self.split(expanded) {
                if part == "**" { segments.append(.globstar); continue }
                let (source, magic, leadingWildcard) = Self.translate(part)
                if !magic { segments.append(.literal(Self.unescape(part))); continue }
                let re = try BoundedRegex("^" + source + "$")
                segments.append(leadingWildcard ? .wildcard(re) : .pattern(re))
            }
            alternatives.append(segments)
        }
        self.alternatives = alternatives
    }

    public func matches(_ value: String) -> Bool {
        if comment { return false }
        let file = Self.split(value)
        let hit = alternatives.contains { Self.match(file, $0) }
        return hit != negated
    }

    /// minimatch's split: runs of slashes are one separator; a leading or trailing one leaves an empty segment.
    static func split(_ s: String) -> [String] {
        var out: [String] = []
        var current = ""
        var lastWasSlash = false
        for c in s {
            if c == "/" {
                if !lastWasSlash { out.append(current); current = "" }
                lastWasSlash = true
            } else {
                current.append(c)
                lastWasSlash = false
            }
        }
        out.append(current)
        return out
    }

    private static func match(_ file: [String], _ pattern: [Segment]) -> Bool {
        // memo[pi][fi]: nil unknown; the walk visits each pair at most once.
        var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: file.count + 1), count: pattern.count + 1)
        func go(_ pi: Int, _ fi: Int) -> Bool {
            if let known = memo[pi][fi] { return known }
            let result: Bool
            if pi == pattern.count {
                result = fi == file.count || (fi == file.count - 1 && file[fi].isEmpty)
            } else if case .globstar = pattern[pi] {
                var r = go(pi + 1, fi)
                var k = fi
                while !r && k < file.count && file[k] != "." && file[k] != ".." {
                    k += 1
                    r = go(pi + 1, k)
                }
                result = r
            } else if fi == file.count {
                result = false
            } else {
                let f = file[fi]
                let hit: Bool
                switch pattern[pi] {
                case .literal(let s): hit = f == s
                case .wildcard(let re): hit = f != "." && f != ".." && re.test(f)
                case .pattern(let re): hit = re.test(f)
                case .globstar: hit = false
                }
                result = hit && go(pi + 1, fi + 1)
            }
            memo[pi][fi] = result
            return result
        }
        return go(0, 0)
    }

    /// One segment as a regex body; whether it has any magic; whether it starts with a wildcard or class.
    private static func translate(_ segment: String) -> (String, Bool, Bool) {
        let c = Array(segment)
        var out = ""
        var magic = false
        var leading = false
        var i = 0
        while i < c.count {
            let ch = c[i]
            switch ch {
            case "*":
                while i + 1 < c.count && c[i + 1] == "*" { i += 1 }
                if out.isEmpty { leading = true }
                out += "[^/]*"
                magic = true
            case "?":
                if out.isEmpty { leading = true }
                out += "[^/]"
                magic = true
            case "[":
                // A `]` right after `[` (or `[!`) is a member, not the end, as in minimatch.
                let first = i + 1 < c.count && (c[i + 1] == "!" || c[i + 1] == "^") ? i + 2 : i + 1
                if let end = c[min(first + 1, c.count)...].firstIndex(of: "]") {
                    var body = String(c[(i + 1)..<end])
                    var negate = false
                    if body.hasPrefix("!") || body.hasPrefix("^") { negate = true; body.removeFirst() }
                    let escaped = body.map { "\\[]/".contains($0) ? "\\" + String($0) : String($0) }.joined()
                    if out.isEmpty { leading = true }
                    out += negate ? "[^/" + escaped + "]" : "[" + escaped + "]"
                    magic = true
                    i = end
                } else {
                    out += "\\["
                }
            case "\\" where i + 1 < c.count:
                i += 1
                out += PathPattern.escapeString(String(c[i]))
            default:
                out += PathPattern.escapeString(String(ch))
            }
            i += 1
        }
        return (out, magic, leading)
    }

    private static func unescape(_ s: String) -> String {
        var out = ""
        var escaping = false
        for ch in s {
            if ch == "\\" && !escaping { escaping = true; continue }
            out.append(ch)
            escaping = false
        }
        return out
    }

    /// Brace expansion (`a{b,c}d` → `abd`, `acd`; nested braces too); a brace without a top-level comma or
    /// without its `}` stays literal. At most `budget` results, the rest dropped.
    static func expandBraces(_ s: String, budget: Int) -> [String] {
        let c = Array(s)
        var i = 0
        while i < c.count {
            if c[i] == "\\" { i += 2; continue }
            if c[i] == "{" {
                var depth = 0
                var commas: [Int] = []
                var j = i
                var close: Int?
                while j < c.count {
                    if c[j] == "\\" { j += 2; continue }
                    if c[j] == "{" { depth += 1 }
                    if c[j] == "}" { depth -= 1; if depth == 0 { close = j; break } }
                    if c[j] == "," && depth == 1 { commas.append(j) }
                    j += 1
                }
                if let close, !commas.isEmpty {
                    let prefix = String(c[..<i]), suffix = String(c[(close + 1)...])
                    let bounds = [i] + commas + [close]
                    var out: [String] = []
                    for k in 0..<(bounds.count - 1) {
                        let option = String(c[(bounds[k] + 1)..<bounds[k + 1]])
                        for tail in expandBraces(option + suffix, budget: budget - out.count) {
                            out.append(prefix + tail)
                            if out.count >= budget { return out }
                        }
                    }
                    return out
                }
            }
            i += 1
        }
        return [s]
    }
}
