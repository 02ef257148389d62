// Debian packages from dpkg's status database: /var/lib/dpkg/status and distroless /var/lib/dpkg/status.d/*.

public struct DpkgCataloger: Cataloger {
    public let name = "dpkg"
    public let version = 1

    public static let statusPath = "/var/lib/dpkg/status"
    public static let statusDirectory = "/var/lib/dpkg/status.d/"
    /// Larger status files are skipped with a warning (a big Debian root has a few megabytes).
    public static let maxFileBytes = 64 << 20

    public init() {}

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        if entry.path == Self.statusPath { return .whole }
        guard entry.path.hasPrefix(Self.statusDirectory) else { return .none }
        let rest = entry.path.utf8.dropFirst(Self.statusDirectory.utf8.count)
        // Distroless keeps one file per package there, plus `<package>.md5sums` files that are not stanzas.
        guard !rest.isEmpty, !rest.contains(UInt8(ascii: "/")), !entry.path.hasSuffix(".md5sums") else { return .none }
        return .whole
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var warnings = CatalogWarnings(path: file.entry.path)
        guard let bytes = file.wholeBytes(max: Self.maxFileBytes, what: "a dpkg status file", warnings: &warnings) else {
            return CatalogResult(warnings: warnings.all)
        }
        // Distroless status.d files often have no Status field: every stanza there is an installed package.
        let statusRequired = file.entry.path == Self.statusPath
        let stanzas = DpkgStatusParser.parse(bytes, work: file.work, warnings: &warnings)
        var packages: [Package] = []
        for stanza in stanzas {
            if file.work.isStopped { break }    // one relaxed load a package; the scan is over anyway
            if let p = package(from: stanza, statusRequired: statusRequired, location: file.location, warnings: &warnings) { packages.append(p) }
        }
        return CatalogResult(packages: packages, warnings: warnings.all)
    }

    /// The package a stanza describes, if it is installed and complete.
    func package(from s: DpkgStanza, statusRequired: Bool, location: PackageLocation,
                 warnings: inout CatalogWarnings) -> Package? {
        guard let name = s.package, !name.isEmpty else {
            warnings.add("stanza at line \(s.line) has no Package field; skipped")
            return nil
        }
        if let status = s.status {
            guard let installed = DpkgInstallState.isInstalled(status) else {
                warnings.add("package \(name) (line \(s.line)) has a malformed Status \"\(status)\"; skipped")
                return nil
            }
            guard installed else { return nil }
        } else if statusRequired {
            warnings.add("package \(name) (line \(s.line)) has no Status field; skipped")
            return nil
        }
        guard let version = s.version, !version.isEmpty else {
            warnings.add("package \(name) (line \(s.line)) has no Version field; skipped")
            return nil
        }
        // As dpkg-query's ${source:Package} and ${source:Version}: the binary's own name and version by default.
        let (sourceName, sourceVersion) = DpkgStatusParser.splitSource(s.source ?? "")
        let metadata = DebMetadata(arch: s.architecture.nonEmpty, source: sourceName.isEmpty ? name : sourceName,
                                   sourceVersion: sourceVersion ?? version, maintainer: s.maintainer.nonEmpty,
                                   installedSize: s.installedSize.nonEmpty)
        return Package(ecosystem: .deb, name: name, version: version, location: location, metadata: metadata)
    }
}
