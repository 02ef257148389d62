// Fuzz targets `rpm-header` (header blob parser), `bdb` (BerkeleyDB hash reader) and `ndb` (NDB Packages.db
// reader) over arbitrary bytes.
import AgentKit

enum RpmFuzz {
    @Sendable static func header(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        guard let info = try? RpmHeader.parse(bytes) else { return }
        fuzzCheck(!info.name.isEmpty, "header accepted without a name: \(fuzzDescribe(data))")
        fuzzCheck(bytes.count >= 8 + 16, "header accepted from \(bytes.count) bytes")
        // Compared as UTF-8 bytes: as Characters, a version that starts with a combining mark joins the
        // epoch's ':' into one grapheme and hasSuffix would say no.
        let tail = Array("\(info.version)-\(info.release)".utf8)
        fuzzCheck(Array(info.fullVersion.utf8).suffix(tail.count).elementsEqual(tail), "version \(info.fullVersion)")
        // The package built from it carries the same facts.
        let p = RpmCataloger.package(info, location: PackageLocation(layerDigest: "sha256:fuzz", path: "/var/lib/rpm/Packages"))
        fuzzCheck(p.name == info.name && p.metadata["release"] == info.release, "package differs from its header")
    }

    @Sendable static func berkeleyDB(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        guard let db = try? BerkeleyDBHash(.memory(bytes)) else { return }
        var warnings = CatalogWarnings(path: "/fuzz")
        var pairs = 0, itemBytes = 0
        db.forEachPair(maxItemBytes: 1 << 16, warnings: &warnings) { key, value in
            pairs += 1
            itemBytes += key.count + value.count
            fuzzCheck(value.count <= 1 << 16 && key.count <= 1 << 16, "item past the cap")
            return true
        }
        // Every page is visited at most once as a bucket page, and overflow chains are bounded by the file.
        fuzzCheck(pairs <= bytes.count, "\(pairs) pairs from \(bytes.count) bytes")
        fuzzCheck(warnings.all.count <= warnings.limit + 1, "warnings past the cap")
        // Whatever it found, the rpm cataloger survives it too.
        _ = RpmCataloger().catalog(CatalogFile(entry: CatalogEntry(path: "/var/lib/rpm/Packages", size: bytes.count, mode: 0o644),
                                               layerDigest: "sha256:fuzz", contents: .memory(bytes)))
    }

    @Sendable static func ndb(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        guard let db = try? NDBPackages(.memory(bytes)) else { return }
        var warnings = CatalogWarnings(path: "/fuzz")
        var blobs = 0
        db.forEachBlob(maxBlobBytes: 1 << 16, warnings: &warnings) { blob in
            blobs += 1
            fuzzCheck(blob.count <= bytes.count, "blob longer than the file")
            _ = try? RpmHeader.parse(blob)
            return true
        }
        fuzzCheck(blobs <= bytes.count / 32, "\(blobs) blobs from \(bytes.count) bytes")
    }
}

/// Fuzz target `rpmdb-sqlite`: arbitrary bytes as an rpmdb.sqlite, read through the hardened sqlite reader
/// (defensive mode, no views or triggers, an operation budget): it ends, within its caps, whatever the bytes.
enum RpmSQLiteFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let r = RpmCataloger().catalog(CatalogFile(entry: CatalogEntry(path: "/var/lib/rpm/rpmdb.sqlite", size: bytes.count, mode: 0o644),
                                                   layerDigest: "sha256:fuzz", contents: .memory(bytes)))
        fuzzCheck(r.warnings.count <= CatalogCaps.maxWarnings + 2, "\(r.warnings.count) warnings")
        fuzzCheck(r.warnings.allSatisfy { $0.utf8.count <= CatalogCaps.maxWarningBytes }, "a warning past the length cap")
        fuzzCheck(r.packages.count <= RpmCataloger.maxPackages, "\(r.packages.count) packages")
    }
}
