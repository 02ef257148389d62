// The contract between the layer scanner and the catalogers: which files a cataloger wants, and
// what it finds in each. One cataloger per ecosystem, each in its own file, listed in `Catalogers.all`.
import Core

/// Whether a cataloger wants a tar entry's contents.
public enum CatalogInterest: Sendable, Equatable {
    case none
    /// The whole file.
    case whole
    /// The whole file, if it starts with these bytes (ELF binaries: 0x7F 'E' 'L' 'F').
    case wholeIfPrefix([UInt8])
}

/// A regular file's metadata from its tar header.
public struct CatalogEntry: Sendable {
    /// Absolute, normalized (`/usr/lib/x`), no trailing slash.
    public let path: String
    public let size: Int
    /// Permission bits (0o755 ...).
    public let mode: UInt32

    public init(path: String, size: Int, mode: UInt32) {
        self.path = path
        self.size = size
        self.mode = mode
    }
}

/// A file handed to a cataloger whole: in memory, or spooled to an unlinked temp file when large.
public struct CatalogFile {
    public let entry: CatalogEntry
    public let layerDigest: String
    public let contents: FileContents
    /// Raised when the scan is stopped (signal, deadline): long loops poll it and return early.
    public let cancellation: Cancellation

    public init(entry: CatalogEntry, layerDigest: String, contents: FileContents, cancellation: Cancellation = Cancellation()) {
        self.entry = entry
        self.layerDigest = layerDigest
        self.contents = contents
        self.cancellation = cancellation
    }

    public var location: PackageLocation { PackageLocation(layerDigest: layerDigest, path: entry.path) }
}

/// File bytes: small files in memory, large ones in a spool file readable at any offset.
public enum FileContents {
    case memory([UInt8])
    case spool(SpoolFile)

    public var count: Int {
        switch self {
        case .memory(let b): return b.count
        case .spool(let s): return s.size
        }
    }

    /// Reads `count` bytes at `offset` (fewer at the end of the file).
    public func read(offset: Int, count: Int) throws(ScanError) -> [UInt8] {
        switch self {
        case .memory(let b):
            guard offset >= 0, offset <= b.count else { return [] }
            return Array(b[offset..<min(b.count, offset + max(0, count))])
        case .spool(let s):
            return try s.read(offset: offset, count: count)
        }
    }

    /// All bytes (for a spool, read into memory: use only on files known to be small).
    public func all() throws(ScanError) -> [UInt8] { try read(offset: 0, count: count) }
}

/// What a cataloger found in one file.
public struct CatalogResult: Sendable {
    public var packages: [Package]
    /// Problems worth telling the user (a malformed record skipped, an archive too deep), one line each.
    public var warnings: [String]

    public init(packages: [Package] = [], warnings: [String] = []) {
        self.packages = packages
        self.warnings = warnings
    }
}

public protocol Cataloger: Sendable {
    /// Stable identifier, e.g. `dpkg`; with `version`, part of the per-layer cache key.
    var name: String { get }
    /// Bump when the cataloger's output for the same input changes.
    var version: Int { get }
    func interest(in entry: CatalogEntry) -> CatalogInterest
    /// Parses one wanted file. Malformed input yields warnings (and whatever could be read), never a crash.
    func catalog(_ file: CatalogFile) -> CatalogResult
}

/// An error of the scan pipeline (corrupt layer, limit exceeded, I/O), with a message for the user.
public struct ScanError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case corrupt = "corrupt input"
        case limit = "limit exceeded"
        case io = "I/O error"
        case integrity = "integrity check failed"
        case unsupported = "unsupported"
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
