// A callback base as the agent accepts it: an absolute http(s) URL with a host, no userinfo, no query,
// bounded in length, and its origin, which decides whether a body `callbackUrl` may replace it.
import Core

public struct CallbackURL: Equatable, Sendable {
    /// `http` or `https`, lower case.
    public let scheme: String
    /// The host as written (lower case), IPv6 literals in brackets.
    public let host: String
    /// The port when written and not the scheme's default.
    public let port: Int?
    /// The path prefix without a trailing slash: "" or "/prefix".
    public let path: String

    public static let maxLength = 2048

    /// `scheme://host[:port]`, the default port left out, so equal origins compare equal as text.
    public var origin: String { "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? "") }
    /// The origin and the path prefix: callbacks go to `base + "/api/v2/import/result"` and so on.
    public var base: String { origin + path }

    /// Why `raw` is not a usable callback base, or the parsed URL. The reasons never quote `raw`,
    /// which may carry a password in its userinfo.
    public static func parse(_ raw: String) -> Result<CallbackURL, CallbackURLError> {
        let text = raw.trimmed(" \t")
        guard !text.isEmpty else { return .failure(.init("is empty")) }
        guard text.utf8.count <= maxLength else { return .failure(.init("is longer than \(maxLength) bytes")) }
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else {
            return .failure(.init("contains spaces, control characters or non-ASCII bytes (percent-encode them)"))
        }
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("http://") { scheme = "http" } else if lower.hasPrefix("https://") { scheme = "https" } else {
            return .failure(.init("is not an absolute http:// or https:// URL"))
        }
        let rest = text.dropFirst(scheme.count + 3)
        guard !rest.contains("?"), !rest.contains("#") else { return .failure(.init("has a query or fragment; give a base URL")) }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        // '@' anywhere (not only in the authority) and '\\' are refused: parsers disagree on where a
        // host ends around them, and a base must mean the same host to every reader.
        guard !rest.contains("@") else { return .failure(.init("contains '@' (userinfo such as user:password@ is not allowed; callbacks send no credentials in URLs)")) }
        guard !rest.contains("\\") else { return .failure(.init("contains a backslash")) }
        var hostPart = Substring(authority), portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(.init("has an unclosed IPv6 bracket")) }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.init("has text after its IPv6 address")) }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return .failure(.init("has no host")) }
        if !hostPart.hasPrefix("[") {
            guard hostPart.utf8.count <= 253,
                  hostPart.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
                return .failure(.init("has a host that is not a DNS name or IP address"))
            }
        }
        var port: Int?
        if let portText {
            guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let p = Int(portText), (1...65535).contains(p) else {
                return .failure(.init("has a port outside 1...65535"))
            }
            port = p
        }
        if port == (scheme == "http" ? 80 : 443) { port = nil }
        let host = hostPart.lowercased()
        if let refusal = AddressPolicy.refusal(host: host) {
            return .failure(.init("points at \(refusal), which the agent never contacts"))
        }
        var path = String(rest[authorityEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        // The broker client's filter refuses a path whose normalised form differs (`.`, `..`, `//`).
        guard !path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            return .failure(.init("has ., .. or empty segments in its path"))
        }
        return .success(CallbackURL(scheme: scheme, host: host, port: port, path: path))
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
    }
}

/// Why a callback URL was refused, in words that never quote it.
public struct CallbackURLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
