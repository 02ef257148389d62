// A small regular-expression engine for filter rules: the JavaScript subset snyk's filters use, run as a
// Thompson/Pike simulation so the work is bounded by program size × input length (no backtracking).
//
// Why not NSRegularExpression: it backtracks, and filter rules and requests both come from outside; a
// hostile `(a+)+$` against a long path must cost work in proportion to the path, not exponential time.
// Supported: literals and escapes (\d \D \w \W \s \S \b \B \n \r \t \/ …), `.`, classes `[...]` with ranges
// and negation, groups `(...)` and `(?:...)`, the lookahead `(?=$)` path-to-regexp emits, alternation,
// quantifiers `* + ? {n} {n,} {n,m}` (lazy forms too: a yes/no match does not depend on laziness),
// anchors `^ $`. Anything else (backreferences, other lookarounds, named groups) is refused at compile time
// (BoundedRegexCompiler.swift parses the expression and emits the program this file runs).

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

    enum Assertion: Sendable { case start, end, wordBoundary, notWordBoundary }

    enum Instruction: Sendable {
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
