// A package found in an image: what it is, which version, where it was found, and its ecosystem's facts.

/// A package ecosystem, as a value packages carry and reports ask: `deb`, `npm`, ... Each one's knowledge
/// (`PackageEcosystem`) is declared beside its cataloger, with its static member (`Ecosystem.deb`), and
/// registered in `Catalogers.ecosystems`.
public struct Ecosystem: Sendable, Hashable, Comparable, CustomStringConvertible {
    let kind: any PackageEcosystem.Type

    init(_ kind: any PackageEcosystem.Type) { self.kind = kind }

    /// The registered ecosystem named `rawValue` (cached layer findings name packages' ecosystems so).
    public init?(rawValue: String) {
        guard let e = Catalogers.ecosystemsByID[rawValue] else { return nil }
        self = e
    }

    /// The stable identifier (`deb`, `python`, `golang`): cached findings and report ids are keyed by it.
    public var rawValue: String { kind.id }

    /// The purl type (https://github.com/package-url/purl-spec).
    public var purlType: String { kind.purlType }

    /// OS package managers, reported in the first (OS) scan result.
    public var isOSPackageManager: Bool { kind.isOSPackageManager }

    public var description: String { rawValue }

    public static func == (a: Ecosystem, b: Ecosystem) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }
    public static func < (a: Ecosystem, b: Ecosystem) -> Bool { a.rawValue < b.rawValue }
}

/// Where a package was found: the layer (by its compressed digest) and the file's absolute path.
public struct PackageLocation: Hashable, Sendable, Comparable {
    public let layerDigest: String
    public let path: String

    public init(layerDigest: String, path: String) {
        self.layerDigest = layerDigest
        self.path = path
    }

    public static func < (a: PackageLocation, b: PackageLocation) -> Bool { (a.path, a.layerDigest) < (b.path, b.layerDigest) }
}

public struct Package: Hashable, Sendable {
    public let ecosystem: Ecosystem
    /// For maven: `groupId:artifactId` is split into `namespace` and `name`.
    public let name: String
    /// The version exactly as the ecosystem writes it (dpkg with epoch `1:2.3-4`; rpm `epoch:version-release`).
    public let version: String
    /// purl namespace where the ecosystem has one (maven groupId, golang module path prefix, npm scope).
    public let namespace: String?
    public let location: PackageLocation
    /// Ecosystem facts, stored as strings (the layer cache, the caps and the SBOM properties treat them
    /// alike) under the keys each ecosystem's typed `PackageMetadata` names; docs/packages.md lists them.
    public let metadata: [String: String]

    public init(ecosystem: Ecosystem, name: String, version: String, namespace: String? = nil,
                location: PackageLocation, metadata: [String: String] = [:]) {
        self.ecosystem = ecosystem
        self.name = name
        self.version = version
        self.namespace = namespace
        self.location = location
        self.metadata = metadata
    }

    /// A package with its ecosystem's typed metadata.
    public init(ecosystem: Ecosystem, name: String, version: String, namespace: String? = nil,
                location: PackageLocation, metadata: some PackageMetadata) {
        self.init(ecosystem: ecosystem, name: name, version: version, namespace: namespace, location: location,
                  metadata: metadata.entries)
    }

    /// The metadata read as the ecosystem's typed fields.
    public func metadata<M: PackageMetadata>(as type: M.Type) -> M { M(entries: metadata) }
}

/// An ecosystem's package metadata as typed fields, and the keys they are stored under in
/// `Package.metadata`: each key is spelled once, in its type's `entries`.
public protocol PackageMetadata: Sendable {
    init(entries: [String: String])
    /// The fields that are set, by key.
    var entries: [String: String] { get }
}

/// Metadata keys several ecosystems share, spelled once.
public enum MetadataKey {
    /// The CPU architecture the package is built for (`amd64`, `x86_64`, `noarch`).
    public static let arch = "arch"
    /// The license as the package declares it; SBOMs write it in their license fields.
    public static let license = "license"
}

extension Dictionary where Key == String, Value == String {
    /// Entries from `(key, value)` pairs, leaving out the nil values.
    init(metadata pairs: KeyValuePairs<String, String?>) {
        self.init()
        for (k, v) in pairs { if let v { self[k] = v } }
    }
}

extension Optional where Wrapped == String {
    /// The string, or nil when it is nil or empty: metadata leaves empty fields out.
    var nonEmpty: String? { flatMap { $0.isEmpty ? nil : $0 } }
}
