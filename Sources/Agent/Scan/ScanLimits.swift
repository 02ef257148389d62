// The guards of a scan: every one is a clear error or a skipped file with a warning, never a crash.

public struct ScanLimits: Sendable {
    /// Compressed layers plus config (`SNYK_MAX_IMAGE_SIZE_IN_BYTES`), checked before any layer is fetched.
    public var maxImageBytes = 2 << 30
    /// Uncompressed tar bytes of one layer, and of the whole image.
    public var maxLayerTarBytes = 16 << 30
    public var maxImageTarBytes = 32 << 30
    /// Tar entries of one layer.
    public var maxEntriesPerLayer = 1_000_000
    /// Longest path accepted in a tar entry.
    public var maxPathLength = 4096
    /// Files a cataloger wants are kept in memory up to this size, spooled to TMPDIR above it.
    public var inMemoryFileBytes = 8 << 20
    /// The largest single file handed to a cataloger.
    public var maxCatalogedFileBytes = 1 << 30
    /// Spool bytes one scan may hold on disk at once.
    public var maxSpoolBytes = 2 << 30

    public init() {}
}
