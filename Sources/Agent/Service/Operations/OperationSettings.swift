// The settings of the service's operations and scan workers, read once at start (bad values: exit 2).
import Core

struct OperationSettings: Sendable {
    /// Operations scanning at once (MAX_ACTIVE_OPERATIONS).
    var maxActive = 1
    /// Operations waiting in FIFO order beyond those (MAX_QUEUED_OPERATIONS); more: 429.
    var maxQueued = 100
    /// One image's deadline (SCAN_TIMEOUT_MS); its worker is killed 5 s after it.
    var scanTimeoutMilliseconds = 900_000
    /// A worker's resident memory limit (SCAN_WORKER_MAX_RSS_MB), polled every 200 ms.
    var workerMaxResidentBytes = 1536 << 20
    var maxImageBytes = 2 << 30
    /// The layer-findings cache the workers share (SCAN_CACHE_DIR, default $TMPDIR/cr-agent-cache) and its cap.
    var cacheDirectory: String?
    var cacheMaxBytes = 512 << 20
    /// How long running scans may go on after SIGTERM (SHUTDOWN_TIMEOUT_MS, as the HTTP drain).
    var shutdownTimeoutMilliseconds = 30_000

    init() {}

    init(_ env: Environment) throws(ConfigurationError) {
        maxActive = try env.int("MAX_ACTIVE_OPERATIONS", default: maxActive, range: 1...64)
        maxQueued = try env.int("MAX_QUEUED_OPERATIONS", default: maxQueued, range: 0...100_000)
        scanTimeoutMilliseconds = try env.int("SCAN_TIMEOUT_MS", default: scanTimeoutMilliseconds, range: 1...(1 << 40))
        workerMaxResidentBytes = try env.int("SCAN_WORKER_MAX_RSS_MB", default: 1536, range: 8...(1 << 20)) << 20
        maxImageBytes = try env.int("SNYK_MAX_IMAGE_SIZE_IN_BYTES", default: maxImageBytes, range: 1...(1 << 50))
        let dir = env["SCAN_CACHE_DIR"] ?? ((env["TMPDIR"] ?? "/tmp") + "/cr-agent-cache")
        cacheDirectory = dir == "off" ? nil : dir
        cacheMaxBytes = try env.int("SCAN_CACHE_MAX_BYTES", default: cacheMaxBytes, range: 0...(1 << 50))
        shutdownTimeoutMilliseconds = try env.int("SHUTDOWN_TIMEOUT_MS", default: shutdownTimeoutMilliseconds, range: 0...3_600_000)
    }
}
