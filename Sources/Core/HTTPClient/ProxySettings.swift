// Which proxy an outbound request uses, read explicitly from (injectable) environment variables.

/// Proxies for outbound requests. libcurl's own environment reading is always overridden: every
/// request sets CURLOPT_PROXY (empty for "no proxy") and CURLOPT_NOPROXY from these values.
public struct ProxySettings: Sendable, Equatable {
    /// Proxy URL for `http://` requests (`http_proxy`, then `HTTP_PROXY`).
    public var httpProxy: String?
    /// Proxy URL for `https://` requests (`https_proxy`, then `HTTPS_PROXY`); tunnelled with CONNECT.
    public var httpsProxy: String?
    /// Comma-separated hosts, domains or `*` that bypass the proxy (`no_proxy`, then `NO_PROXY`),
    /// in libcurl's CURLOPT_NOPROXY syntax.
    public var noProxy: String?

    public init(httpProxy: String? = nil, httpsProxy: String? = nil, noProxy: String? = nil) {
        self.httpProxy = httpProxy
        self.httpsProxy = httpsProxy
        self.noProxy = noProxy
    }

    /// Reads the proxy variables; the lower-case spelling wins when both are set and non-empty.
    public init(environment env: [String: String]) {
        func pick(_ name: String) -> String? {
            for key in [name.lowercased(), name] { if let v = env[key], !v.isEmpty { return v } }
            return nil
        }
        self.init(httpProxy: pick("HTTP_PROXY"), httpsProxy: pick("HTTPS_PROXY"), noProxy: pick("NO_PROXY"))
    }

    /// The CURLOPT_PROXY value for `url`: the scheme's proxy, or "" for a direct connection.
    public func proxy(for url: String) -> String {
        let lower = url.prefix(8).lowercased()
        if lower.hasPrefix("https://") { return httpsProxy ?? "" }
        if lower.hasPrefix("http://") { return httpProxy ?? "" }
        return ""
    }
}
