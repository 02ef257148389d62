// Package URLs: the one builder for every purl the reports write; package purls spelled as syft spells them,
// with syft's per-ecosystem conventions (`Purl(package:os:)`).
import Core

/// A package URL (https://github.com/package-url/purl-spec). `description` is the string, built as the
/// spec's "How to build a PURL" says (each namespace segment, the name, the version, each qualifier value
/// and the subpath percent-encoded; qualifiers with empty values dropped, keys lower-cased and sorted) in
/// one of two spellings (`Spelling`) that differ in which bytes are percent-encoded. Both decode to the same
/// components (for names without leading or trailing slashes and subpaths without `.`/`..` segments, which
/// only the specification's spelling normalizes), so purl parsers see the same package either way.
public struct Purl: Equatable, Sendable, CustomStringConvertible {
    public struct Qualifier: Equatable, Sendable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    /// Which bytes are percent-encoded.
    public enum Spelling: Equatable, Sendable {
        /// syft's: anchore/packageurl-go v0.2.0 (`escape`: Go's `url.QueryEscape`, a space as `%20`), which
        /// encodes every byte but ASCII letters, digits and `-_.~` in each namespace segment, the name, the
        /// version and each qualifier key and value (`1:1.2.13` -> `1%3A1.2.13`); the subpath as Go's
        /// `net/url` writes a fragment. What `Purl(package:os:)` gives, and what users compare against.
        case syft
        /// The purl specification's (standard/specification.md, "Character encoding"): as `.syft`, but the
        /// colon is never encoded, a name loses leading and trailing slashes, and `.`/`..` subpath segments
        /// are dropped. packageurl-js, which snyk-docker-plugin uses, also keeps the colon in versions.
        case purlSpec
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
    /// How `description` percent-encodes.
    public var spelling: Spelling

    /// A purl from its components. The spelling defaults to the specification's, which the snyk
    /// dep-graph's OS purls (snyk-docker-plugin's packageurl-js) and the image's `oci` purl use; package
    /// purls come from `Purl(package:os:)`, which spells them as syft does.
    public init(type: String, namespace: String = "", name: String, version: String = "",
                qualifiers: [Qualifier] = [], subpath: String = "", spelling: Spelling = .purlSpec) {
        self.type = type
        self.namespace = namespace
        self.name = name
        self.version = version
        self.qualifiers = qualifiers
        self.subpath = subpath
        self.spelling = spelling
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

    public var description: String { string(spelling) }

    /// The purl spelled as `spelling` says.
    public func string(_ spelling: Spelling) -> String {
        let syft = spelling == .syft
        func encode(_ s: String) -> String { Purl.percentEncode(s, keepColon: !syft) }
        var out = "pkg:" + type.lowercased() + "/"
        for s in namespace.split(separator: "/", omittingEmptySubsequences: true) { out += encode(String(s)) + "/" }
        out += encode(syft ? name : name.trimmingSlashes())
        if !version.isEmpty { out += "@" + encode(version) }
        let pairs = qualifiers.filter { !$0.value.isEmpty }
            .map { (key: $0.key.lowercased(), value: encode($0.value)) }
            .sorted { $0.key.precedesInBytes($1.key) }
        if !pairs.isEmpty { out += "?" + pairs.map { "\(syft ? encode($0.key) : $0.key)=\($0.value)" }.joined(separator: "&") }
        if syft {
            if !subpath.isEmpty { out += "#" + Purl.goFragmentEscape(subpath) }
        } else {
            let sub = subpath.split(separator: "/").filter { $0 != "." && $0 != ".." }.map { encode(String($0)) }
            if !sub.isEmpty { out += "#" + sub.joined(separator: "/") }
        }
        return out
    }

    /// Percent-encodes every UTF-8 byte but ASCII letters and digits, `.-_~`, and (`keepColon`) the
    /// colon. Hex digits are upper-case; a space is `%20`. Without `keepColon` this is packageurl-go's
    /// `escape` (Go's `url.QueryEscape` with `+` for a space written `%20`) byte for byte.
    public static func percentEncode(_ s: String, keepColon: Bool) -> String {
        PercentEncoding.encode(s) { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                return true
            case UInt8(ascii: ":"):
                return keepColon
            default:
                return false
            }
        }
    }

    /// Go's `url.URL.EscapedFragment` for a fragment it has to escape (packageurl-go puts the subpath in
    /// the URL's fragment): letters, digits, `-_.~`, `$&+,/:;=?@` and `!()*` stay; everything else is
    /// encoded.
    static func goFragmentEscape(_ s: String) -> String {
        PercentEncoding.encode(s) { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return Array("-_.~$&+,/:;=?@!()*".utf8).contains(b)
            }
        }
    }
}

extension Purl {
    /// The purl syft writes for `package` in an image whose OS is `os`, spelled as syft spells it (`.syft`),
    /// as the package's ecosystem builds it (Sources/Agent/Catalogers/*Ecosystem.swift, after syft's
    /// syft/pkg/cataloger/*/package.go): OS packages with `arch`, `upstream` and `distro`, npm scope and
    /// composer vendor as the namespace, the maven groupId, the Go module path split at its last slash,
    /// PyPI names normalized (PEP 503).
    ///
    /// Every package gets one, including a cargo crate without a `source`, for which syft writes none:
    /// `Purl.forPackage(_:os:)` is this with syft's "no purl" cases left out.
    public init(package p: Package, os: OSRelease?) {
        self = p.ecosystem.kind.purl(p, os: os)
    }

    /// The purl syft writes for `package`, or nil where syft writes none (a cargo crate without a
    /// `source`, rust/package.go `cargoLockPackageURL`).
    public static func forPackage(_ p: Package, os: OSRelease?) -> Purl? {
        p.ecosystem.kind.hasPurl(p) ? Purl(package: p, os: os) : nil
    }

    /// syft's `distro` qualifier: `<id>-<version id>`, or the id alone.
    static func distro(_ os: OSRelease?) -> [Qualifier] {
        guard let os, !os.id.isEmpty else { return [] }
        return [Qualifier("distro", os.versionID.isEmpty ? os.id : "\(os.id)-\(os.versionID)")]
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
