// A filter rule's `path`, compiled exactly as path-to-regexp 1.x compiles it (the version snyk/broker
// pins), then run by BoundedRegex: case-insensitive, optional trailing slash, anchored at both ends.
//
// path-to-regexp 1.x in short (its index.js, `parse` and `tokensToRegExp`): `\x` is a literal x; an
// optional prefix `/` or `.` followed by `:name`, `:name(re)` or `(re)` with an optional modifier `? * +`,
// or by `*`, is a parameter; `*` is `.*` (spans slashes); `:name` is one segment `[^\/]+?`. Not strict:
// the route loses one trailing `/` and gains `(?:\/(?=$))?`; `end`: `$`.

public struct PathPattern: Sendable {
    public let path: String
    /// The regular expression path-to-regexp would build (without its `i` flag), e.g. `^\/list(?:\/(?=$))?$`.
    public let regexSource: String
    private let regex: BoundedRegex
    /// The ASCII text every match starts with, lower-cased: most rules fail on it without running the regex.
    private let literalPrefix: [UInt8]
    /// True when the pattern is that text alone (no parameter, no `*`): then an ASCII path matches when it
    /// is the text, or the text and one `/`, in any case, which is what the regex would find, without running it.
    private let isLiteral: Bool

    public init(_ path: String) throws(RegexCompileError) {
        self.path = path
        regexSource = Self.compile(path)
        regex = try BoundedRegex(regexSource, caseInsensitive: true)
        let tokens = Self.tokens(path)
        if case .text(var first)? = tokens.first, first.utf8.allSatisfy({ $0 < 0x80 }) {
            if tokens.count == 1 && first.hasSuffix("/") { first.removeLast() }   // not strict: the last `/` is optional
            literalPrefix = Array(first.lowercased().utf8)
            isLiteral = tokens.count == 1 && !literalPrefix.isEmpty
        } else {
            literalPrefix = []
            isLiteral = false
        }
    }

    public func matches(_ path: String) -> Bool {
        var u = path.utf8.makeIterator()
        for expected in literalPrefix {
            guard var c = u.next() else { return false }
            if c >= 0x41 && c <= 0x5A { c += 32 }
            if c != expected { return false }
        }
        if isLiteral, path.utf8.allSatisfy({ $0 < 0x80 }) {
            let rest = path.utf8.count - literalPrefix.count
            return rest == 0 || (rest == 1 && path.utf8.last == 0x2F)
        }
        return regex.test(path)
    }

    private struct Parameter {
        var prefix: String
        var delimiter: String
        var optional: Bool
        var repeats: Bool
        var partial: Bool
        var pattern: String
    }

    private enum Token {
        case text(String)
        case parameter(Parameter)
    }

    static func compile(_ path: String) -> String {
        var route = ""
        for token in tokens(path) {
            switch token {
            case .text(let s): route += escapeString(s)
            case .parameter(let p):
                let prefix = escapeString(p.prefix)
                var capture = "(?:" + p.pattern + ")"
                if p.repeats { capture += "(?:" + prefix + capture + ")*" }
                if p.optional {
                    capture = p.partial ? prefix + "(" + capture + ")?" : "(?:" + prefix + "(" + capture + "))?"
                } else {
                    capture = prefix + "(" + capture + ")"
                }
                route += capture
            }
        }
        let delimiter = "\\/"
        if route.hasSuffix(delimiter) { route.removeLast(delimiter.count) }
        return "^" + route + "(?:" + delimiter + "(?=$))?" + "$"
    }

    private static func tokens(_ str: String) -> [Token] {
        let s = Array(str)
        var tokens: [Token] = []
        var text = ""
        var i = 0
        while i < s.count {
            if s[i] == "\\" && i + 1 < s.count {
                text.append(s[i + 1])
                i += 2
                continue
            }
            var found: (Parameter, Int)?
            if s[i] == "/" || s[i] == "." { found = parameter(s, at: i + 1, prefix: String(s[i])) }
            if found == nil { found = parameter(s, at: i, prefix: nil) }
            guard let (parsed, end) = found else {
                text.append(s[i])
                i += 1
                continue
            }
            if !text.isEmpty { tokens.append(.text(text)); text = "" }
            var p = parsed
            let next: Character? = end < s.count ? s[end] : nil
            p.partial = !p.prefix.isEmpty && next != nil && String(next!) != p.prefix
            tokens.append(.parameter(p))
            i = end
        }
        if !text.isEmpty { tokens.append(.text(text)) }
        return tokens
    }

    /// The parameter starting at `i` (after its prefix, if any), and where it ends.
    private static func parameter(_ s: [Character], at start: Int, prefix: String?) -> (Parameter, Int)? {
        var i = start
        guard i < s.count else { return nil }
        let delimiter = prefix ?? "/"
        var pattern: String?
        var isAsterisk = false
        if s[i] == ":" {
            var j = i + 1
            while j < s.count, s[j].isASCII, s[j].isLetter || s[j].isNumber || s[j] == "_" { j += 1 }
            guard j > i + 1 else { return nil }
            i = j
            if let (group, end) = group(s, at: i) { pattern = group; i = end }
        } else if s[i] == "(" {
            guard let (group, end) = group(s, at: i) else { return nil }
            pattern = group
            i = end
        } else if s[i] == "*" {
            isAsterisk = true
            i += 1
        } else {
            return nil
        }
        var modifier: Character?
        if !isAsterisk, i < s.count, "+*?".contains(s[i]) { modifier = s[i]; i += 1 }
        let p = Parameter(prefix: prefix ?? "", delimiter: delimiter,
                          optional: modifier == "?" || modifier == "*", repeats: modifier == "+" || modifier == "*",
                          partial: false,
                          pattern: pattern.map(escapeGroup) ?? (isAsterisk ? ".*" : "[^" + escapeString(delimiter) + "]+?"))
        return (p, i)
    }

    /// `\((?:\\.|[^\\()])+\)` at `i`: the group's inside and the index after `)`.
    private static func group(_ s: [Character], at start: Int) -> (String, Int)? {
        guard start < s.count, s[start] == "(" else { return nil }
        var i = start + 1
        var inside = ""
        while i < s.count {
            let c = s[i]
            if c == "\\" {
                guard i + 1 < s.count, !s[i + 1].isNewline else { return nil }
                inside.append(c); inside.append(s[i + 1]); i += 2
            } else if c == "(" {
                return nil
            } else if c == ")" {
                return inside.isEmpty ? nil : (inside, i + 1)
            } else {
                inside.append(c); i += 1
            }
        }
        return nil
    }

    static func escapeString(_ s: String) -> String {
        var out = ""
        for c in s {
            if ".+*?=^!:${}()[]|/\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func escapeGroup(_ s: String) -> String {
        var out = ""
        for c in s {
            if "=!:$/()".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
