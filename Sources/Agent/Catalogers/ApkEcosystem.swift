// Alpine packages (apk): their metadata, names, purls and snyk identity, beside ApkCataloger.

/// apk's facts about an installed package, from the `lib/apk/db/installed` record.
struct ApkMetadata: Equatable {
    var arch: String?
    /// The origin (source) package, `o:`.
    var origin: String?
    var license: String?
}

extension ApkMetadata: PackageMetadata {
    init(entries m: [String: String]) { self.init(arch: m[MetadataKey.arch], origin: m["origin"], license: m[MetadataKey.license]) }

    var entries: [String: String] {
        [String: String](metadata: [MetadataKey.arch: arch, "origin": origin, MetadataKey.license: license])
    }
}

extension Ecosystem {
    public static let apk = Ecosystem(ApkEcosystem.self)
}

enum ApkEcosystem: PackageEcosystem {
    static let id = "apk"
    static var catalogers: [any Cataloger] { [ApkCataloger()] }
    static let purlType = "apk"
    static let syftType = "apk"
    static let sourceKind = "APK DB"
    static let isOSPackageManager = true
    static let snykType = "apk"

    /// syft's apk purl: the OS id (lower case) as namespace, `arch`, `upstream` (the origin when it differs
    /// from the name) and `distro`.
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        let m = p.metadata(as: ApkMetadata.self)
        let origin = m.origin ?? ""
        return Purl(type: purlType, namespace: (os?.id ?? "").lowercased(), name: p.name, version: p.version,
                    qualifiers: [.init("arch", m.arch ?? ""), .init("upstream", origin == p.name ? "" : origin)] + Purl.distro(os),
                    spelling: .syft)
    }

    /// `<origin>/<name>` when the origin is known (lib/dependency-tree/index.ts `depFullName`); no purl.
    static func snykName(_ p: Package) -> String {
        guard let origin = p.metadata(as: ApkMetadata.self).origin, !origin.isEmpty else { return p.name }
        return origin + "/" + p.name
    }
}
