// Rust crates: their metadata, purls and snyk identity, beside CargoLockCataloger.

/// What a Cargo.lock `[[package]]` table says beyond name and version.
struct CargoMetadata: Equatable {
    /// Where the crate comes from (`registry+https://...`); none for a workspace member or path dependency.
    var source: String?
    var checksum: String?
}

extension CargoMetadata: PackageMetadata {
    init(entries m: [String: String]) { self.init(source: m["source"], checksum: m["checksum"]) }

    var entries: [String: String] { [String: String](metadata: ["source": source, "checksum": checksum]) }
}

extension Ecosystem {
    public static let cargo = Ecosystem(CargoEcosystem.self)
}

enum CargoEcosystem: PackageEcosystem {
    static let id = "cargo"
    static var catalogers: [any Cataloger] { [CargoLockCataloger()] }
    static let purlType = "cargo"
    static let syftType = "rust-crate"
    static let syftLanguage: String? = "rust"
    static let sourceKind = "rust cargo manifest"
    static let snykType = "cargo"

    static func purl(_ p: Package, os: OSRelease?) -> Purl { plainPurl(p) }

    /// A crate without a `source` (a workspace member or path dependency) gets none from syft
    /// (rust/package.go `cargoLockPackageURL`): a cargo purl without a repository means crates.io.
    static func hasPurl(_ p: Package) -> Bool { !(p.metadata(as: CargoMetadata.self).source ?? "").isEmpty }
}
