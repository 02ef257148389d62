// Rust crates from `Cargo.lock`: each `[[package]]` table's name, version and source (the TOML that
// Cargo writes: tables, `key = "string"` pairs, arrays of strings). syft reads Cargo.lock only when it
// scans a directory; in images it reads cargo-auditable data from binaries instead (not done here).

/// Rust crates from `Cargo.lock` (ecosystem `.cargo`).
public struct CargoLockCataloger: Cataloger {
    public let name = "cargo"
    public let version = 1

    public init() {}

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        CatalogPath.hasSuffix(entry.path, "/Cargo.lock") ? .whole : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        // A damaged Cargo.lock fails on most lines alike: a few of them tell the story.
        var warnings = CatalogWarnings(path: file.entry.path, limit: 4)
        guard let bytes = ApplicationCatalogers.manifestBytes(file, kind: "Cargo.lock", warnings: &warnings) else {
            return CatalogResult(warnings: warnings.all)
        }
        var result = CatalogResult()
        let tables = Self.packageTables(bytes, work: file.work, warnings: &warnings)
        result.warnings = warnings.all
        for t in tables {
            guard let name = t["name"], let version = t["version"], !name.isEmpty, !version.isEmpty else { continue }
            // A crate without a source is a workspace member or a path dependency, which gets no purl
            // (`CargoEcosystem.hasPurl`): a bare cargo purl means crates.io.
            let metadata = CargoMetadata(source: t["source"].nonEmpty, checksum: t["checksum"].nonEmpty)
            result.packages.append(Package(ecosystem: .cargo, name: name, version: version, location: file.location, metadata: metadata))
        }
        return result
    }

    /// The string-valued keys of every `[[package]]` table; a warning for each thing that could not be read.
    static func packageTables(_ b: [UInt8], work: CatalogWork = CatalogWork(), warnings: inout CatalogWarnings) -> [[String: String]] {
        var tables: [[String: String]] = []
        var inPackage = false
        var p = TOMLCursor(b)
        var lastOffset = 0
        while !p.atEnd {
            if work.count(p.i - lastOffset + 1) { break }
            lastOffset = p.i
            p.skipBlanks()
            let line = p.line
            guard let c = p.peek else { break }
            if c == 0x0A || c == UInt8(ascii: "#") {
                p.skipLine()
                continue
            }
            if c == UInt8(ascii: "[") {
                let h = String(decoding: p.restOfLine(), as: UTF8.self).trimmedASCIIWhitespace
                inPackage = h.hasPrefix("[[") && String(h.dropFirst(2).prefix { $0 != "]" }).trimmedASCIIWhitespace == "package"
                if inPackage { tables.append([:]) }
                continue
            }
            guard let key = p.key() else {
                warnings.add("line \(line): not a key = value line")
                p.skipLine()
                continue
            }
            p.skipBlanks()
            guard p.peek == UInt8(ascii: "=") else {
                warnings.add("line \(line): no '=' after the key")
                p.skipLine()
                continue
            }
            p.advance()
            p.skipBlanks()
            switch p.value() {
            case .string(let s):
                if inPackage, !tables.isEmpty { tables[tables.count - 1][key] = s }
            case .other:
                break
            case .bad(let why):
                warnings.add("line \(line): \(why)")
                p.skipLine()
                continue
            }
            p.skipBlanks()
            if let c = p.peek, c != 0x0A, c != UInt8(ascii: "#") {
                warnings.add("line \(p.line): unexpected text after a value")
            }
            p.skipLine()
        }
        return tables
    }
}

/// A cursor over TOML bytes with just what Cargo.lock needs.
struct TOMLCursor {
    enum Value { case string(String), other, bad(String) }

    let b: [UInt8]
    var i = 0
    /// The 1-based line of the cursor.
    private(set) var line = 1

    init(_ b: [UInt8]) { self.b = b }

    var atEnd: Bool { i >= b.count }
    var peek: UInt8? { i < b.count ? b[i] : nil }
    mutating func advance() { i += 1 }

    mutating func skipBlanks() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0D { i += 1 }
    }

    mutating func skipLine() {
        while i < b.count, b[i] != 0x0A { i += 1 }
        if i < b.count { i += 1; line += 1 }
    }

    mutating func restOfLine() -> ArraySlice<UInt8> {
        let start = i
        while i < b.count, b[i] != 0x0A { i += 1 }
        let text = b[start..<i]
        if i < b.count { i += 1; line += 1 }
        return text
    }

    /// A bare key (`A-Za-z0-9_-`, dotted keys read as one) or a quoted one.
    mutating func key() -> String? {
        if let c = peek, c == 0x22 || c == 0x27 {
            if case .string(let s) = value() { return s }
            return nil
        }
        let start = i
        while i < b.count, isBare(b[i]) || b[i] == UInt8(ascii: ".") { i += 1 }
        return i > start ? String(decoding: b[start..<i], as: UTF8.self) : nil
    }

    private func isBare(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }

    /// A string, or anything else skipped over: arrays (over several lines), inline tables, numbers, booleans.
    mutating func value() -> Value {
        guard let c = peek else { return .bad("missing value") }
        switch c {
        case 0x22:
            if i + 2 < b.count, b[i + 1] == 0x22, b[i + 2] == 0x22 { return multiline(quote: 0x22) }
            return basicString()
        case 0x27:
            if i + 2 < b.count, b[i + 1] == 0x27, b[i + 2] == 0x27 { return multiline(quote: 0x27) }
            i += 1
            let start = i
            while i < b.count, b[i] != 0x27, b[i] != 0x0A { i += 1 }
            guard i < b.count, b[i] == 0x27 else { return .bad("unterminated string") }
            defer { i += 1 }
            return .string(String(decoding: b[start..<i], as: UTF8.self))
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let what = c == UInt8(ascii: "[") ? "array" : "inline table"
            i += 1
            var depth = 1
            while i < b.count, depth > 0 {
                switch b[i] {
                case 0x22, 0x27:
                    if case .bad(let why) = value() { return .bad(why) }
                    continue
                case UInt8(ascii: "#"):
                    while i < b.count, b[i] != 0x0A { i += 1 }
                    continue
                case 0x0A: line += 1
                case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                default: break
                }
                i += 1
            }
            return depth == 0 ? .other : .bad("unterminated \(what)")
        default:
            while i < b.count, b[i] != 0x0A, b[i] != UInt8(ascii: "#"), b[i] != 0x20, b[i] != 0x09, b[i] != 0x0D { i += 1 }
            return .other
        }
    }

    private mutating func basicString() -> Value {
        i += 1
        var out: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if c == 0x22 { i += 1; return .string(String(decoding: out, as: UTF8.self)) }
            if c == 0x0A { return .bad("unterminated string") }
            if c == 0x5C {
                guard i + 1 < b.count else { return .bad("unterminated string") }
                let e = b[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case 0x22, 0x5C: out.append(e)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "u") ? 4 : 8
                    guard i + n <= b.count, let v = UInt32(String(decoding: b[i..<(i + n)], as: UTF8.self), radix: 16),
                          let u = Unicode.Scalar(v) else { return .bad("bad \\u escape") }
                    out.append(contentsOf: String(Character(u)).utf8)
                    i += n
                default: return .bad("bad escape")
                }
                continue
            }
            out.append(c)
            i += 1
        }
        return .bad("unterminated string")
    }

    private mutating func multiline(quote: UInt8) -> Value {
        i += 3
        let start = i
        while i + 2 < b.count, !(b[i] == quote && b[i + 1] == quote && b[i + 2] == quote) {
            if b[i] == 0x0A { line += 1 }
            i += 1
        }
        guard i + 2 < b.count else { i = b.count; return .bad("unterminated multi-line string") }
        let s = String(decoding: b[start..<i], as: UTF8.self)
        i += 3
        return .string(s)
    }
}
