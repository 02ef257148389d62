// Application-manifest catalogers (npm, Python, Java, Go, Ruby, PHP, .NET, Rust), and the small helpers
// they share: byte-level path tests for `interest(in:)`. Their purls are made by their ecosystems (*Ecosystem.swift).
import Core
import Glibc

/// The application-manifest catalogers, in the order the scanner asks them.
public enum ApplicationCatalogers {
    /// One instance of each, with default limits (`Catalogers.ecosystems` lists them).
    public static var all: [any Cataloger] { Catalogers.ecosystems.filter { !$0.isOSPackageManager }.flatMap { $0.kind.catalogers } }

    /// The largest text or JSON manifest read (package.json, METADATA, installed.json, deps.json, ...); a
    /// bigger one is skipped with a warning. Real ones are kilobytes; a deps.json of a large app a few MB.
    public static let maxManifestBytes = 32 << 20

    /// Reads a whole manifest; nil with a warning when it is too large or cannot be read.
    static func manifestBytes(_ file: CatalogFile, kind: String, warnings: inout CatalogWarnings) -> [UInt8]? {
        guard file.contents.count <= maxManifestBytes else {
            warnings.add("\(kind) skipped: \(file.contents.count) bytes is more than the \(maxManifestBytes)-byte limit for a manifest")
            return nil
        }
        do {
            return try file.contents.all()
        } catch {
            warnings.add("\(kind) could not be read: \(error)")
            return nil
        }
    }

    /// Reads and parses a whole JSON manifest; nil with a warning when it cannot.
    static func manifestJSON(_ file: CatalogFile, kind: String, warnings: inout CatalogWarnings) -> JSON? {
        guard let bytes = manifestBytes(file, kind: kind, warnings: &warnings) else { return nil }
        do { return try JSON.parse(bytes, maxDepth: 64) } catch {
            warnings.add("\(kind) skipped: \(error)")
            return nil
        }
    }
}

/// Path tests on the UTF-8 bytes of a path, without allocating: `interest(in:)` runs on every tar entry.
enum CatalogPath {
    /// Whether `path` ends with `suffix`.
    @inline(__always)
    static func hasSuffix(_ path: String, _ suffix: StaticString) -> Bool {
        let n = suffix.utf8CodeUnitCount
        if let r = path.utf8.withContiguousStorageIfAvailable({ buf -> Bool in
            buf.count >= n && memcmp(buf.baseAddress! + (buf.count - n), suffix.utf8Start, n) == 0
        }) { return r }
        return path.utf8.count >= n && path.utf8.suffix(n).elementsEqual(UnsafeBufferPointer(start: suffix.utf8Start, count: n))
    }

    /// Whether `path` contains `needle` anywhere.
    static func contains(_ path: String, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        if let r = path.utf8.withContiguousStorageIfAvailable({ buf -> Bool in
            guard buf.count >= n else { return false }
            let base = buf.baseAddress!
            for i in 0...(buf.count - n) where base[i] == needle.utf8Start[0] && memcmp(base + i, needle.utf8Start, n) == 0 {
                return true
            }
            return false
        }) { return r }
        return path.contains(String(describing: needle))
    }
}
