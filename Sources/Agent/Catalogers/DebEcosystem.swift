// Debian packages (dpkg): their metadata, names, purls and snyk identity, beside DpkgCataloger.

/// dpkg's facts about an installed package, as the status file states them.
struct DebMetadata: Equatable {
    var arch: String?
    /// The Source field's name, or the package's own name when absent (as dpkg-query fills it in).
    var source: String?
    /// The Source field's version, or the package's own version when it has none.
    var sourceVersion: String?
    var maintainer: String?
    var installedSize: String?
}

extension DebMetadata: PackageMetadata {
    init(entries m: [String: String]) {
        self.init(arch: m[MetadataKey.arch], source: m["source"], sourceVersion: m["sourceVersion"], maintainer: m["maintainer"],
                  installedSize: m["installedSize"])
    }

    var entries: [String: String] {
        [String: String](metadata: [MetadataKey.arch: arch, "source": source, "sourceVersion": sourceVersion,
                                    "maintainer": maintainer, "installedSize": installedSize])
    }
}

extension Ecosystem {
    public static let deb = Ecosystem(DebEcosystem.self)
}

enum DebEcosystem: PackageEcosystem {
    static let id = "deb"
    static var catalogers: [any Cataloger] { [DpkgCataloger()] }
    static let purlType = "deb"
    static let syftType = "deb"
    static let sourceKind = "DPKG DB"
    static let isOSPackageManager = true
    static let snykType = "deb"

    /// dpkg's Source package and version as the status file states them. The scanner fills `source` and
    /// `sourceVersion` in as dpkg-query does (the binary's own name and version when the Source field is
    /// absent or has no version); syft's `upstream` and snyk's `<source>/<name>` use only what the field
    /// says, which is exactly what differs from those defaults.
    static func source(_ p: Package) -> (name: String?, version: String?) {
        let m = p.metadata(as: DebMetadata.self)
        guard let s = m.source, !s.isEmpty else { return (nil, nil) }
        let sv = m.sourceVersion.flatMap { $0.isEmpty || $0 == p.version ? nil : $0 }
        if s == p.name && sv == nil { return (nil, nil) }
        return (s, sv)
    }

    /// `source[@version]`, the purls' `upstream` qualifier.
    static func upstream(_ p: Package) -> String {
        let source = source(p)
        return source.name.map { n in source.version.map { n + "@" + $0 } ?? n } ?? ""
    }

    /// syft's deb purl: the OS id as namespace, `arch`, `upstream` and `distro` qualifiers.
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        Purl(type: purlType, namespace: os?.id ?? "", name: p.name, version: p.version,
             qualifiers: [.init("arch", p.metadata(as: DebMetadata.self).arch ?? ""), .init("upstream", upstream(p))] + Purl.distro(os),
             spelling: .syft)
    }

    /// `<source>/<name>` when the Source field names one (lib/dependency-tree/index.ts `depFullName`).
    static func snykName(_ p: Package) -> String {
        guard let s = source(p).name, !s.isEmpty else { return p.name }
        return s + "/" + p.name
    }

    /// lib/analyzer/package-managers/apt.ts `purl`: `upstream` and `distro=<os>-<codename>`.
    static func snykPurl(_ p: Package, os: SnykOS) -> String? {
        let distro = "\(os.name)-\(SnykOS.debianCodenames[os.version] ?? os.version)"
        return Purl(type: purlType, namespace: os.name, name: p.name, version: p.version,
                    qualifiers: [.init("upstream", upstream(p)), .init("distro", distro)]).description
    }
}
