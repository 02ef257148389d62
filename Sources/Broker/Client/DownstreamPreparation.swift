// What the client sends the agent for an allowed `request` event: snyk's header hygiene
// (broker-workload/prepareRequest.ts, hybrid-sdk/http/request.ts) plus our two deliberate additions,
// `authorization: <CR_CREDENTIALS>` always and `x-broker-client-url`. A pure function, tested from a table.
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

    /// The agent's URL for `path`: the rule's origin (or CR_AGENT_URL) with `https://` added when it has
    /// no scheme, as prepareRequest.ts does.
    public static func downstreamURL(origin: String, path: String) -> String {
        var base = origin
        if !base.hasPrefix("http://") && !base.hasPrefix("https://") { base = "https://" + base }
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    /// The header fields of the request to the agent. `requestId` is the one id kept across retries.
    public static func headers(from incoming: HTTPHeaders, requestId: String, clientVersion: String,
                               credentials: String, clientURL: String) -> HTTPHeaders {
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
        out.set("authorization", credentials)
        out.set("x-broker-client-url", clientURL)
        return out
    }
}
