// How reports name, type, identify and order packages (shared by every format).

extension Package {
    /// The name people know the package by: npm `@scope/name`, the Go module path, composer
    /// `vendor/name`; for maven the artifactId (its groupId stays in `namespace`).
    public var qualifiedName: String { ecosystem.kind.qualifiedName(self) }

    /// Metadata keys reports do not copy into properties: `license` has fields of its own; `purl` is what
    /// the application catalogers used to put there (layer findings cached on disk before may still carry
    /// it): purls are made by `Purl(package:os:)` alone.
    static let reportedElsewhere: Set<String> = [MetadataKey.license, "purl"]

    /// syft's package type names (`syft:package:type`, the table's TYPE column).
    public var syftType: String { ecosystem.kind.syftType }

    /// syft's language names (`syft:package:language`); nil for OS packages.
    var syftLanguage: String? { ecosystem.kind.syftLanguage }

    /// A 16-hex-digit id, stable across runs and unique per (ecosystem, namespace, name, version, location).
    var reportID: String {
        DocumentID.shortHash([ecosystem.rawValue, namespace ?? "", name, version, location.layerDigest, location.path].joined(separator: "\u{0}"))
    }

    /// The order every report lists packages in: name, version, type, path, layer (byte-wise, so it is
    /// the same on every machine).
    static func reportOrder(_ a: Package, _ b: Package) -> Bool {
        let ka = [a.qualifiedName, a.version, a.syftType, a.namespace ?? "", a.location.path, a.location.layerDigest]
        let kb = [b.qualifiedName, b.version, b.syftType, b.namespace ?? "", b.location.path, b.location.layerDigest]
        for (x, y) in zip(ka, kb) where x != y { return x.precedesInBytes(y) }
        return false
    }
}

extension ImageInventory {
    /// Packages in report order.
    var sortedPackages: [Package] { packages.sorted(by: Package.reportOrder) }

    /// The config's diff_id for a layer's compressed digest (syft calls it the layer ID), when known.
    func diffID(forLayer digest: String) -> String? {
        guard let i = layerDigests.firstIndex(of: digest), i < diffIDs.count else { return nil }
        return diffIDs[i]
    }
}
