// RPM packages: their metadata, versions, purls and snyk identity, beside RpmCataloger.

/// rpm's facts about an installed package, from its header.
struct RpmMetadata: Equatable {
    var arch: String?
    var epoch: String?
    var release: String?
    /// The source rpm's file name (`name-version-release.src.rpm`).
    var sourceRpm: String?
    var license: String?
    var vendor: String?
    /// Installed size in bytes.
    var size: String?
}

extension RpmMetadata: PackageMetadata {
    init(entries m: [String: String]) {
        self.init(arch: m[MetadataKey.arch], epoch: m["epoch"], release: m["release"], sourceRpm: m["sourceRpm"],
                  license: m[MetadataKey.license], vendor: m["vendor"], size: m["size"])
    }

    var entries: [String: String] {
        [String: String](metadata: [MetadataKey.arch: arch, "epoch": epoch, "release": release, "sourceRpm": sourceRpm,
                                    MetadataKey.license: license, "vendor": vendor, "size": size])
    }
}

extension Ecosystem {
    public static let rpm = Ecosystem(RpmEcosystem.self)
}

enum RpmEcosystem: PackageEcosystem {
    static let id = "rpm"
    static var catalogers: [any Cataloger] { [RpmCataloger()] }
    static let purlType = "rpm"
    static let syftType = "rpm"
    static let sourceKind = "RPM DB"
    static let isOSPackageManager = true
    static let snykType = "rpm"

    /// syft's rpm purl: the OS id as namespace (`rhel` as `redhat`, openSUSE's as `opensuse`), the version
    /// without its epoch, `arch`, `epoch`, `upstream` (the source rpm) and `distro`.
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        let m = p.metadata(as: RpmMetadata.self)
        var namespace = os?.id ?? ""
        if namespace == "rhel" || namespace == "hummingbird" { namespace = "redhat" }
        if namespace.hasPrefix("opensuse") { namespace = "opensuse" }
        let (epoch, version) = RPMVersion.split(p.version, epoch: m.epoch)
        return Purl(type: purlType, namespace: namespace, name: p.name, version: version,
                    qualifiers: [.init("arch", m.arch ?? ""), .init("epoch", epoch ?? ""), .init("upstream", m.sourceRpm ?? "")] + Purl.distro(os),
                    spelling: .syft)
    }

    /// lib/analyzer/package-managers/rpm.ts `purl`: `upstream=<name>@<version>-<release>` of the source
    /// rpm, `epoch`, `distro=<os>-<version>`.
    static func snykPurl(_ p: Package, os: SnykOS) -> String? {
        let m = p.metadata(as: RpmMetadata.self)
        var upstream = ""
        if let src = m.sourceRpm, let s = sourceRPM(src) { upstream = "\(s.name)@\(s.version)-\(s.release)" }
        let epoch = RPMVersion.split(p.version, epoch: m.epoch).epoch ?? ""
        return Purl(type: purlType, namespace: os.name, name: p.name, version: p.version,
                    qualifiers: [.init("upstream", upstream), .init("epoch", epoch), .init("distro", "\(os.name)-\(os.version)")]).description
    }

    /// rpm.ts `parseSourceRPM`: `name-version-release.src.rpm`.
    static func sourceRPM(_ s: String) -> (name: String, version: String, release: String)? {
        guard s.hasSuffix(".src.rpm") else { return nil }
        let base = s.dropLast(".src.rpm".count)
        guard let r = base.lastIndex(of: "-"), r > base.startIndex, base.index(after: r) < base.endIndex else { return nil }
        let nv = base[..<r]
        guard let v = nv.lastIndex(of: "-"), v > nv.startIndex, nv.index(after: v) < nv.endIndex else { return nil }
        return (String(nv[..<v]), String(nv[nv.index(after: v)...]), String(base[base.index(after: r)...]))
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
