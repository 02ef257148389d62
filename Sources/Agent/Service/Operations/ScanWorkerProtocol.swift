// What the service and a scan worker say to each other: the job on the worker's stdin (one JSON object;
// never argv or the environment, where `ps` and /proc show it), and the framed answer on its stdout.
import Core
import Glibc

/// One image to scan, as the service hands it to `cr-agent scan-worker`.
struct ScanWorkerJob: Sendable {
    var operationId: String
    /// The name within the registry (`repo:tag`, `repo@sha256:...`).
    var image: String
    /// The registry the image lives in (the credentials' registryBase, or CR_BASE); nil: the type's own.
    var registryBase: String?
    /// The request's raw CR_CREDENTIALS; nil: the agent's own settings (CR_* in its environment).
    var credentials: String?
    var platform: Platform
    var scanTimeoutMilliseconds: Int
    var maxImageBytes: Int
    var cacheDirectory: String?
    var cacheMaxBytes: Int
    /// The service's pid: a worker whose parent is already another process (the service died while it
    /// started) stops at once.
    var servicePid: Int32 = getpid()

    /// A job is at most this long (credentials are under the header limit): it fits the pipe's buffer,
    /// so the service writes it whole without blocking.
    static let maxBytes = 60 << 10

    var encoded: [UInt8] {
        func opt(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        return Array(JSON.object([
            ("operation", .string(operationId)), ("image", .string(image)), ("registryBase", opt(registryBase)),
            ("credentials", opt(credentials)), ("platform", .string(platform.description)),
            ("scanTimeoutMs", .int(scanTimeoutMilliseconds)), ("maxImageBytes", .int(maxImageBytes)),
            ("cacheDir", opt(cacheDirectory)), ("cacheMaxBytes", .int(cacheMaxBytes)), ("servicePid", .int(Int(servicePid))),
        ]).serialized.utf8)
    }

    static func decode(_ bytes: [UInt8]) -> ScanWorkerJob? {
        guard bytes.count <= maxBytes, let j = try? JSON.parse(bytes),
              let op = j["operation"]?.string, let image = j["image"]?.string,
              let p = j["platform"]?.string, let platform = try? Platform(parsing: p),
              let timeout = j["scanTimeoutMs"]?.int, timeout > 0, let maxBytes = j["maxImageBytes"]?.int, maxBytes > 0,
              let cacheMax = j["cacheMaxBytes"]?.int, cacheMax >= 0 else { return nil }
        return ScanWorkerJob(operationId: op, image: image, registryBase: j["registryBase"]?.string, credentials: j["credentials"]?.string,
                             platform: platform, scanTimeoutMilliseconds: timeout, maxImageBytes: maxBytes,
                             cacheDirectory: j["cacheDir"]?.string, cacheMaxBytes: cacheMax,
                             servicePid: Int32(clamping: j["servicePid"]?.int ?? 0))
    }
}

/// The worker's answer: frames of one kind byte, a 4-byte little-endian length and the payload.
/// `s` stats (JSON), then either `r` the scan result (the snyk JSON) and `t` what was cut from it (JSON
/// array of lines), or `e` an error (JSON `{"code","message"}`).
enum ScanWorkerFrame {
    static let stats: UInt8 = 0x73, result: UInt8 = 0x72, truncated: UInt8 = 0x74, error: UInt8 = 0x65
    /// More than this from one worker is a broken worker (a result is cut to the 10 MiB callback limit).
    static let maxOutputBytes = 12 << 20

    static func encode(_ kind: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [kind, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)] + payload
    }

    /// Splits complete frames off the front of `buffer`; a frame that claims more than the output cap is nil.
    static func take(from buffer: inout [UInt8]) -> [(UInt8, [UInt8])]? {
        var out: [(UInt8, [UInt8])] = []
        var at = 0
        while buffer.count - at >= 5 {
            let n = Int(buffer[at + 1]) | Int(buffer[at + 2]) << 8 | Int(buffer[at + 3]) << 16 | Int(buffer[at + 4]) << 24
            guard n <= maxOutputBytes else { return nil }
            guard buffer.count - at - 5 >= n else { break }
            out.append((buffer[at], Array(buffer[(at + 5)..<(at + 5 + n)])))
            at += 5 + n
        }
        buffer.removeFirst(at)
        return out
    }
}

/// What a worker reports besides its outcome.
struct ScanWorkerStats: Sendable {
    var bytesPulled = 0
    var cacheHits = 0
    var packages = 0

    var encoded: [UInt8] {
        Array(JSON.object([("bytesPulled", .int(bytesPulled)), ("cacheHits", .int(cacheHits)), ("packages", .int(packages))]).serialized.utf8)
    }

    static func decode(_ bytes: [UInt8]) -> ScanWorkerStats? {
        guard let j = try? JSON.parse(bytes) else { return nil }
        return ScanWorkerStats(bytesPulled: max(0, j["bytesPulled"]?.int ?? 0), cacheHits: max(0, j["cacheHits"]?.int ?? 0),
                               packages: max(0, j["packages"]?.int ?? 0))
    }
}
