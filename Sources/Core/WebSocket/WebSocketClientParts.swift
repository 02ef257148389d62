// The small pure pieces of the client handshake: the server URL, the proxy and NO_PROXY, the answer's
// head and its checks, and the client TLS context (cached per reactor and CA set).
import CEpoll

/// A WebSocket server URL: ws:// and http:// are plain, wss:// and https:// TLS.
public struct WebSocketURL: Equatable, Sendable {
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path and query, at least "/".
    public var requestTarget: String

    public init(secure: Bool, host: String, port: Int, requestTarget: String) {
        self.secure = secure; self.host = host; self.port = port; self.requestTarget = requestTarget
    }

    public init?(_ url: String) {
        let lower = url.lowercased()
        var rest: Substring
        if lower.hasPrefix("wss://") || lower.hasPrefix("https://") { secure = true }
        else if lower.hasPrefix("ws://") || lower.hasPrefix("http://") { secure = false }
        else { return nil }
        rest = url[url.range(of: "://")!.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        requestTarget = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }    // userinfo is never sent
        guard let (h, p) = splitHostPort(authority, defaultPort: secure ? 443 : 80) else { return nil }
        host = h
        port = p
    }

    /// host:port for CONNECT (IPv6 in brackets).
    var authority: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
    /// The Host header: the port only when it is not the scheme's default.
    var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? h : "\(h):\(port)"
    }
    var display: String { "\(secure ? "wss" : "ws")://\(hostHeader)" }
}

/// Splits `host[:port]` or `[v6][:port]`; nil when the host is empty or the port is not 1...65535.
func splitHostPort(_ authority: Substring, defaultPort: Int) -> (String, Int)? {
    var host: Substring
    var portText: Substring?
    if authority.hasPrefix("[") {
        guard let close = authority.firstIndex(of: "]") else { return nil }
        host = authority[authority.index(after: authority.startIndex)..<close]
        let after = authority[authority.index(after: close)...]
        if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return nil }
    } else if let colon = authority.lastIndex(of: ":") {
        host = authority[..<colon]
        portText = authority[authority.index(after: colon)...]
    } else {
        host = authority
    }
    guard !host.isEmpty else { return nil }
    var port = defaultPort
    if let t = portText {
        guard let p = Int(t), (1...65535).contains(p) else { return nil }
        port = p
    }
    return (String(host), port)
}

/// An http:// proxy reached with CONNECT, with its optional user:password.
public struct WebSocketProxy: Equatable, Sendable {
    public var host: String
    public var port: Int
    public var basicAuthorization: String?

    public init?(_ url: String) {
        var rest = Substring(url)
        if let r = url.range(of: "://") {
            guard url[..<r.lowerBound].lowercased() == "http" else { return nil }
            rest = url[r.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var auth: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            auth = Base64.encode(Array(PercentEncoding.decodeLeniently(userinfo).utf8))
            rest = rest[rest.index(after: at)...]
        }
        guard let (h, p) = splitHostPort(rest, defaultPort: 1080) else { return nil }
        host = h
        port = p
        basicAuthorization = auth
    }

    /// Whether `host` is reached directly under `NO_PROXY` (libcurl's syntax: `*`, or comma-separated
    /// names each matching itself and its subdomains, a leading dot allowed, case-insensitive).
    public static func bypasses(host: String, noProxy: String?) -> Bool {
        guard let noProxy else { return false }
        let h = host.lowercased()
        for entry in noProxy.split(separator: ",") {
            var e = entry.trimmed(" \t").lowercased()
            if e == "*" { return true }
            if e.hasPrefix(".") { e.removeFirst() }
            if e.hasPrefix("[") && e.hasSuffix("]") { e = String(e.dropFirst().dropLast()) }
            if e.isEmpty { continue }
            if h == e || h.hasSuffix("." + e) { return true }
        }
        return false
    }
}

/// The head of an HTTP response (the proxy's answer to CONNECT, the server's to the upgrade).
public struct WebSocketResponseHead: Sendable {
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders

    /// The offset just past the blank line ending the head, if it arrived.
    public static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 3..<b.count where b[i] == 10 && b[i - 1] == 13 && b[i - 2] == 10 && b[i - 3] == 13 { return i + 1 }
        return nil
    }

    public init?(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)[...]
        guard let statusLine = lines.popFirst() else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        // Three digits, the first 1-9 (RFC 9110 §15): Int() alone would take "011" or "+12".
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].utf8.count == 3,
              parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), parts[1].utf8.first! != 0x30, let s = Int(parts[1]) else { return nil }
        status = s
        reason = parts.count > 2 ? UntrustedText.terminalSafe(UntrustedText.truncated(String(parts[2]), maxBytes: 100)) : ""
        headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...].trimmed(" \t")))
        }
    }

    var contentLength: Int? { headers["Content-Length"].flatMap { Int($0) }.map { max(0, $0) } }
    var chunked: Bool { headers["Transfer-Encoding"]?.lowercased().contains("chunked") ?? false }

    /// What is wrong with a 101 answer to our upgrade request (RFC 6455 §4.1), nil when nothing.
    public func upgradeProblem(expectedAccept: String) -> String? {
        func hasToken(_ name: String, _ token: String) -> Bool {
            headers.values(name).contains { $0.commaSeparatedTokens().contains { String($0).equalsIgnoringASCIICase(token) } }
        }
        guard hasToken("Upgrade", "websocket") else { return "its Upgrade header does not name websocket" }
        guard hasToken("Connection", "upgrade") else { return "its Connection header does not contain upgrade" }
        guard let accept = headers["Sec-WebSocket-Accept"] else { return "Sec-WebSocket-Accept is missing" }
        guard accept == expectedAccept else { return "Sec-WebSocket-Accept \(UntrustedText.truncated(accept, maxBytes: 64)) does not match our key" }
        if headers.contains("Sec-WebSocket-Extensions") { return "it chose an extension we did not offer" }
        if headers.contains("Sec-WebSocket-Protocol") { return "it chose a subprotocol we did not offer" }
        return nil
    }
}

/// An OpenSSL client context trusting the system bundle plus the configured CA files.
// @unchecked: the SSL_CTX is immutable once loaded, and OpenSSL makes SSL_new on it thread-safe.
final class TLSClientContext: @unchecked Sendable {
    let ctx: UnsafeMutableRawPointer

    init(caFiles: [String]) throws(ConfigurationError) {
        var err = [CChar](repeating: 0, count: 512)
        guard let c = cep_tls_client_ctx(&err, err.count) else {
            throw ConfigurationError(variable: "CA_CERT", message: String(cChars: err))
        }
        for f in caFiles where cep_tls_client_ctx_add_ca(c, f, &err, err.count) != 0 {
            cep_tls_ctx_free(c)
            throw ConfigurationError(variable: "CA_CERT", message: String(cChars: err))
        }
        ctx = c
    }

    deinit { cep_tls_ctx_free(ctx) }

    /// The reactor's context for this configuration's CA files (loading the system bundle once, not per connection).
    static func shared(on reactor: Reactor, configuration: WebSocketConfiguration) throws(ConfigurationError) -> TLSClientContext {
        let files = (configuration.extraCACertificatesPath.map { [$0] } ?? []) + configuration.caCertificateFiles
        let cache = reactor.local(TLSClientContextCache.self) { TLSClientContextCache() }
        let key = files.joined(separator: "\n")
        if let c = cache.contexts[key] { return c }
        let made = try TLSClientContext(caFiles: files)
        cache.contexts[key] = made
        return made
    }
}

final class TLSClientContextCache {
    var contexts: [String: TLSClientContext] = [:]
}
