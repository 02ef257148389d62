// The contract between the layer scanner and the catalogers: which files a cataloger wants, and
// what it finds in each. One cataloger per ecosystem, each in its own file beside its ecosystem (`PackageEcosystem`),
// reached through `Catalogers.ecosystems`.
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
    /// The work done on this file so far, which also polls `cancellation` as it grows.
    public let work: CatalogWork

    public init(entry: CatalogEntry, layerDigest: String, contents: FileContents, cancellation: Cancellation = Cancellation()) {
        self.entry = entry
        self.layerDigest = layerDigest
        self.contents = contents
        self.cancellation = cancellation
        work = CatalogWork(cancellation: cancellation)
    }

    public var location: PackageLocation { PackageLocation(layerDigest: layerDigest, path: entry.path) }
}

/// The work a cataloger does on one file, in steps (bytes examined, records read, loop turns), so tests can
/// show that work grows linearly with hostile input; and the scan's stop flag, polled every `pollEvery` steps
/// (a few tens of microseconds of byte work), so a long loop stops soon after a signal or the deadline.
/// Confined to the thread that catalogs the file.
public final class CatalogWork {
    public private(set) var steps = 0
    public let cancellation: Cancellation
    private var nextPoll = CatalogWork.pollEvery
    private var stopped = false
    static let pollEvery = 1 << 15

    public init(cancellation: Cancellation = Cancellation()) { self.cancellation = cancellation }

    /// Counts `n` steps; true once the scan was stopped (then the caller returns what it has).
    @inline(__always)
    public func count(_ n: Int = 1) -> Bool {
        steps &+= n
        if steps >= nextPoll {
            nextPoll = steps &+ Self.pollEvery
            if !stopped { stopped = cancellation.isCancelled }
        }
        return stopped
    }

    /// Whether the scan was stopped, polled now.
    public var isStopped: Bool {
        if !stopped { stopped = cancellation.isCancelled }
        return stopped
    }
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

/// A cataloger's warnings about one file: the one way catalogers collect them. Each line starts with the
/// file's path (or, in an archive, the path of the entry it is about); past `limit` lines only a count is
/// kept, so a garbage file cannot flood the report.
public struct CatalogWarnings: Sendable {
    public let path: String
    public let limit: Int
    public private(set) var lines: [String] = []
    private var dropped = 0

    public init(path: String, limit: Int = 20) {
        self.path = path
        self.limit = limit
    }

    /// Adds `message` about the file, or about `subject` (an entry inside it, named by its own path).
    public mutating func add(_ message: String, about subject: String? = nil) {
        if lines.count < limit { lines.append(CatalogCaps.warningLine("\(subject ?? path): \(message)")) } else { dropped += 1 }
    }

    /// The lines kept and, when some were dropped, one line counting them.
    public var all: [String] { dropped > 0 ? lines + [CatalogCaps.warningLine("\(path): \(dropped) more warnings like these")] : lines }
}

/// What one cataloger may report about one file. The per-layer and per-image caps are the pipeline's.
public enum CatalogCaps {
    /// Packages kept from one file; past it one summary warning (rpm's own database cap is the same).
    public static let maxPackages = 200_000
    /// Warning lines kept from one file; past it one summary line.
    public static let maxWarnings = 50
    /// Bytes of one warning line; longer ones are cut (at a character boundary) and marked with `...`.
    public static let maxWarningBytes = 512
    /// Bytes of one string taken from the file into a package (name, version, a metadata value).
    public static let maxFieldBytes = 4096

    /// `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary, with `...` when cut.
    public static func truncate(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        return UntrustedText.prefix(text, maxBytes: max(0, maxBytes - 3)) + "..."
    }

    /// A warning line as kept: cut to `maxWarningBytes`, and terminal-safe (file-chosen text may carry
    /// terminal escapes).
    public static func warningLine(_ text: String) -> String {
        UntrustedText.terminalSafe(truncate(text, maxBytes: maxWarningBytes))
    }
}

extension CatalogResult {
    /// The result within `CatalogCaps`: packages and warnings counted, warnings and package strings cut.
    public func capped(path: String) -> CatalogResult {
        var out = CatalogResult()
        let keep = min(packages.count, CatalogCaps.maxPackages)
        out.packages.reserveCapacity(keep)
        for p in packages.prefix(keep) { out.packages.append(Self.capped(p)) }
        for w in warnings.prefix(CatalogCaps.maxWarnings) {
            out.warnings.append(CatalogCaps.warningLine(w))
        }
        if warnings.count > CatalogCaps.maxWarnings {
            out.warnings.append(CatalogCaps.warningLine("\(path): \(warnings.count - CatalogCaps.maxWarnings) more warnings not shown"))
        }
        if packages.count > keep {
            out.warnings.append(CatalogCaps.warningLine("\(path): more than \(CatalogCaps.maxPackages) packages in one file; \(packages.count - keep) not reported"))
        }
        return out
    }

    private static func capped(_ p: Package) -> Package {
        let n = CatalogCaps.maxFieldBytes
        func long(_ s: String) -> Bool { s.utf8.count > n }
        guard long(p.name) || long(p.version) || (p.namespace.map(long) ?? false) || p.metadata.values.contains(where: long) else { return p }
        return Package(ecosystem: p.ecosystem, name: CatalogCaps.truncate(p.name, maxBytes: n),
                       version: CatalogCaps.truncate(p.version, maxBytes: n),
                       namespace: p.namespace.map { CatalogCaps.truncate($0, maxBytes: n) }, location: p.location,
                       metadata: p.metadata.mapValues { CatalogCaps.truncate($0, maxBytes: n) })
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
