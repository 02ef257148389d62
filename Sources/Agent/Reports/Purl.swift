// Package URLs: the purl-spec builder (its percent-encoding and qualifier order) and syft's conventions.

/// A package URL (https://github.com/package-url/purl-spec). `description` is the canonical string,
/// built as the spec's "How to build a PURL" says: each namespace segment, the name, the version,
/// each qualifier value and subpath segment percent-encoded; qualifiers with empty values dropped,
/// keys lower-cased and sorted.
public struct Purl: Equatable, Sendable, CustomStringConvertible {
    public struct Qualifier: Equatable, Sendable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    public var type: String
    /// Segments separated by `/`; empty for none.
    public var namespace: String
    public var name: String
    /// Empty for none.
    public var version: String
    public var qualifiers: [Qualifier]
    /// Segments separated by `/`; empty for none.
    public var subpath: String

    public init(type: String, namespace: String = "", name: String, version: String = "",
                qualifiers: [Qualifier] = [], subpath: String = "") {
        self.type = type
        self.namespace = namespace
        self.name = name
        self.version = version
        self.qualifiers = qualifiers
        self.subpath = subpath
    }

    /// Whether the spec allows this purl: a type of ASCII letters, digits, `.+-` not starting with a
    /// digit; a name; qualifier keys of ASCII letters, digits, `.-_` not starting with a digit, unique.
    public var isValid: Bool {
        func ok(_ s: String, extra: Set<Character>) -> Bool {
            guard let f = s.first, !f.isNumber else { return false }
            return s.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || extra.contains($0) }
        }
        guard ok(type, extra: [".", "+", "-"]), !name.isEmpty else { return false }
        let keys = qualifiers.filter { !$0.value.isEmpty }.map { $0.key.lowercased() }
        return keys.allSatisfy { ok($0, extra: [".", "-", "_"]) } && Set(keys).count == keys.count
    }

    public var description: String {
        var out = "pkg:" + type.lowercased() + "/"
        let segments = namespace.split(separator: "/", omittingEmptySubsequences: true)
        for s in segments { out += Purl.percentEncode(String(s)) + "/" }
        out += Purl.percentEncode(name.trimmingSlashes())
        if !version.isEmpty { out += "@" + Purl.percentEncode(version) }
        let pairs = qualifiers.filter { !$0.value.isEmpty }
            .map { (key: $0.key.lowercased(), value: Purl.percentEncode($0.value)) }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        if !pairs.isEmpty { out += "?" + pairs.map { "\($0.key)=\($0.value)" }.joined(separator: "&") }
        let sub = subpath.split(separator: "/").filter { $0 != "." && $0 != ".." }.map { Purl.percentEncode(String($0)) }
        if !sub.isEmpty { out += "#" + sub.joined(separator: "/") }
        return out
    }

    /// Percent-encodes UTF-8 bytes outside the spec's allowed set: ASCII letters and digits, `.-_~`, and
    /// the colon (which the spec says is never encoded). Hex digits are upper-case; space is `%20`.
    public static func percentEncode(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Purl {
    /// The purl syft writes for `package` in an image whose OS is `os` (syft/pkg/cataloger/*/package.go):
    /// deb/apk/rpm with `arch`, `upstream` (deb source[@version], apk origin when it differs from the name,
    /// rpm source rpm), rpm `epoch`, and `distro=<id>-<version id>`; npm scope and composer vendor as the
    /// namespace; maven groupId (the name when unknown); Go module path split at its last slash; PyPI names
    /// normalized (PEP 503). Encoding follows the purl spec, which leaves `:` unencoded where syft's
    /// packageurl-go writes `%3A` (docs/reports.md).
    public init(package p: Package, os: OSRelease?) {
        let m = p.metadata
        switch p.ecosystem {
        case .deb:
            let source = p.debSource
            let upstream = source.name.map { n in source.version.map { n + "@" + $0 } ?? n } ?? ""
            self.init(type: "deb", namespace: os?.id ?? "", name: p.name, version: p.version,
                      qualifiers: [Qualifier("arch", m["arch"] ?? ""), Qualifier("upstream", upstream)] + Purl.distro(os))
        case .apk:
            let origin = m["origin"] ?? ""
            self.init(type: "apk", namespace: (os?.id ?? "").lowercased(), name: p.name, version: p.version,
                      qualifiers: [Qualifier("arch", m["arch"] ?? ""), Qualifier("upstream", origin == p.name ? "" : origin)] + Purl.distro(os))
        case .rpm:
            var namespace = os?.id ?? ""
            if namespace == "rhel" || namespace == "hummingbird" { namespace = "redhat" }
            if namespace.hasPrefix("opensuse") { namespace = "opensuse" }
            let (epoch, version) = RPMVersion.split(p.version, epoch: m["epoch"])
            self.init(type: "rpm", namespace: namespace, name: p.name, version: version,
                      qualifiers: [Qualifier("arch", m["arch"] ?? ""), Qualifier("epoch", epoch ?? ""),
                                   Qualifier("upstream", m["sourceRpm"] ?? "")] + Purl.distro(os))
        case .npm:
            let (ns, name) = Purl.split(p.qualifiedName, atLast: false)
            self.init(type: "npm", namespace: ns, name: name, version: p.version)
        case .python:
            self.init(type: "pypi", name: Purl.normalizePythonName(p.name), version: p.version)
        case .java:
            self.init(type: "maven", namespace: p.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? p.name, name: p.name, version: p.version)
        case .golang:
            let full = p.qualifiedName
            if let slash = full.lastIndex(of: "/"), slash > full.startIndex, full.index(after: slash) < full.endIndex {
                self.init(type: "golang", namespace: String(full[..<slash]), name: String(full[full.index(after: slash)...]), version: p.version)
            } else {
                self.init(type: "golang", name: full, version: p.version)
            }
        case .composer:
            let fields = p.qualifiedName.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if fields.count >= 2 {
                self.init(type: "composer", namespace: fields[0], name: fields.dropFirst().joined(separator: "-"), version: p.version)
            } else {
                self.init(type: "composer", name: p.qualifiedName, version: p.version)
            }
        case .gem, .nuget, .cargo:
            self.init(type: p.ecosystem.purlType, name: p.name, version: p.version)
        }
    }

    /// syft's `distro` qualifier: `<id>-<version id>`, or the id alone.
    static func distro(_ os: OSRelease?) -> [Qualifier] {
        guard let os, !os.id.isEmpty else { return [] }
        return [Qualifier("distro", os.versionID.isEmpty ? os.id : "\(os.id)-\(os.versionID)")]
    }

    /// Splits `a/b/c` at its first (npm: `@scope/name`) or last slash into namespace and name.
    static func split(_ s: String, atLast: Bool) -> (String, String) {
        guard let i = atLast ? s.lastIndex(of: "/") : s.firstIndex(of: "/") else { return ("", s) }
        return (String(s[..<i]), String(s[s.index(after: i)...]))
    }

    /// PEP 503: runs of `-`, `_`, `.` become one `-`, lower-cased.
    public static func normalizePythonName(_ name: String) -> String {
        var out = ""
        var inRun = false
        for c in name.lowercased() {
            if c == "-" || c == "_" || c == "." {
                if !inRun { out.append("-") }
                inRun = true
            } else {
                out.append(c)
                inRun = false
            }
        }
        return out
    }
}

/// rpm versions as the scanner writes them (`[epoch:]version-release`) and as purls want them.
enum RPMVersion {
    /// The epoch (from metadata, else a leading `N:`) and the version without it.
    static func split(_ version: String, epoch: String?) -> (epoch: String?, version: String) {
        var rest = version
        var found = epoch.flatMap { $0.isEmpty ? nil : $0 }
        if let colon = version.firstIndex(of: ":"), !version[..<colon].isEmpty, version[..<colon].allSatisfy(\.isNumber) {
            if found == nil { found = String(version[..<colon]) }
            rest = String(version[version.index(after: colon)...])
        }
        return (found, rest)
    }
}

extension String {
    func trimmingSlashes() -> String {
        var s = Substring(self)
        while s.first == "/" { s.removeFirst() }
        while s.last == "/" { s.removeLast() }
        return String(s)
    }
}
