// A Java archive's file name split into a package name and version by syft's rules (its
// nameAndVersionPattern and secondaryVersionPattern), written out by hand instead of run as regexps.
import Core

struct JavaArchiveFilename {
    let name: String
    let version: String
    /// The extension, lower case (`jar`, `war`, `hpi`, ...).
    let fileExtension: String

    /// `path` may be a path inside an archive; only its last component counts.
    init(_ path: String, work: CatalogWork = CatalogWork()) {
        let base = SlashPath.baseName(of: path)
        var stem = Substring(base)
        var ext = ""
        if let dot = base.lastIndex(of: ".") {
            stem = base[..<dot]
            ext = String(base[base.index(after: dot)...]).lowercased()
        }
        fileExtension = ext
        let b = Array(stem.utf8)
        var steps = 0
        defer { _ = work.count(steps) }
        var (n, v) = Self.primary(b, steps: &steps)
        // Some jars are named `name_1.2` or `name.1.2`.
        if v.isEmpty, let (start, version) = Self.secondary(n, steps: &steps) {
            v = version
            n = Array(n[..<start])
        }
        name = String(decoding: n, as: UTF8.self)
        version = String(decoding: v, as: UTF8.self)
    }

    /// `(?Ui)^(?P<name>(?:[[:alpha:]][[:word:].]*(?:\.[[:alpha:]][[:word:].]*)*-?)+)(?:-(?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`
    /// Ungreedy, so the name is the shortest one for which the rest is empty or `-` and a version.
    /// No match at all gives an empty name and version.
    static func primary(_ b: [UInt8], steps: inout Int) -> (name: [UInt8], version: [UInt8]) {
        guard let first = b.first, isAlpha(first) else { return ([], []) }
        let lastNewline = b.lastIndex(of: 0x0A) ?? -1
        steps += b.count
        for end in 1...b.count {
            steps += 1
            // The name is alphanumerics, `_`, `.` and `-`, where every `-` is followed by a letter or ends the name.
            let c = b[end - 1]
            guard isWord(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") else { return ([], []) }
            if c == UInt8(ascii: "-"), end >= 2, b[end - 2] == UInt8(ascii: "-") { return ([], []) }
            if end >= 2, b[end - 2] == UInt8(ascii: "-"), !isAlpha(c) { return ([], []) }
            if end == b.count { return (b, []) }
            if b[end] == UInt8(ascii: "-"), lastNewline <= end, isVersion(b[(end + 1)...], caseInsensitive: true, steps: &steps) {
                return (Array(b[..<end]), Array(b[(end + 1)...]))
            }
        }
        return ([], [])
    }

    /// `(?:[._-](?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`, leftmost: the first
    /// separator followed by a version running to the end.
    static func secondary(_ b: [UInt8], steps: inout Int) -> (Int, [UInt8])? {
        let lastNewline = b.lastIndex(of: 0x0A) ?? -1
        steps += b.count
        for i in b.indices where b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "_") || b[i] == UInt8(ascii: "-") {
            steps += 1
            if lastNewline <= i, isVersion(b[(i + 1)...], caseInsensitive: false, steps: &steps) { return (i, Array(b[(i + 1)...])) }
        }
        return nil
    }

    /// `\d.*` | `build\d+.*` | `rc?\d+` (the pattern's `(?:^...)` can never match mid-string), for a `v`
    /// that holds no newline (the caller knows where the last one is). Looks at a few bytes, except for the
    /// digits of `rc?\d+`, which end at the first non-digit: called at every separator of a name, it stays
    /// linear in the name.
    static func isVersion(_ v: ArraySlice<UInt8>, caseInsensitive: Bool, steps: inout Int) -> Bool {
        guard let first = v.first else { return false }
        if isDigit(first) { return true }
        func lower(_ k: Int) -> UInt8 {
            let c = v[v.startIndex + k]
            return caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 32 : c
        }
        steps += 6
        if v.count > 5, lower(0) == UInt8(ascii: "b"), lower(1) == UInt8(ascii: "u"), lower(2) == UInt8(ascii: "i"),
           lower(3) == UInt8(ascii: "l"), lower(4) == UInt8(ascii: "d"), isDigit(v[v.startIndex + 5]) { return true }
        if lower(0) == UInt8(ascii: "r") {
            let digits = v.dropFirst(v.count > 1 && lower(1) == UInt8(ascii: "c") ? 2 : 1)
            guard !digits.isEmpty else { return false }
            for c in digits {
                steps += 1
                if !isDigit(c) { return false }
            }
            return true
        }
        return false
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    static func isWord(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) || c == 0x5F }

    /// syft's `selectName` fallback from the file name: a dotted name that looks like `group.artifact`
    /// gives its last part (but `org.eclipse.*` is kept whole).
    var nameForPackage: String {
        guard name.contains(".") else { return name }
        if name.hasPrefix("org.eclipse.") { return name }
        let fields = name.split(separator: ".", omittingEmptySubsequences: false)
        if fields.allSatisfy({ Self.startsLikeJavaIdentifier($0) }) { return String(fields.last!) }
        return name
    }

    /// A letter (any script), letter number, currency symbol or connector punctuation first.
    static func startsLikeJavaIdentifier(_ s: Substring) -> Bool {
        guard let u = s.unicodeScalars.first else { return false }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .letterNumber,
             .currencySymbol, .connectorPunctuation:
            return true
        default:
            return false
        }
    }
}
