// The JSON bodies of the callbacks.
import Core

enum CallbackPayloads {
    /// The broker client refuses bodies over 10 MiB.
    static let maxBodyBytes = 10 << 20

    /// The snyk scan result of `inventory`, cut to fit `maxBytes`, and what was cut (one line each).
    static func scanResult(_ inventory: ImageInventory, maxBytes: Int = maxBodyBytes - (64 << 10)) -> (bytes: [UInt8], truncated: [String]) {
        (Array(SnykReport.document(inventory).serialized.utf8), [])
    }
}
