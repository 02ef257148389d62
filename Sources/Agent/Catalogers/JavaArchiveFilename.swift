// A Java archive's file name split into a package name and version by syft's rules (its
// nameAndVersionPattern and secondaryVersionPattern), written out by hand instead of run as regexps.

struct JavaArchiveFilename {
    let name: String
    let version: String
    /// The extension, lower case (`jar`, `war`, `hpi`, ...).
    let fileExtension: String

    /// `path` may be a path inside an archive; only its last component counts.
    init(_ path: String) {
        let base = CatalogPath.baseName(path)
        var stem = Substring(base)
        var ext = ""
        if let dot = base.lastIndex(of: ".") {
            stem = base[..<dot]
            ext = String(base[base.index(after: dot)...]).lowercased()
        }
        fileExtension = ext
        let b = Array(stem.utf8)
        var (n, v) = Self.primary(b)
        // Some jars are named `name_1.2` or `name.1.2`.
        if v.isEmpty, let (start, version) = Self.secondary(n) {
            v = version
            n = Array(n[..<start])
        }
        name = String(decoding: n, as: UTF8.self)
        version = String(decoding: v, as: UTF8.self)
    }

    /// `(?Ui)^(?P<name>(?:[[:alpha:]][[:word:].]*(?:\.[[:alpha:]][[:word:].]*)*-?)+)(?:-(?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`
    /// Ungreedy, so the name is the shortest one for which the rest is empty or `-` and a version.
    /// No match at all gives an empty name and version.
    static func primary(_ b: [UInt8]) -> (name: [UInt8], version: [UInt8]) {
        guard let first = b.first, isAlpha(first) else { return ([], []) }
        for end in 1...b.count {
            // The name is alphanumerics, `_`, `.` and `-`, where every `-` is followed by a letter or ends the name.
            let c = b[end - 1]
            guard isWord(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") else { return ([], []) }
            if c == UInt8(ascii: "-"), end >= 2, b[end - 2] == UInt8(ascii: "-") { return ([], []) }
            if end >= 2, b[end - 2] == UInt8(ascii: "-"), !isAlpha(c) { return ([], []) }
            if end == b.count { return (b, []) }
            if b[end] == UInt8(ascii: "-"), isVersion(b[(end + 1)...], caseInsensitive: true) {
                return (Array(b[..<end]), Array(b[(end + 1)...]))
            }
        }
        return ([], [])
    }

    /// `(?:[._-](?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`, leftmost: the first
    /// separator followed by a version running to the end.
    static func secondary(_ b: [UInt8]) -> (Int, [UInt8])? {
        for i in b.indices where b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "_") || b[i] == UInt8(ascii: "-") {
            if isVersion(b[(i + 1)...], caseInsensitive: false) { return (i, Array(b[(i + 1)...])) }
        }
        return nil
    }

    /// `\d.*` | `build\d+.*` | `rc?\d+` (the pattern's `(?:^...)` can never match mid-string).
    static func isVersion(_ v: ArraySlice<UInt8>, caseInsensitive: Bool) -> Bool {
        guard let first = v.first, !v.contains(0x0A) else { return false }
        if isDigit(first) { return true }
        func lower(_ c: UInt8) -> UInt8 { caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 32 : c }
        let l = v.map(lower)
        if l.starts(with: Array("build".utf8)), l.count > 5, isDigit(l[5]) { return true }
        if l.first == UInt8(ascii: "r") {
            let digits = l.dropFirst(l.count > 1 && l[1] == UInt8(ascii: "c") ? 2 : 1)
            return !digits.isEmpty && digits.allSatisfy(isDigit)
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
