// Alpine packages from apk's installed database: /lib/apk/db/installed and /usr/lib/apk/db/installed.

public struct ApkCataloger: Cataloger {
    public let name = "apk"
    public let version = 1

    public static let paths: Set<String> = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"]
    /// Larger databases are skipped with a warning (a big Alpine root has a few megabytes).
    public static let maxFileBytes = 64 << 20

    public init() {}

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        Self.paths.contains(entry.path) ? .whole : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var warnings = CatalogWarnings(path: file.entry.path)
        guard let bytes = file.wholeBytes(max: Self.maxFileBytes, what: "an apk database", warnings: &warnings) else {
            return CatalogResult(warnings: warnings.all)
        }
        var packages: [Package] = []
        for r in ApkInstalledParser.parse(bytes, work: file.work, warnings: &warnings) {
            if file.work.isStopped { break }    // one relaxed load a package; the scan is over anyway
            guard let name = r.name, !name.isEmpty else {
                warnings.add("record at line \(r.line) has no P: (name); skipped")
                continue
            }
            guard let version = r.version, !version.isEmpty else {
                warnings.add("package \(name) (line \(r.line)) has no V: (version); skipped")
                continue
            }
            let metadata = ApkMetadata(arch: r.arch.nonEmpty, origin: r.origin.nonEmpty, license: r.license.nonEmpty)
            packages.append(Package(ecosystem: .apk, name: name, version: version, location: file.location, metadata: metadata))
        }
        return CatalogResult(packages: packages, warnings: warnings.all)
    }
}
