// An HTTP-level failure: the status to answer with and a message for the JSON error body.

public struct HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    /// Whether the connection must close after answering (the framing can no longer be trusted).
    public let closesConnection: Bool

    public init(_ status: Int, _ message: String, closesConnection: Bool = true) {
        self.status = status
        self.message = message
        self.closesConnection = closesConnection
    }

    public var description: String { "\(status) \(message)" }

    /// `{"error":{"status":N,"message":"..."}}`
    public var jsonBody: String {
        JSON.object([("error", .object([("status", .int(status)), ("message", .string(message))]))]).serialized
    }
}
