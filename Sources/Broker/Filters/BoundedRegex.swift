// A small regular-expression engine for filter rules: the JavaScript subset snyk's filters use, run as a
// Thompson/Pike simulation so the work is bounded by program size × input length (no backtracking).
//
// Why not NSRegularExpression: it backtracks, and filter rules and requests both come from outside; a
// hostile `(a+)+$` against a long path must cost microseconds, not minutes.
// Supported: literals and escapes (\d \D \w \W \s \S \b \B \n \r \t \/ …), `.`, classes `[...]` with ranges
// and negation, groups `(...)` and `(?:...)`, the lookahead `(?=$)` path-to-regexp emits, alternation,
// quantifiers `* + ? {n} {n,} {n,m}` (lazy forms too: a yes/no match does not depend on laziness),
// anchors `^ $`. Anything else (backreferences, other lookarounds, named groups) is refused at compile time.

public struct RegexCompileError: Error, CustomStringConvertible, Sendable, Equatable {
    public let pattern: String
    public let offset: Int
    public let reason: String
    public var description: String { "regular expression \(pattern.debugDescription) at \(offset): \(reason)" }
}

public struct BoundedRegex: Sendable {
    /// Largest program we build; counted repetitions multiply size, so this caps `{n,m}` abuse.
    public static let maxInstructions = 20_000

    public let source: String
    public let caseInsensitive: Bool
    private let program: [Instruction]

    fileprivate enum Assertion: Sendable { case start, end, wordBoundary, notWordBoundary }

    fileprivate enum Instruction: Sendable {
        case scalar(Unicode.Scalar)
        case any                            // `.`: anything but a line terminator
        case set(CharSet)
        case split(Int, Int)
        case jump(Int)
        case assert(Assertion)
        case match
    }

    public init(_ source: String, caseInsensitive: Bool = false) throws(RegexCompileError) {
        self.source = source
        self.caseInsensitive = caseInsensitive
        var parser = RegexParser(source: source, scalars: Array(source.unicodeScalars), caseInsensitive: caseInsensitive)
        let tree = try parser.parseWhole()
        var emitter = RegexEmitter()
        try emitter.emit(tree, pattern: source)
        emitter.code.append(.match)
        if emitter.code.count > Self.maxInstructions {
            throw RegexCompileError(pattern: source, offset: 0, reason: "too large (over \(Self.maxInstructions) steps)")
        }
        program = emitter.code
    }

    /// JavaScript `RegExp.test`: whether the pattern matches anywhere in `text` (anchors decide the rest).
    public func test(_ text: String) -> Bool {
        let input = Array(text.unicodeScalars)
        let n = program.count
        var current = ThreadList(capacity: n)
        var next = ThreadList(capacity: n)
        var stack: [Int] = []
        for position in 0...input.count {
            // Unanchored search: a new thread starts at every position.
            addThread(0, at: position, input: input, list: &current, stack: &stack)
            if current.containsMatch { return true }
            if position == input.count { break }
            let c = input[position]
            next.clear()
            for pc in current.dense {
                let advances: Bool
                switch program[pc] {
                case .scalar(let s): advances = caseInsensitive ? CharSet.fold(c) == s : c == s
                case .any: advances = !CharSet.isLineTerminator(c)
                case .set(let set): advances = set.contains(c, caseInsensitive: caseInsensitive)
                default: advances = false
                }
                if advances { addThread(pc + 1, at: position + 1, input: input, list: &next, stack: &stack) }
            }
            swap(&current, &next)
        }
        return false
    }

    /// Follows jumps, splits and assertions from `start`, adding the consuming instructions reached.
    private func addThread(_ start: Int, at position: Int, input: [Unicode.Scalar], list: inout ThreadList, stack: inout [Int]) {
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        while let pc = stack.popLast() {
            if list.contains(pc) { continue }
            list.insert(pc)
            switch program[pc] {
            case .jump(let to): stack.append(to)
            case .split(let a, let b): stack.append(b); stack.append(a)
            case .assert(let a):
                if holds(a, at: position, input: input) { stack.append(pc + 1) }
            case .match: list.containsMatch = true
            default: break
            }
        }
    }

    private func holds(_ assertion: Assertion, at position: Int, input: [Unicode.Scalar]) -> Bool {
        switch assertion {
        case .start: return position == 0
        case .end: return position == input.count
        case .wordBoundary, .notWordBoundary:
            let before = position > 0 && CharSet.isWord(input[position - 1])
            let after = position < input.count && CharSet.isWord(input[position])
            return (before != after) == (assertion == .wordBoundary)
        }
    }
}

/// A sparse set of program counters: O(1) insert, membership and clear.
private struct ThreadList {
    var dense: [Int] = []
    var sparse: [Int]
    var containsMatch = false
    init(capacity: Int) { sparse = Array(repeating: 0, count: capacity) }
    func contains(_ pc: Int) -> Bool { let i = sparse[pc]; return i < dense.count && dense[i] == pc }
    mutating func insert(_ pc: Int) { sparse[pc] = dense.count; dense.append(pc) }
    mutating func clear() { dense.removeAll(keepingCapacity: true); containsMatch = false }
}

/// A character class: ranges, plus the \d \w \s families, possibly negated.
struct CharSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var negated = false

    static func isLineTerminator(_ c: Unicode.Scalar) -> Bool { [0x0A, 0x0D, 0x2028, 0x2029].contains(c.value) }
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
    }
    static func fold(_ c: Unicode.Scalar) -> Unicode.Scalar {
        if c.isASCII { return (c >= "A" && c <= "Z") ? Unicode.Scalar(c.value + 32)! : c }
        // JavaScript's non-unicode `i` never folds a non-ASCII character onto an ASCII one (the Kelvin sign
        // is not `k`), so neither do we.
        let lowered = String(c).lowercased().unicodeScalars
        return lowered.count == 1 && !lowered.first!.isASCII ? lowered.first! : c
    }
    static let digit = CharSet(ranges: [0x30...0x39])
    static let word = CharSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = CharSet(ranges: [0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
                                        0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF])

    func containsRaw(_ v: UInt32) -> Bool { ranges.contains { $0.contains(v) } }

    func contains(_ c: Unicode.Scalar, caseInsensitive: Bool) -> Bool {
        var hit = containsRaw(c.value)
        if !hit && caseInsensitive {
            let lower = CharSet.fold(c)
            let upper = String(c).uppercased().unicodeScalars
            let upperUsable = upper.count == 1 && (c.isASCII || !upper.first!.isASCII)   // as `fold`: no non-ASCII → ASCII
            hit = containsRaw(lower.value) || (upperUsable && containsRaw(upper.first!.value))
        }
        return hit != negated
    }
}

private indirect enum RegexNode {
    case empty
    case scalar(Unicode.Scalar)
    case any
    case set(CharSet)
    case assert(BoundedRegex.Assertion)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repeated(RegexNode, min: Int, max: Int?)   // max nil: unbounded
}

private struct RegexParser {
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

private struct RegexEmitter {
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
