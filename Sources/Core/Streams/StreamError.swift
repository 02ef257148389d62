// The one error type of the streaming layer (decompression, tar); Agent maps it onto its ScanError.

/// Why a stream could not be read: what failed, in words for the user.
public struct StreamError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The bytes are not what their format requires.
        case corrupt = "corrupt input"
        /// The stream ended before its format says it may.
        case truncated = "truncated input"
        /// A configured guard (size, count, window) was reached.
        case limit = "limit exceeded"
        /// A checksum in the stream does not match its data.
        case integrity = "integrity check failed"
        /// A valid stream that uses a feature this reader does not implement.
        case unsupported = "unsupported"
        /// A consumer callback stopped the stream (its message says why).
        case stopped = "stopped"
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
