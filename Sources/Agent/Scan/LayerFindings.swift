// What one layer contributes, independent of every other layer (so it can be cached by digest and
// merged into any image that shares the layer): packages by the file they came from, OS identity files,
// and what the layer deletes or shadows.

public struct LayerFindings: Sendable {
    /// The layer's compressed digest (the cache key, with the catalogers' versions).
    public let layerDigest: String
    /// sha256 of the uncompressed tar, checked against the config's diff_id.
    public var diffID: String = ""
    /// Packages found, by the absolute path of the file they were read from.
    public var packagesByPath: [String: [Package]] = [:]
    /// Contents of OS identity files (`OSRelease.paths`) present in this layer.
    public var osFiles: [String: String] = [:]
    /// Absolute paths this layer deletes with `.wh.<name>` entries.
    public var whiteouts: Set<String> = []
    /// Directories this layer makes opaque (`.wh..wh..opq`): lower contents are hidden.
    public var opaqueDirectories: Set<String> = []
    /// Hashes of the absolute paths of every non-directory entry (files, links, devices).
    public var nonDirectoryHashes: Set<UInt64> = []
    /// Hashes of the absolute paths of every directory entry.
    public var directoryHashes: Set<UInt64> = []
    /// Path hashes a cache file holds that were not read back (an image's base layer, whose sets the
    /// merge never consults: `LayerCache.get(pathSets: false)`); still charged to the image's path budget.
    public var pathHashesNotRead = 0
    /// Problems found while reading the layer (skipped entries, catalogers' warnings).
    public var warnings: [String] = []
    /// Uncompressed tar bytes and entries read.
    public var tarBytes = 0
    public var entries = 0

    public init(layerDigest: String) { self.layerDigest = layerDigest }

    /// A stable 64-bit hash of a path (FNV-1a), for the shadowing sets.
    public static func pathHash(_ path: String) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in path.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}
