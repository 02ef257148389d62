// What the operations hand the callbacks: where results go (fixed when a request is accepted), each
// image's outcome, and the end of an operation. The bodies and their delivery: CallbackPayloads,
// CallbackSender.
import Core

enum OperationKind: String, Sendable {
    /// POST /scan: results to /api/v2/import/result, the end to /api/v2/import/done.
    case scan
    /// POST /discover: results to /api/v1/recurring-tests/dependencies.
    case discover
}

/// Where an operation's callbacks go and the headers they copy from the triggering request.
struct CallbackTarget: Sendable {
    /// `scheme://host[:port]` plus an optional path prefix, no trailing slash.
    let base: String
    /// Copied from the triggering request: `snyk-broker-connection-identifier`, `snyk-request-id`.
    let copiedHeaders: [(String, String)]
}

/// One image's outcome as its callback carries it.
enum ImageOutcome: Sendable {
    /// The snyk scan result object (CallbackPayloads.scanResult: already within the callback budget),
    /// and what was cut to fit it, one line each.
    case scanned(scanResult: [UInt8], truncated: [String])
    /// The image could not be scanned: a stable code (`MANIFEST_UNKNOWN`, `IMAGE_TOO_LARGE`,
    /// `SCAN_TIMEOUT`, `WORKER_CRASHED`, `CANCELLED`, ...) and one line naming the cause.
    case failed(code: String, message: String)
}

/// The counts of an ended operation, for its `done` callback.
struct OperationSummary: Sendable {
    var images = 0
    var scanned = 0
    var failed = 0
    /// (image, code, message) of each failed image, at most the first 100.
    var errors: [(String, String, String)] = []
    /// Why the operation ended early (`cancelled`, `shutdown`), nil when it ran to the end.
    var endedBy: String?
}
