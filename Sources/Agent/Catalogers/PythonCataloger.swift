// Installed Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and the single-file
// `*.egg-info`, read as syft's python-installed-package-cataloger reads them (core-metadata headers).

/// Installed Python distributions from dist-info and egg-info metadata (ecosystem `.python`).
public struct PythonCataloger: Cataloger {
    public let name = "python"
    public let version = 1

    public init() {}

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        let p = entry.path
        if CatalogPath.hasSuffix(p, "/METADATA") {
            return CatalogPath.hasSuffix(p, "dist-info/METADATA") || CatalogPath.hasSuffix(p, "DIST-INFO/METADATA") ? .whole : .none
        }
        if CatalogPath.hasSuffix(p, "/PKG-INFO") {
            return CatalogPath.hasSuffix(p, "egg-info/PKG-INFO") || CatalogPath.hasSuffix(p, "EGG-INFO/PKG-INFO") ? .whole : .none
        }
        return CatalogPath.hasSuffix(p, ".egg-info") ? .whole : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var warnings = CatalogWarnings(path: file.entry.path)
        guard let bytes = ApplicationCatalogers.manifestBytes(file, kind: "Python metadata", warnings: &warnings) else {
            return CatalogResult(warnings: warnings.all)
        }
        let fields = Self.headerFields(bytes, work: file.work) { warnings.add($0) }
        guard let package = Self.package(from: fields, location: file.location) else {
            return CatalogResult(warnings: warnings.all)
        }
        return CatalogResult(packages: [package], warnings: warnings.all)
    }

    /// The package the metadata fields describe: syft skips a nameless one and `Python` itself (the
    /// interpreter's own egg-info on Python 2.7); we also skip one without a version.
    static func package(from fields: [String: String], location: PackageLocation) -> Package? {
        let declared = fields["Name"] ?? ""
        let version = fields["Version"] ?? ""
        guard !declared.isEmpty, declared != "Python", !version.isEmpty else { return nil }
        let name = normalizedName(declared)
        let metadata = PythonMetadata(declaredName: declared != name ? declared : nil,
                                      license: [fields["LicenseExpression"], fields["License"]].compactMap({ $0 }).first(where: { !$0.isEmpty }))
        return Package(ecosystem: .python, name: name, version: version, location: location, metadata: metadata)
    }

    /// PEP 503 normalization, as syft names Python packages: lower case, each run of `-_.` one `-`.
    static func normalizedName(_ name: String) -> String {
        var out: [UInt8] = []
        var inRun = false
        for b in name.utf8 {
            if b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") {
                if !inRun { out.append(UInt8(ascii: "-")) }
                inRun = true
            } else {
                out.append(b >= 0x41 && b <= 0x5A ? b + 32 : b)
                inRun = false
            }
        }
        // Non-ASCII letters are lowered too (Go's strings.ToLower), via the String API.
        let s = String(decoding: out, as: UTF8.self)
        return s.utf8.allSatisfy({ $0 < 0x80 }) ? s : s.lowercased()
    }

    /// The header block of a core-metadata file (RFC 822 style, up to the first blank line after a field):
    /// keys with their dashes removed (`License-Expression` -> `LicenseExpression`), the last value of a
    /// repeated key, continuation lines (starting with a space) joined with "\n ". The value being read is
    /// built in place (each byte copied once, however many continuation lines); `work` counts bytes examined
    /// and copied.
    static func headerFields(_ bytes: [UInt8], work: CatalogWork = CatalogWork(), warn: (String) -> Void) -> [String: String] {
        var fields: [String: String] = [:]
        var key: String?
        var value = ""
        var warned = false
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            if work.count(end - start + 1) { break }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            start = end + 1
            if line.isEmpty {
                if key != nil || !fields.isEmpty { break }
                continue
            }
            if line.first == 0x20 {
                if key != nil {
                    let more = String(decoding: line, as: UTF8.self).trimmedASCIIWhitespace
                    _ = work.count(more.utf8.count + 2)
                    value += "\n "
                    value += more
                } else if !warned {
                    warn("continuation line with no field before it ignored")
                    warned = true
                }
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { continue }
            let k = String(decoding: line[line.startIndex..<colon].filter { $0 != UInt8(ascii: "-") }, as: UTF8.self).trimmedASCIIWhitespace
            if let key { fields[key] = value }
            value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmedASCIIWhitespace
            key = k
        }
        if let key { fields[key] = value }
        return fields
    }
}
