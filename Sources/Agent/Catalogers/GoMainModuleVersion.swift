// The version syft gives a Go main module built as `(devel)`: a version set with `-ldflags -X` on a
// `...version=` or `...tag=` variable, else a pseudo-version from the `vcs.revision` and `vcs.time`
// build settings, else none. Hand-written equivalents of syft's regular expressions (no regex engine).
import Glibc

enum GoMainModuleVersion {
    /// syft's order: ldflags first, then the VCS pseudo-version; nil when neither applies.
    static func guess(ldflags: String?, mainModule: String, revision: String?, time: String?) -> String? {
        if let ldflags, let v = fromLDFlags(ldflags, mainModule: mainModule) { return v.hasPrefix("v") ? v : "v" + v }
        if let revision, let time {
            return "v0.0.0-" + pseudoTimestamp(time) + "-" + String(revision.prefix(12))
        }
        return nil
    }

    /// The first match of `(main|MODULE/[^\s]*)\.[A-Za-z0-9]*[vV]er(sion)?=(\S+/)*(v?\d+.\d+.\d+[-\w]*)`,
    /// then of the same with `[tT]ag=`, as Go's leftmost-first regexp finds it; the version group.
    static func fromLDFlags(_ flags: String, mainModule: String) -> String? {
        let b = Array(flags.utf8)
        for endings in [["ver", "version"], ["tag"]] {
            for s in 0..<max(b.count, 1) {
                if let v = match(b, at: s, module: Array(mainModule.utf8), endings: endings) { return v }
            }
        }
        return nil
    }

    private static func match(_ b: [UInt8], at s: Int, module: [UInt8], endings: [String]) -> String? {
        // Alternative 1: `main.`
        if hasBytes(b, s, Array("main".utf8)), s + 4 < b.count, b[s + 4] == UInt8(ascii: "."),
           let v = afterDot(b, s + 5, endings) { return v }
        // Alternative 2: `MODULE/` and a greedy run of non-space bytes, backing off to each `.`.
        guard hasBytes(b, s, module + [UInt8(ascii: "/")]) else { return nil }
        let runStart = s + module.count + 1
        var runEnd = runStart
        while runEnd < b.count, !isSpace(b[runEnd]) { runEnd += 1 }
        var p = runEnd
        while p >= runStart {
            if p < b.count, b[p] == UInt8(ascii: "."), let v = afterDot(b, p + 1, endings) { return v }
            p -= 1
        }
        return nil
    }

    /// After the dot: an alphanumeric name ending in one of `endings` (first letter either case), `=`,
    /// then the value with any `prefix/` parts skipped (longest first) and a version.
    private static func afterDot(_ b: [UInt8], _ q: Int, _ endings: [String]) -> String? {
        var e = q
        while e < b.count, isAlnum(b[e]) { e += 1 }
        guard e < b.count, b[e] == UInt8(ascii: "=") else { return nil }
        let name = b[q..<e]
        guard endings.contains(where: { ending in
            let t = Array(ending.utf8)
            guard name.count >= t.count else { return false }
            let tail = Array(name.suffix(t.count))
            return (tail[0] == t[0] || tail[0] == t[0] - 32) && Array(tail.dropFirst()) == Array(t.dropFirst())
        }) else { return nil }
        let valueStart = e + 1
        var runEnd = valueStart
        while runEnd < b.count, !isSpace(b[runEnd]) { runEnd += 1 }
        // Candidate starts: just after each `/` in the run (last first), then the run's start.
        var starts: [Int] = []
        if runEnd > valueStart {
            var k = runEnd - 1
            while k > valueStart {   // `\S+/` needs one byte before the slash
                if b[k] == UInt8(ascii: "/") { starts.append(k + 1) }
                k -= 1
            }
        }
        starts.append(valueStart)
        for start in starts {
            if let end = versionEnd(b, start) { return String(decoding: b[start..<end], as: UTF8.self) }
        }
        return nil
    }

    /// `v?\d+.\d+.\d+[-\w]*` at `i` (`.` any byte but a newline): the end of the match, greedy and
    /// backtracking as a regexp would.
    static func versionEnd(_ b: [UInt8], _ i: Int) -> Int? {
        if i < b.count, b[i] == UInt8(ascii: "v"), let e = numbers(b, i + 1) { return e }
        return numbers(b, i)
    }

    private static func numbers(_ b: [UInt8], _ i: Int) -> Int? {
        // \d+ . \d+ . \d+, each \d+ greedy with backtracking.
        func digitsEnd(_ k: Int) -> Int { var j = k; while j < b.count, isDigit(b[j]) { j += 1 }; return j }
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

    private static func hasBytes(_ b: [UInt8], _ at: Int, _ lit: [UInt8]) -> Bool {
        at + lit.count <= b.count && b[at..<(at + lit.count)].elementsEqual(lit)
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    @inline(__always) static func isWord(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x5F }
    /// Go regexp's `\s`: `[\t\n\f\r ]`.
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D }
}
