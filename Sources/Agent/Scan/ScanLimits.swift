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
    /// The same for files a magic-prefix cataloger may want (ELF executables for the Go cataloger, read
    /// at offsets): a Debian image holds tens of MB of them, an interpreter alone several MiB.
    public var inMemoryExecutableBytes = 256 << 10
    /// The largest single file handed to a cataloger.
    public var maxCatalogedFileBytes = 1 << 30
    /// Spool bytes one scan may hold on disk at once.
    public var maxSpoolBytes = 2 << 30
    /// Milliseconds one image may take from resolve to report (`SCAN_TIMEOUT_MS`); nil for no deadline.
    public var scanTimeoutMilliseconds: Int? = 900_000

    // What a scan remembers is bounded too, so an image cannot make the findings themselves the bomb.
    // Past each cap the rest is dropped and counted in one summary warning.

    /// Warnings kept per layer and per image.
    public var maxWarningsPerLayer = 100
    public var maxWarningsPerImage = 1000
    /// Longest warning kept, in bytes; longer ones are cut and end with "…".
    public var maxWarningBytes = 1024
    /// Packages kept per layer and per image.
    public var maxPackagesPerLayer = 200_000
    public var maxPackagesPerImage = 500_000
    /// Longest package name, version or namespace kept (a longer one drops the package); metadata
    /// values (licenses, descriptions) longer than this are cut.
    public var maxPackageFieldBytes = 4096
    /// Paths remembered for the layer merge (files, directories, whiteouts, opaque directories).
    public var maxPathsPerLayer = 1_000_000
    public var maxPathsPerImage = 4_000_000
    /// Bytes of strings kept from image content (package fields, whiteout paths, OS files, warnings).
    public var maxRetainedBytesPerLayer = 64 << 20
    public var maxRetainedBytesPerImage = 256 << 20

    public init() {}
}
