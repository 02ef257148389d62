// BoundedRegex's compiler: the JavaScript regex subset parsed to a tree (RegexParser), then emitted as the
// Thompson program BoundedRegex.swift runs (RegexEmitter); counted repetitions are unrolled, within a size cap.

indirect enum RegexNode {
    case empty
    case scalar(Unicode.Scalar)
    case any
    case set(CharSet)
    case assert(BoundedRegex.Assertion)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repeated(RegexNode, min: Int, max: Int?)   // max nil: unbounded
}

struct RegexParser {
    let source: String
    let scalars: [Unicode.Scalar]
    let caseInsensitive: Bool
    var i = 0

    func fail(_ reason: String) -> RegexCompileError { RegexCompileError(pattern: source, offset: i, reason: reason) }

    mutating func parseWhole() throws(RegexCompileError) -> RegexNode {
        let node = try parseAlternation(depth: 0)
        if i < scalars.count { throw fail("unbalanced )") }
        return node
    }

    mutating func parseAlternation(depth: Int) throws(RegexCompileError) -> RegexNode {
        if depth > 100 { throw fail("groups nested too deep") }
        var branches = [try parseSequence(depth: depth)]
        while i < scalars.count && scalars[i] == "|" {
            i += 1
            branches.append(try parseSequence(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func parseSequence(depth: Int) throws(RegexCompileError) -> RegexNode {
        var items: [RegexNode] = []
        while i < scalars.count && scalars[i] != "|" && scalars[i] != ")" {
            var atom = try parseAtom(depth: depth)
            if let (lo, hi) = try parseQuantifier() {
                if case .assert = atom { throw fail("quantifier after an assertion") }
                atom = .repeated(atom, min: lo, max: hi)
                // `a**` and `a{2}{3}` are syntax errors in JavaScript too.
                if try parseQuantifier() != nil { throw fail("nothing to repeat") }
            }
            items.append(atom)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    mutating func parseQuantifier() throws(RegexCompileError) -> (Int, Int?)? {
        guard i < scalars.count else { return nil }
        var result: (Int, Int?)
        switch scalars[i] {
        case "*": result = (0, nil); i += 1
        case "+": result = (1, nil); i += 1
        case "?": result = (0, 1); i += 1
        case "{":
            // `{` not followed by a well-formed count is a literal in JavaScript (Annex B).
            guard let (lo, hi, end) = countedRange(from: i) else { return nil }
            if let hi, hi < lo { throw fail("numbers out of order in {}") }
            if lo > 1000 || (hi ?? 0) > 1000 { throw fail("repetition count over 1000") }
            result = (lo, hi); i = end
        default: return nil
        }
        if i < scalars.count && scalars[i] == "?" { i += 1 }   // lazy: same yes/no answer
        return result
    }

    func countedRange(from start: Int) -> (Int, Int?, Int)? {
        var j = start + 1
        func number() -> Int? {
            var v = 0, digits = 0
            while j < scalars.count, let d = Int(String(scalars[j])), scalars[j].isASCII {
                v = min(v * 10 + d, 100_000); digits += 1; j += 1
            }
            return digits > 0 ? v : nil
        }
        guard let lo = number() else { return nil }
        var hi: Int? = lo
        if j < scalars.count && scalars[j] == "," {
            j += 1
            hi = number()
        }
        guard j < scalars.count && scalars[j] == "}" else { return nil }
        return (lo, hi, j + 1)
    }

    mutating func parseAtom(depth: Int) throws(RegexCompileError) -> RegexNode {
        let c = scalars[i]
        switch c {
        case "(":
            i += 1
            if i < scalars.count && scalars[i] == "?" {
                if i + 1 < scalars.count && scalars[i + 1] == ":" {
                    i += 2
                } else if i + 3 < scalars.count && scalars[i + 1] == "=" && scalars[i + 2] == "$" && scalars[i + 3] == ")" {
                    i += 4
                    return .assert(.end)
                } else {
                    throw fail("only (?:...) and (?=$) groups are supported")
                }
            }
            let inner = try parseAlternation(depth: depth + 1)
            guard i < scalars.count && scalars[i] == ")" else { throw fail("missing )") }
            i += 1
            return inner
        case ")": throw fail("unbalanced )")
        case "*", "+", "?": throw fail("nothing to repeat")
        case "^": i += 1; return .assert(.start)
        case "$": i += 1; return .assert(.end)
        case ".": i += 1; return .any
        case "[": return .set(try parseClass())
        case "\\":
            i += 1
            guard i < scalars.count else { throw fail("\\ at end of pattern") }
            let e = scalars[i]
            i += 1
            switch e {
            case "b": return .assert(.wordBoundary)
            case "B": return .assert(.notWordBoundary)
            default:
                if let set = classEscape(e) { return .set(set) }
                if e.isASCII && e.properties.numericType != nil && e != "0" { throw fail("backreferences are not supported") }
                return literal(escapedScalar(e))
            }
        default:
            i += 1
            return literal(c)
        }
    }

    func literal(_ c: Unicode.Scalar) -> RegexNode { .scalar(caseInsensitive ? CharSet.fold(c) : c) }

    func classEscape(_ e: Unicode.Scalar) -> CharSet? {
        switch e {
        case "d": return .digit
        case "D": var s = CharSet.digit; s.negated = true; return s
        case "w": return .word
        case "W": var s = CharSet.word; s.negated = true; return s
        case "s": return .space
        case "S": var s = CharSet.space; s.negated = true; return s
        default: return nil
        }
    }

    func escapedScalar(_ e: Unicode.Scalar) -> Unicode.Scalar {
        switch e {
        case "n": return "\n"
        case "r": return "\r"
        case "t": return "\t"
        case "f": return "\u{0C}"
        case "v": return "\u{0B}"
        case "0": return "\u{00}"
        default: return e
        }
    }

    mutating func parseClass() throws(RegexCompileError) -> CharSet {
        i += 1   // [
        var set = CharSet()
        if i < scalars.count && scalars[i] == "^" { set.negated = true; i += 1 }
        while true {
            guard i < scalars.count else { throw fail("missing ]") }
            if scalars[i] == "]" { i += 1; break }
            guard let lo = try classMember(into: &set) else { continue }
            if i + 1 < scalars.count && scalars[i] == "-" && scalars[i + 1] != "]" {
                i += 1
                var ignored = CharSet()
                guard let hi = try classMember(into: &ignored) else { throw fail("range with a class escape") }
                if hi.value < lo.value { throw fail("range out of order in class") }
                set.ranges.append(lo.value...hi.value)
            } else {
                set.ranges.append(lo.value...lo.value)
            }
        }
        return set
    }

    /// One member of a class: a scalar (returned) or a \d-style family (added to `set`, nil returned).
    mutating func classMember(into set: inout CharSet) throws(RegexCompileError) -> Unicode.Scalar? {
        let c = scalars[i]
        i += 1
        guard c == "\\" else { return c }
        guard i < scalars.count else { throw fail("\\ at end of pattern") }
        let e = scalars[i]
        i += 1
        if let family = classEscape(e) {
            if family.negated { throw fail("negated class escape inside [...] is not supported") }
            set.ranges += family.ranges
            return nil
        }
        if e == "b" { return "\u{08}" }
        return escapedScalar(e)
    }
}

struct RegexEmitter {
    var code: [BoundedRegex.Instruction] = []

    mutating func emit(_ node: RegexNode, pattern: String) throws(RegexCompileError) {
        if code.count > BoundedRegex.maxInstructions {
            throw RegexCompileError(pattern: pattern, offset: 0, reason: "too large (over \(BoundedRegex.maxInstructions) steps)")
        }
        switch node {
        case .empty: break
        case .scalar(let s): code.append(.scalar(s))
        case .any: code.append(.any)
        case .set(let s): code.append(.set(s))
        case .assert(let a): code.append(.assert(a))
        case .sequence(let items): for item in items { try emit(item, pattern: pattern) }
        case .alternation(let branches):
            var jumpsToEnd: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = code.count
                    code.append(.split(split + 1, -1))
                    try emit(branch, pattern: pattern)
                    jumpsToEnd.append(code.count)
                    code.append(.jump(-1))
                    code[split] = .split(split + 1, code.count)
                } else {
                    try emit(branch, pattern: pattern)
                }
            }
            for j in jumpsToEnd { code[j] = .jump(code.count) }
        case .repeated(let inner, let lo, let hi):
            for _ in 0..<lo { try emit(inner, pattern: pattern) }
            if let hi {
                // Each optional copy: split(take, skip-all-remaining).
                var skips: [Int] = []
                for _ in lo..<hi {
                    skips.append(code.count)
                    code.append(.split(code.count + 1, -1))
                    try emit(inner, pattern: pattern)
                }
                for s in skips { code[s] = .split(s + 1, code.count) }
            } else {
                let loop = code.count
                code.append(.split(loop + 1, -1))
                try emit(inner, pattern: pattern)
                code.append(.jump(loop))
                code[loop] = .split(loop + 1, code.count)
            }
        }
    }
}
