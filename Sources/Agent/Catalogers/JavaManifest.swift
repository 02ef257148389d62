// Java archive metadata as syft reads it: META-INF/MANIFEST.MF (main section and named sections),
// pom.properties, and the group ID chosen from them for a package URL.

/// `MANIFEST.MF`: the main attributes and the named sections, keys and values as written.
struct JavaManifest {
    var main: [(key: String, value: String)] = []
    var sections: [[(key: String, value: String)]] = []

    /// syft's parser: blank lines separate sections, a line starting with a space continues the last
    /// value (trimmed), `key: value` split at the first colon.
    init(_ bytes: [UInt8]) {
        var all: [[(key: String, value: String)]] = []
        var lastKey: String?
        for rawLine in JavaManifest.lines(bytes) {
            if rawLine.isEmpty { lastKey = nil; continue }
            if rawLine.first == 0x20 {
                guard lastKey != nil, !all.isEmpty, !all[all.count - 1].isEmpty else { continue }
                let n = all[all.count - 1].count
                all[all.count - 1][n - 1].value += String(decoding: rawLine, as: UTF8.self).trimmedASCIIWhitespace
                continue
            }
            guard let colon = rawLine.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let key = String(decoding: rawLine[rawLine.startIndex..<colon], as: UTF8.self).trimmedASCIIWhitespace
            let value = String(decoding: rawLine[(colon + 1)...], as: UTF8.self).trimmedASCIIWhitespace
            guard !key.isEmpty else { continue }
            if lastKey == nil { all.append([]) }
            all[all.count - 1].append((key, value))
            lastKey = key
        }
        if let first = all.first { main = first }
        sections = Array(all.dropFirst())
    }

    /// Lines split at `\n` with one trailing `\r` dropped (Go's bufio.ScanLines).
    static func lines(_ b: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        while start < b.count {
            var end = start
            while end < b.count, b[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start, b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            out.append(b[start..<lineEnd])
            start = end + 1
        }
        return out
    }

    /// The first value of `key` in the main section ("" if absent).
    func mainValue(_ key: String) -> String { main.first { $0.key == key }?.value ?? "" }

    func mainHas(_ key: String) -> Bool { main.contains { $0.key == key } }

    /// The first non-empty value of `key`, main section first, then the named sections.
    func anyValue(_ key: String) -> String {
        for section in [main] + sections {
            if let v = section.first(where: { $0.key == key })?.value, !v.isEmpty { return v }
        }
        return ""
    }
}

/// `pom.properties` as Maven writes it (`groupId=...`), as syft reads it.
struct PomProperties: Equatable {
    var groupId = "", artifactId = "", version = ""
    /// Path inside the archive.
    var path = ""

    /// nil when a non-comment line has neither `=` nor `:` (syft drops the whole file then).
    init?(_ bytes: [UInt8], path: String) {
        self.path = path
        for line in JavaManifest.lines(bytes) {
            let text = String(decoding: line, as: UTF8.self)
            if text.trimmedASCIIWhitespace.isEmpty || text.drop(while: { $0 == " " }).hasPrefix("#") { continue }
            guard let sep = text.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return nil }
            let key = String(text[..<sep]).trimmedASCIIWhitespace.lowercased()
            let value = String(text[text.index(after: sep)...]).trimmedASCIIWhitespace
            // mapstructure matches field names without regard to case.
            switch key {
            case "groupid": groupId = value
            case "artifactid": artifactId = value
            case "version": version = value
            default: break
            }
        }
    }

    init(groupId: String, artifactId: String, version: String, path: String = "") {
        self.groupId = groupId
        self.artifactId = artifactId
        self.version = version
        self.path = path
    }
}

/// syft's choice of a Maven group ID: pom.properties, then (where syft has it) its artifact-to-group
/// table, then manifest attributes that look like reverse domain names.
enum JavaGroupID {
    static let primaryManifestFields = ["Group-Id", "Bundle-SymbolicName", "Extension-Name", "Specification-Vendor",
                                        "Implementation-Vendor", "Implementation-Vendor-Id", "Implementation-Title", "Bundle-Activator"]
    static let secondaryManifestFields = ["Automatic-Module-Name", "Main-Class", "Package"]
    static let domains = ["com", "org", "net", "io", "be"]

    /// The group ID of a package named `name` with these pom.properties and manifest; "" if none.
    static func of(pom: PomProperties?, manifest: JavaManifest?, work: CatalogWork? = nil) -> String {
        if let pom {
            if !pom.groupId.isEmpty { return cleanPom(pom.groupId) }
            if pom.artifactId.contains(".") { return cleanPom(pom.artifactId) }
        }
        // syft consults its built-in artifact-to-group table here (cpegenerate.DefaultArtifactIDToGroupID);
        // we do not carry that table.
        guard let manifest else { return "" }
        if let g = fromManifest(manifest, fields: primaryManifestFields, work: work) { return g }
        return fromManifest(manifest, fields: secondaryManifestFields, work: work) ?? ""
    }

    /// Every value of the fields (main and named sections) that starts like a domain, cleaned; the
    /// smallest in byte order (syft sorts the candidates and takes the first).
    static func fromManifest(_ m: JavaManifest, fields: [String], work: CatalogWork? = nil) -> String? {
        var found: [String] = []
        for field in fields {
            _ = work?.count(m.main.count + m.sections.reduce(0) { $0 + $1.count })
            for section in [m.main] + m.sections {
                if let v = section.first(where: { $0.key == field })?.value, domains.contains(where: { v.hasPrefix($0) }) {
                    found.append(cleanManifest(v))
                }
            }
        }
        return found.min { $0.precedesInBytes($1) }
    }

    /// `org.bar;uses:="org.foo"` -> `org.bar`.
    static func cleanPom(_ g: String) -> String {
        String(g.prefix { $0 != ";" }).trimmedASCIIWhitespace
    }

    static func cleanManifest(_ g: String) -> String {
        let cleaned = String(g.prefix { $0 != ";" }.prefix { $0 != "#" }).trimmedASCIIWhitespace
        return cleaned == "org.lz4.java" ? "org.lz4" : cleaned
    }
}
