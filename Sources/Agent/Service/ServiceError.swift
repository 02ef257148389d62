// The JSON error every endpoint answers with: `{"code":"...","message":"..."}` and an HTTP status.
import Core

struct ServiceError: Error, Sendable, CustomStringConvertible {
    let status: Int
    /// Stable, upper-case, for programs (`UNAUTHORIZED`, `MANIFEST_UNKNOWN`, ...).
    let code: String
    /// One line for people; never a credential (callers pass only redacted or their own text).
    let message: String

    var description: String { "\(status) \(code): \(message)" }

    var json: String {
        JSON.object([("code", .string(code)), ("message", .string(UntrustedText.truncated(message, maxBytes: 4096)))]).serialized
    }

    static func badRequest(_ message: String) -> ServiceError { ServiceError(status: 400, code: "BAD_REQUEST", message: message) }
    static func unauthorized(_ message: String) -> ServiceError { ServiceError(status: 401, code: "UNAUTHORIZED", message: message) }
    static func notFound(_ message: String) -> ServiceError { ServiceError(status: 404, code: "NOT_FOUND", message: message) }
}

extension HTTPExchange {
    func respond(_ error: ServiceError, headers: HTTPHeaders = HTTPHeaders()) {
        var h = headers
        h.set("Content-Type", "application/json")
        respond(status: error.status, json: error.json, headers: h)
    }

    func respond(status: Int, json value: JSON, headers: HTTPHeaders = HTTPHeaders()) {
        var h = headers
        h.set("Content-Type", "application/json")
        respond(status: status, json: value.serialized, headers: h)
    }
}
