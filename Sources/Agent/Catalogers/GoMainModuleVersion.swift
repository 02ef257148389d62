// The version syft gives a Go main module built as `(devel)`: a version set with `-ldflags -X` on a
// `...version=` or `...tag=` variable, else a pseudo-version from the `vcs.revision` and `vcs.time`
// build settings, else none. Hand-written equivalents of syft's regular expressions (no regex engine).
import Glibc

enum GoMainModuleVersion {
    /// syft's order: ldflags first, then the VCS pseudo-version; nil when neither applies.
    static func guess(ldflags: String?, mainModule: String, revision: String?, time: String?, work: CatalogWork = CatalogWork()) -> String? {
        if let ldflags, let v = fromLDFlags(ldflags, mainModule: mainModule, work: work) { return v.hasPrefix("v") ? v : "v" + v }
        if let revision, let time {
            return "v0.0.0-" + pseudoTimestamp(time) + "-" + String(revision.prefix(12))
        }
        return nil
    }

    /// The first match of `(main|MODULE/[^\s]*)\.[A-Za-z0-9]*[vV]er(sion)?=(\S+/)*(v?\d+.\d+.\d+[-\w]*)`,
    /// then of the same with `[tT]ag=`, as Go's leftmost-first regexp finds it; the version group. Linear in
    /// the flags (`LDFlagsMatch`); `work` counts the bytes it examines.
    static func fromLDFlags(_ flags: String, mainModule: String, work: CatalogWork = CatalogWork()) -> String? {
        var m = LDFlagsMatch(Array(flags.utf8), module: Array(mainModule.utf8))
        defer { _ = work.count(m.steps) }
        for endings in [["ver", "version"], ["tag"]] {
            m.endings = endings.map { Array($0.utf8) }
            m.afterDotMemo = [:]
            m.goodDotMemo = [:]
            for s in 0..<max(m.b.count, 1) {
                if let v = m.match(at: s) { return v }
            }
        }
        return nil
    }

    /// The ldflags regexp run without backtracking over the same bytes twice: the end of each non-space run is
    /// computed once; `MODULE/` occurrences are found by KMP; and the answers that do not depend on the match
    /// start (after a given dot, the rightmost dot or slash of a run that leads to a match, a version at a given
    /// position) are memoised, so each byte is examined a bounded number of times.
    struct LDFlagsMatch {
        let b: [UInt8]
        let module: [UInt8]
        var endings: [[UInt8]] = []
        /// `runEnd[k]`: the first space at or after `k` (or the end).
        let runEnd: [Int]
        /// Whether `MODULE/` starts at each position.
        let moduleAt: [Bool]
        var afterDotMemo: [Int: String?] = [:]
        var goodDotMemo: [Int: Int] = [:]
        var goodSlashMemo: [Int: Int] = [:]
        var versionMemo: [Int: Int?] = [:]
        var steps = 0

        init(_ b: [UInt8], module: [UInt8]) {
            self.b = b
            self.module = module
            var ends = [Int](repeating: b.count, count: b.count + 1)
            var k = b.count - 1
            while k >= 0 {
                ends[k] = GoMainModuleVersion.isSpace(b[k]) ? k : ends[k + 1]
                k -= 1
            }
            runEnd = ends
            moduleAt = Self.occurrences(of: module + [UInt8(ascii: "/")], in: b)
            steps = 2 * b.count + module.count
        }

        /// Knuth-Morris-Pratt: where `pattern` starts in `text`.
        static func occurrences(of pattern: [UInt8], in text: [UInt8]) -> [Bool] {
            var at = [Bool](repeating: false, count: text.count + 1)
            var fail = [Int](repeating: 0, count: pattern.count)
            var k = 0
            for i in 1..<max(pattern.count, 1) {
                while k > 0, pattern[i] != pattern[k] { k = fail[k - 1] }
                if pattern[i] == pattern[k] { k += 1 }
                fail[i] = k
            }
            k = 0
            for (i, c) in text.enumerated() {
                while k > 0, c != pattern[k] { k = fail[k - 1] }
                if c == pattern[k] { k += 1 }
                if k == pattern.count {
                    at[i + 1 - k] = true
                    k = fail[k - 1]
                }
            }
            return at
        }

        mutating func match(at s: Int) -> String? {
            steps += 1
            // Alternative 1: `main.`
            if s + 5 <= b.count, b[s] == UInt8(ascii: "m"), b[s + 1] == UInt8(ascii: "a"), b[s + 2] == UInt8(ascii: "i"),
               b[s + 3] == UInt8(ascii: "n"), b[s + 4] == UInt8(ascii: "."), let v = afterDot(s + 5) { return v }
            // Alternative 2: `MODULE/` and a greedy run of non-space bytes, backing off to each `.`: the rightmost
            // dot of the run that leads to a match, if it is inside this start's part of the run.
            guard s < moduleAt.count, moduleAt[s] else { return nil }
            let runStart = s + module.count + 1
            let dot = goodDot(runEnd: runEnd[min(runStart, b.count)])
            return dot >= runStart ? afterDot(dot + 1) : nil
        }

        /// The rightmost `.` of the run ending at `end` after which `afterDot` matches; -1 if none.
        mutating func goodDot(runEnd end: Int) -> Int {
            if let d = goodDotMemo[end] { return d }
            var p = end - 1, found = -1
            while p >= 0, !GoMainModuleVersion.isSpace(b[p]) {
                steps += 1
                if b[p] == UInt8(ascii: "."), afterDot(p + 1) != nil { found = p; break }
                p -= 1
            }
            goodDotMemo[end] = found
            return found
        }

        /// After the dot: an alphanumeric name ending in one of `endings` (first letter either case), `=`,
        /// then the value with any `prefix/` parts skipped (longest first) and a version.
        mutating func afterDot(_ q: Int) -> String? {
            if let v = afterDotMemo[q] { return v }
            let v = afterDotUncached(q)
            afterDotMemo[q] = v
            return v
        }

        private mutating func afterDotUncached(_ q: Int) -> String? {
            var e = q
            while e < b.count, GoMainModuleVersion.isAlnum(b[e]) { e += 1 }
            steps += e - q + 1
            guard e < b.count, b[e] == UInt8(ascii: "=") else { return nil }
            let name = b[q..<e]
            guard endings.contains(where: { t in
                guard name.count >= t.count else { return false }
                let tail = name.suffix(t.count)
                return (tail.first == t[0] || tail.first == t[0] - 32) && tail.dropFirst().elementsEqual(t.dropFirst())
            }) else { return nil }
            let valueStart = e + 1
            // Candidate starts: just after each `/` of the run (last first; `\S+/` needs a byte before the
            // slash), then the run's start. The rightmost slash that leads to a version is the same for every
            // dot of the run.
            let slash = goodSlash(runEnd: runEnd[min(valueStart, b.count)])
            let start = slash > valueStart ? slash + 1 : valueStart
            guard let end = version(start) else { return nil }
            return String(decoding: b[start..<end], as: UTF8.self)
        }

        /// The rightmost `/` of the run ending at `end` that a version follows; -1 if none.
        mutating func goodSlash(runEnd end: Int) -> Int {
            if let d = goodSlashMemo[end] { return d }
            var k = end - 1, found = -1
            while k >= 0, !GoMainModuleVersion.isSpace(b[k]) {
                steps += 1
                if b[k] == UInt8(ascii: "/"), version(k + 1) != nil { found = k; break }
                k -= 1
            }
            goodSlashMemo[end] = found
            return found
        }

        mutating func version(_ i: Int) -> Int? {
            if let v = versionMemo[i] { return v }
            let v = GoMainModuleVersion.versionEnd(b, i, steps: &steps)
            versionMemo[i] = v
            return v
        }
    }

    /// `v?\d+.\d+.\d+[-\w]*` at `i` (`.` any byte but a newline): the end of the match, greedy and
    /// backtracking as a regexp would.
    static func versionEnd(_ b: [UInt8], _ i: Int) -> Int? {
        var steps = 0
        return versionEnd(b, i, steps: &steps)
    }

    static func versionEnd(_ b: [UInt8], _ i: Int, steps: inout Int) -> Int? {
        if i < b.count, b[i] == UInt8(ascii: "v"), let e = numbers(b, i + 1, &steps) { return e }
        return numbers(b, i, &steps)
    }

    private static func numbers(_ b: [UInt8], _ i: Int, _ steps: inout Int) -> Int? {
        // \d+ . \d+ . \d+, each \d+ greedy with backtracking.
        func digitsEnd(_ k: Int) -> Int { var j = k; while j < b.count, isDigit(b[j]) { j += 1 }; steps += j - k + 1; return j }
        let e1 = digitsEnd(i)
        guard e1 > i else { return nil }
        for a in stride(from: e1, to: i, by: -1) {            // first number ends before a
            guard a < b.count, b[a] != 0x0A else { continue }
            let s2 = a + 1
            let e2 = digitsEnd(s2)
            guard e2 > s2 else { continue }
            for c in stride(from: e2, to: s2, by: -1) {
                guard c < b.count, b[c] != 0x0A else { continue }
                let s3 = c + 1
                let e3 = digitsEnd(s3)
                guard e3 > s3 else { continue }
                var end = e3
                while end < b.count, isWord(b[end]) || b[end] == UInt8(ascii: "-") { end += 1 }
                steps += end - e3
                return end
            }
        }
        return nil
    }

    /// `vcs.time` (RFC 3339) as the UTC `yyyymmddhhmmss` of a pseudo-version; Go's zero time if unreadable.
    static func pseudoTimestamp(_ rfc3339: String) -> String {
        let zero = "00010101000000"
        let c = Array(rfc3339.utf8)
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= c.count, c[from..<(from + n)].allSatisfy(isDigit) else { return nil }
            return Int(String(decoding: c[from..<(from + n)], as: UTF8.self))
        }
        guard c.count >= 20, let y = num(0, 4), c[4] == UInt8(ascii: "-"), let mo = num(5, 2), c[7] == UInt8(ascii: "-"),
              let d = num(8, 2), c[10] == UInt8(ascii: "T") || c[10] == UInt8(ascii: "t"), let h = num(11, 2),
              c[13] == UInt8(ascii: ":"), let mi = num(14, 2), c[16] == UInt8(ascii: ":"), let se = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 60 else { return zero }
        var k = 19
        if k < c.count, c[k] == UInt8(ascii: ".") {
            k += 1
            let f = k
            while k < c.count, isDigit(c[k]) { k += 1 }
            guard k > f else { return zero }
        }
        var offset = 0
        if k < c.count, c[k] == UInt8(ascii: "Z") || c[k] == UInt8(ascii: "z") {
            k += 1
        } else if k < c.count, c[k] == UInt8(ascii: "+") || c[k] == UInt8(ascii: "-"), let oh = num(k + 1, 2),
                  k + 3 < c.count, c[k + 3] == UInt8(ascii: ":"), let om = num(k + 4, 2), oh < 24, om < 60 {
            offset = (oh * 60 + om) * 60 * (c[k] == UInt8(ascii: "-") ? -1 : 1)
            k += 6
        } else {
            return zero
        }
        guard k == c.count else { return zero }
        var t = tm()
        t.tm_year = Int32(y - 1900); t.tm_mon = Int32(mo - 1); t.tm_mday = Int32(d)
        t.tm_hour = Int32(h); t.tm_min = Int32(mi); t.tm_sec = Int32(se)
        var secs = timegm(&t) - offset
        var u = tm()
        guard gmtime_r(&secs, &u) != nil else { return zero }
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return pad(u.tm_year + 1900, 4) + pad(u.tm_mon + 1, 2) + pad(u.tm_mday, 2) + pad(u.tm_hour, 2) + pad(u.tm_min, 2) + pad(u.tm_sec, 2)
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    @inline(__always) static func isWord(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x5F }
    /// Go regexp's `\s`: `[\t\n\f\r ]`.
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D }
}
