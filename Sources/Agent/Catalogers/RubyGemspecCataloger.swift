// Installed Ruby gems: `**/specifications/**/*.gemspec` as RubyGems writes them on install
// (`s.name = "rack".freeze`, `s.version = "2.2.22"`), read line by line as syft's
// ruby-installed-gemspec-cataloger reads them (no Ruby is evaluated).

/// Installed gems from RubyGems specification files (ecosystem `.gem`).
public struct RubyGemspecCataloger: Cataloger {
    public let name = "gem"
    public let version = 1

    public init() {}

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        CatalogPath.hasSuffix(entry.path, ".gemspec") && CatalogPath.contains(entry.path, "/specifications/") ? .whole : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var warnings = CatalogWarnings(path: file.entry.path)
        guard let bytes = ApplicationCatalogers.manifestBytes(file, kind: "gemspec", warnings: &warnings) else {
            return CatalogResult(warnings: warnings.all)
        }
        let fields = Self.fields(String(decoding: bytes, as: UTF8.self), work: file.work)
        guard let name = fields["name"], let version = fields["version"] else { return CatalogResult() }
        return CatalogResult(packages: [Package(ecosystem: .gem, name: name, version: version, location: file.location,
                                                metadata: GemMetadata(license: fields["licenses"]))])
    }

    /// `name`, `version` and `licenses` (comma-separated) from the `x.name = "..."` style assignments; a
    /// later assignment wins, and each line sets at most one field, as in syft.
    static func fields(_ text: String, work: CatalogWork = CatalogWork()) -> [String: String] {
        var out: [String: String] = [:]
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if work.count(raw.utf8.count + 1) { break }
            var line = String(raw).trimmedASCIIWhitespace.replacingOccurrences(".freeze", with: "")
            guard !line.isEmpty else { continue }
            line = renderUnicodeEscapes(line)
            let bytes = Array(line.utf8)
            if let v = quotedAssignment(bytes, field: "name"), !v.isEmpty {
                out["name"] = v
            } else if let v = quotedAssignment(bytes, field: "version"), !v.isEmpty {
                out["version"] = v
            } else if let v = listAssignment(bytes, field: "licenses"), !v.isEmpty {
                out["licenses"] = v.split(separator: ",", omittingEmptySubsequences: false)
                    .map { String($0).trimming { $0 == UInt8(ascii: "\"") || $0 == 0x20 } }
                    .joined(separator: ", ")
            }
        }
        return out
    }

    /// syft's `.*\.FIELD\s*=\s*["'](.*)["'] *`: the last `.FIELD =` followed by a quote that has another
    /// quote after it; the value runs from that quote to the last quote on the line.
    static func quotedAssignment(_ b: [UInt8], field: String) -> String? {
        guard let lastQuote = b.lastIndex(where: { $0 == 0x22 || $0 == 0x27 }) else { return nil }
        for open in assignmentValueStarts(b, field: field).reversed() {
            guard open < b.count, b[open] == 0x22 || b[open] == 0x27, lastQuote > open else { continue }
            return String(decoding: b[(open + 1)..<lastQuote], as: UTF8.self)
        }
        return nil
    }

    /// syft's `.*\.FIELD\s*=\s*\[(.*)] *`: the text between the `[` and the last `]` on the line.
    static func listAssignment(_ b: [UInt8], field: String) -> String? {
        guard let lastBracket = b.lastIndex(of: UInt8(ascii: "]")) else { return nil }
        for open in assignmentValueStarts(b, field: field).reversed() {
            guard open < b.count, b[open] == UInt8(ascii: "["), lastBracket > open else { continue }
            return String(decoding: b[(open + 1)..<lastBracket], as: UTF8.self)
        }
        return nil
    }

    /// For each `.FIELD` followed by optional spaces, `=` and optional spaces: the index after them.
    static func assignmentValueStarts(_ b: [UInt8], field: String) -> [Int] {
        let needle = [UInt8(ascii: ".")] + Array(field.utf8)
        var starts: [Int] = []
        var i = 0
        while i + needle.count <= b.count {
            if b[i] == needle[0], Array(b[i..<(i + needle.count)]) == needle {
                var j = i + needle.count
                while j < b.count, isGoSpace(b[j]) { j += 1 }
                if j < b.count, b[j] == UInt8(ascii: "=") {
                    j += 1
                    while j < b.count, isGoSpace(b[j]) { j += 1 }
                    starts.append(j)
                }
            }
            i += 1
        }
        return starts
    }

    static func isGoSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0C || b == 0x0D }

    /// `\uXXXX` (upper-case hex, as RubyGems writes it) to the character, as syft does.
    static func renderUnicodeEscapes(_ s: String) -> String {
        guard s.contains("\\u") else { return s }
        var out = ""
        var scalars = Array(s.unicodeScalars)[...]
        while let c = scalars.first {
            if c == "\\", scalars.count >= 6, scalars.dropFirst().first == "u" {
                let hex = String(String.UnicodeScalarView(scalars.dropFirst(2).prefix(4)))
                if hex.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("A"..."F").contains($0) }),
                   let v = UInt32(hex, radix: 16), let u = Unicode.Scalar(v) {
                    out.unicodeScalars.append(u)
                    scalars = scalars.dropFirst(6)
                    continue
                }
            }
            out.unicodeScalars.append(c)
            scalars = scalars.dropFirst()
        }
        return out
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation on this path).
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        let b = Array(utf8), t = Array(target.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if i + t.count <= b.count, b[i] == t[0], Array(b[i..<(i + t.count)]) == t {
                out.append(contentsOf: replacement.utf8)
                i += t.count
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
