// One member of a tar archive as the reader reports it: normalized path, kind, size and metadata.

/// A tar entry's header, after GNU long names and PAX records have been applied.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo
        /// A type flag this reader does not interpret (its data, if any, is skipped).
        case other(UInt8)

        public var description: String {
            switch self {
            case .file: return "file"
            case .directory: return "directory"
            case .symlink: return "symlink"
            case .hardlink: return "hardlink"
            case .characterDevice: return "char-device"
            case .blockDevice: return "block-device"
            case .fifo: return "fifo"
            case .other(let t): return "other(\(t < 0x20 || t > 0x7E ? "\(t)" : String(UnicodeScalar(t))))"
            }
        }
    }

    /// Absolute and normalized: `/usr/bin/x` (no `.`, `..`, `//` or trailing slash; the root is `/`).
    public var path: String
    public var kind: Kind
    /// A symlink's target exactly as stored (relative targets stay relative); a hardlink's target as an
    /// absolute normalized path like `path`; empty for other kinds.
    public var linkName: String
    /// Bytes of data that follow the header: the file's size for `.file`; 0 for header-only kinds.
    public var size: Int
    /// Permission bits, with setuid/setgid/sticky (`0o7777` at most).
    public var mode: UInt32
    /// Modification time, seconds since the epoch.
    public var mtime: Int64
    public var uid: Int
    public var gid: Int
    /// The stored path (or hardlink target) used `..` to climb above the root; it was clamped there, as
    /// containerd does when it unpacks a layer.
    public var escapesRoot: Bool
    /// Offset of the entry's first header block (its GNU or PAX extension headers come first) in the tar stream.
    public var headerOffset: Int

    public init(path: String, kind: Kind, linkName: String = "", size: Int = 0, mode: UInt32 = 0o644, mtime: Int64 = 0,
                uid: Int = 0, gid: Int = 0, escapesRoot: Bool = false, headerOffset: Int = 0) {
        self.path = path
        self.kind = kind
        self.linkName = linkName
        self.size = size
        self.mode = mode
        self.mtime = mtime
        self.uid = uid
        self.gid = gid
        self.escapesRoot = escapesRoot
        self.headerOffset = headerOffset
    }
}
