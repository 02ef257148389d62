// What went wrong talking to a registry, keeping the registry's own error code and message.
import Core

public struct RegistryError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case invalidInput = "invalid input"
        case authentication = "authentication failed"
        case permission = "permission denied"
        case notFound = "not found"
        case unsupported = "unsupported"
        case tooLarge = "too large"
        case integrity = "integrity check failed"
        case network = "network error"
        case registry = "registry error"
        case refused = "refused"
    }

    public let kind: Kind
    /// The registry (origin) that failed, e.g. `https://registry.example:5000`.
    public let registry: String
    public let message: String
    /// HTTP status of the final answer, when there was one.
    public let status: Int?
    /// The registry's error code (`MANIFEST_UNKNOWN`, `DENIED`, ...), when it sent one.
    public let code: String?

    public init(_ kind: Kind, registry: String, _ message: String, status: Int? = nil, code: String? = nil) {
        self.kind = kind
        self.registry = RegistryError.printable(registry, limit: 300)
        self.message = RegistryError.printable(message, limit: RegistryError.maxMessageLength)
        self.status = status
        self.code = code.map { RegistryError.printable($0, limit: 100) }
    }

    /// Messages carry text a registry chose (error bodies, realms, links): at most this many characters.
    public static let maxMessageLength = 2000

    /// `text` on one line, without control characters (a registry's text must not drive the user's
    /// terminal): tabs and line breaks become spaces, other C0/C1 controls and DEL become U+FFFD; cut
    /// at `limit` characters with an ellipsis.
    static func printable(_ text: String, limit: Int) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for u in text.unicodeScalars {
            if count == limit { out.append("…"); break }
            switch u.value {
            case 0x09, 0x0A, 0x0D: out.append(" ")
            case 0..<0x20, 0x7F, 0x80..<0xA0: out.append("\u{FFFD}")
            default: out.append(u)
            }
            count += 1
        }
        return String(out)
    }

    public var description: String {
        var s = "\(registry): \(kind.rawValue): \(message)"
        if let code { s += " [\(code)]" }
        if let status { s += " (HTTP \(status))" }
        return Redaction.text(s)
    }

    /// Builds the error for a non-success answer from its body: the distribution error envelope
    /// `{"errors":[{"code","message","detail"}]}`, or the text body.
    static func fromResponse(registry: String, status: Int, body: [UInt8], what: String) -> RegistryError {
        let kind: Kind
        switch status {
        case 401: kind = .authentication
        case 403: kind = .permission
        case 404: kind = .notFound
        case 413: kind = .tooLarge
        default: kind = .registry
        }
        if let json = try? JSON.parse(body), let first = json["errors"]?.array?.first {
            let code = first["code"]?.string
            var message = first["message"]?.string ?? "error"
            if let detail = first["detail"], !detail.isNull {
                let d = detail.string ?? detail.serialized
                if !d.isEmpty && d != "null" { message += " (\(d.prefix(300)))" }
            }
            let k: Kind = (code == "DENIED" || code == "UNAUTHORIZED" && status == 403) ? .permission : kind
            return RegistryError(k, registry: registry, "\(what): \(message)", status: status, code: code)
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self).trimmed(" \n\r\t")
        return RegistryError(kind, registry: registry, "\(what): " + (text.isEmpty ? "HTTP \(status)" : text), status: status)
    }
}
