// Red Hat family packages from rpm's database in each of its formats (rpmdb.sqlite, BerkeleyDB `Packages`,
// NDB `Packages.db`) under /var/lib/rpm/ and /usr/lib/sysimage/rpm/.

public struct RpmCataloger: Cataloger {
    public let name = "rpm"
    /// 2: hostile-input hardening (issue 8) changed what some damaged or crafted files yield.
    public let version = 2

    public static let directories = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/"]
    /// Most packages read from one database; the rest are dropped with a warning.
    public static let maxPackages = 200_000

    /// The database files the cataloger reads, by file name.
    public enum Format: String, Sendable {
        case sqlite = "rpmdb.sqlite"
        case berkeleyDB = "Packages"
        case ndb = "Packages.db"
        /// Not read: a non-empty write-ahead log means rpmdb.sqlite alone may be out of date; that is a warning.
        case sqliteWAL = "rpmdb.sqlite-wal"
    }

    public init() {}

    /// The format of the file at `path`, if it is one of rpm's package databases.
    public static func format(of path: String) -> Format? {
        for dir in directories where path.hasPrefix(dir) {
            return Format(rawValue: String(path.dropFirst(dir.count)))
        }
        return nil
    }

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        switch Self.format(of: entry.path) {
        case nil: return .none
        case .sqliteWAL?: return entry.size > 0 ? .whole : .none
        case _?: return .whole
        }
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var warnings = CatalogWarnings(path: file.entry.path)
        // Kept apart from `warnings`, which the database readers hold while they call `add`.
        var headerWarnings = CatalogWarnings(path: file.entry.path)
        var packages: [Package] = []
        var headers = 0
        let maxBlob = RpmHeader.maxBlobBytes + 16
        // Parses one stored header; false once the package cap is reached.
        func add(_ blob: [UInt8]) -> Bool {
            headers += 1
            guard packages.count < Self.maxPackages else {
                headerWarnings.add("more than \(Self.maxPackages) packages; the rest are skipped")
                return false
            }
            do {
                let info = try RpmHeader.parse(blob)
                for problem in info.problems { headerWarnings.add("header \(headers) (\(info.name)): \(problem)") }
                packages.append(Self.package(info, location: file.location))
            } catch {
                headerWarnings.add("header \(headers): \(error.message); skipped")
            }
            return true
        }

        switch Self.format(of: file.entry.path) {
        case nil:
            break
        case .sqliteWAL?:
            if file.contents.count > 0 {
                warnings.add("\(file.contents.count) bytes of changes not yet checkpointed into rpmdb.sqlite; packages they install or remove are not seen")
            }
        case .sqlite?:
            RpmSQLiteDatabase.forEachBlob(file.contents, maxBlobBytes: maxBlob, work: file.work, warnings: &warnings, add)
        case .berkeleyDB?:
            do {
                let db = try BerkeleyDBHash(file.contents)
                db.forEachPair(maxItemBytes: maxBlob, work: file.work, warnings: &warnings) { key, value in
                    // Record 0 holds rpm's next header number, not a header.
                    if key.count == 4, key.allSatisfy({ $0 == 0 }) { return true }
                    return add(value)
                }
            } catch {
                warnings.add("\(error)")
            }
        case .ndb?:
            do {
                try NDBPackages(file.contents).forEachBlob(maxBlobBytes: maxBlob, work: file.work, warnings: &warnings, add)
            } catch {
                warnings.add("\(error)")
            }
        }
        return CatalogResult(packages: packages, warnings: warnings.all + headerWarnings.all)
    }

    /// The package a header describes. Pseudo-packages such as gpg-pubkey are kept, as syft keeps them.
    public static func package(_ h: RpmHeaderInfo, location: PackageLocation) -> Package {
        let metadata = RpmMetadata(arch: h.arch, epoch: h.epoch.map { String($0) }, release: h.release, sourceRpm: h.sourceRpm,
                                   license: h.license, vendor: h.vendor, size: h.size.map { String($0) })
        return Package(ecosystem: .rpm, name: h.name, version: h.fullVersion, location: location, metadata: metadata)
    }
}
