// What the client sends downstream for an allowed `request` event: snyk's header hygiene
// (broker-workload/prepareRequest.ts, hybrid-sdk/http/request.ts) plus our two deliberate additions,
// `authorization: <CR_CREDENTIALS>` and `x-broker-client-url`, both to the agent only; and the one place that
// checks the URL a request goes to keeps the origin's host. Pure functions, tested from a table.
import Core

public enum DownstreamPreparation {
    /// Headers snyk's client drops before calling downstream (prepareRequest.ts `headersToRemove`).
    static let droppedHeaders: Set<String> = [
        "x-forwarded-for", "x-forwarded-proto", "content-length", "host", "x-forwarded-host", "x-forwarded-port",
        "snyk-acting-group-public-id", "snyk-acting-org-public-id", "snyk-acting-user-public-id", "snyk-flow-name",
        "snyk-product-line", "snyk-project-type", "snyk-integration-type", "x-snyk-broker-context-id",
        // Framing is libcurl's to derive from the body it sends; an authorization from outside never passes.
        "transfer-encoding", "connection", "keep-alive", "authorization", "x-broker-client-url",
    ]

    /// `/ctx/<uuid>` as websocketRequests.ts strips it ("safety cleanup").
    public static func strippingContextPrefix(_ url: String) -> String {
        let prefix = "/ctx/"
        guard url.hasPrefix(prefix) else { return url }
        let rest = url.utf8.dropFirst(prefix.utf8.count)
        guard rest.count >= 36 else { return url }
        let uuid = Array(rest.prefix(36))
        for (i, c) in uuid.enumerated() {
            let isHyphenSlot = i == 8 || i == 13 || i == 18 || i == 23
            if isHyphenSlot { if c != UInt8(ascii: "-") { return url } ; continue }
            let hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
            if !hex { return url }
        }
        return String(decoding: rest.dropFirst(36), as: UTF8.self)
    }

    /// The URL for `path` at `origin` (the rule's, or CR_AGENT_URL), with `https://` added when the origin
    /// has no scheme, as prepareRequest.ts does; nil when the result would not be on the origin's host.
    /// A path must start with `/`: pasted onto `http://agent:17500`, `@evil.example/x` or `.evil.example/x`
    /// would name another host (and `/ctx/<uuid>@evil.example/x` leaves such a path once the context is
    /// taken out). The host is checked again on the URL as built, so nothing that reaches libcurl can
    /// point elsewhere than the origin.
    public static func downstreamURL(origin: String, path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var base = origin
        if !base.hasPrefix("http://") && !base.hasPrefix("https://") { base = "https://" + base }
        while base.hasSuffix("/") { base.removeLast() }
        let url = base + path
        guard let wanted = OriginIdentity(url: base), let built = OriginIdentity(url: url), built == wanted else { return nil }
        return url
    }

    /// Whether `url` is on the agent's origin (scheme, host and port of CR_AGENT_URL).
    public static func isAgent(_ url: String, agentURL: String) -> Bool {
        guard let target = OriginIdentity(url: url), let agent = OriginIdentity(url: agentURL) else { return false }
        return target == agent
    }

    /// Which `authorization` the request carries: CR_CREDENTIALS when it goes to the agent (scheme, host and
    /// port of CR_AGENT_URL), else the matching rule's `auth` (auth-header.ts), else none. The caller's own
    /// never passes, so the caller never chooses the credentials nor, with them, where they go.
    /// (DownstreamCall makes the same choice with CR_AGENT_URL's origin parsed once.)
    public static func authorization(for url: String, agentURL: String, credentials: String, ruleAuthorization: String?) -> String? {
        isAgent(url, agentURL: agentURL) ? credentials : ruleAuthorization
    }

    /// The header fields of the request to the agent. `requestId` is the one id kept across retries.
    public static func headers(from incoming: HTTPHeaders, requestId: String, clientVersion: String,
                               authorization: String?, clientURL: String?) -> HTTPHeaders {
        var out = HTTPHeaders()
        for field in incoming.fields {
            let name = field.name.lowercased()
            if droppedHeaders.contains(name) || name.hasPrefix("x-forwarded-") { continue }
            out.add(field.name, field.value)
        }
        // prepareRequest.ts fills a missing user-agent, request.ts then keeps it as the origin's.
        let originUA = out["user-agent"] ?? "Snyk Broker \(clientVersion)"
        out.set("snyk-request-id", requestId)
        if out["x-request-id"] == nil { out.set("x-request-id", incoming["snyk-request-id"] ?? requestId) }
        out.set("x-broker-origin-ua", originUA)
        out.set("user-agent", "Snyk Broker Client \(clientVersion)")
        if let authorization { out.set("authorization", authorization) }
        if let clientURL { out.set("x-broker-client-url", clientURL) }
        return out
    }
}

/// Scheme, host and port of an absolute http(s) URL, as compared to tell one origin from another: the
/// scheme and host lower-cased, the port made explicit (80, 443), user information left out. nil for what
/// is not an http(s) URL with a host.
public struct OriginIdentity: Equatable, Sendable {
    public let scheme: String
    public let host: String
    public let port: Int

    public init?(url: String) {
        var text = url
        guard let (scheme, host, port) = text.withUTF8({ Self.parse($0) }) else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Over the URL's bytes (once per request, so no lower-cased copy of the whole URL): the scheme, the
    /// authority up to `/ ? # \`, user information up to its last `@` left out, an IPv6 host in brackets.
    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (String, String, Int)? {
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }
        func starts(with prefix: StaticString) -> Bool {
            guard b.count >= prefix.utf8CodeUnitCount else { return false }
            for k in 0..<prefix.utf8CodeUnitCount where lower(b[k]) != prefix.utf8Start[k] { return false }
            return true
        }
        let scheme: String
        var start: Int
        if starts(with: "http://") { scheme = "http"; start = 7 } else if starts(with: "https://") { scheme = "https"; start = 8 } else { return nil }
        var end = start
        while end < b.count, !"/?#\\".utf8.contains(b[end]) { end += 1 }
        if let at = (start..<end).last(where: { b[$0] == UInt8(ascii: "@") }) { start = at + 1 }
        var hostEnd = end
        var portStart: Int?
        if start < end && b[start] == UInt8(ascii: "[") {
            guard let close = (start..<end).first(where: { b[$0] == UInt8(ascii: "]") }) else { return nil }
            hostEnd = close + 1
            if hostEnd < end {
                guard b[hostEnd] == UInt8(ascii: ":") else { return nil }
                portStart = hostEnd + 1
            }
        } else if let colon = (start..<end).last(where: { b[$0] == UInt8(ascii: ":") }) {
            hostEnd = colon
            portStart = colon + 1
        }
        guard hostEnd > start else { return nil }
        var port = scheme == "http" ? 80 : 443
        if let from = portStart, from < end {
            guard end - from <= 5 else { return nil }
            var p = 0
            for k in from..<end {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                p = p * 10 + Int(b[k] - 0x30)
            }
            guard (1...65535).contains(p) else { return nil }
            port = p
        }
        let host = String(decoding: UnsafeBufferPointer(rebasing: b[start..<hostEnd]).map(lower), as: UTF8.self)
        return (scheme, host, port)
    }
}
