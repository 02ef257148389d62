// A package found in an image: what it is, which version, and where it was found.

/// The package ecosystems the scanner knows, named as syft and purl name them.
public enum Ecosystem: String, Sendable, CaseIterable, Comparable {
    case deb, apk, rpm, npm, python, java, golang, gem, composer, nuget, cargo

    /// The purl type (https://github.com/package-url/purl-spec).
    public var purlType: String {
        switch self {
        case .deb: return "deb"
        case .apk: return "apk"
        case .rpm: return "rpm"
        case .npm: return "npm"
        case .python: return "pypi"
        case .java: return "maven"
        case .golang: return "golang"
        case .gem: return "gem"
        case .composer: return "composer"
        case .nuget: return "nuget"
        case .cargo: return "cargo"
        }
    }

    /// OS package managers, reported in the first (OS) scan result.
    public var isOSPackageManager: Bool { self == .deb || self == .apk || self == .rpm }

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
    /// Ecosystem facts: `arch`, `source`, `sourceVersion`, `origin`, `epoch`, `release`, `sourceRpm`,
    /// `license`, ... Keys are documented in docs/packages.md.
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
}
