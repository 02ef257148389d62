// Settings shared by every request of one HTTPClient, read from an injectable environment.

/// Client-wide settings. Build it from the process environment in production
/// (`HTTPClientConfiguration(environment: Environment.process().values)`) or from a dictionary in tests.
public struct HTTPClientConfiguration: Sendable {
    /// A PEM file whose CA certificates are trusted in addition to the system bundle, for every host
    /// (`CA_CERT`). TLS peer and host verification are always on.
    public var extraCACertificatesPath: String?
    public var proxies: ProxySettings
    /// Sent as `User-Agent` unless a request sets that header itself; nil sends none.
    public var userAgent: String?
    /// libcurl's receive buffer (CURLOPT_BUFFERSIZE): the largest read from a socket at a time.
    public var receiveBufferSize: Int
    /// Idle connections kept for reuse across requests (CURLMOPT_MAXCONNECTS).
    public var maxCachedConnections: Int
    /// Concurrent connections per host, 0 for no limit (CURLMOPT_MAX_HOST_CONNECTIONS).
    public var maxConnectionsPerHost: Int

    public init(extraCACertificatesPath: String? = nil, proxies: ProxySettings = ProxySettings(),
                userAgent: String? = nil, receiveBufferSize: Int = 64 * 1024,
                maxCachedConnections: Int = 16, maxConnectionsPerHost: Int = 0) {
        self.extraCACertificatesPath = extraCACertificatesPath
        self.proxies = proxies
        self.userAgent = userAgent
        self.receiveBufferSize = receiveBufferSize
        self.maxCachedConnections = maxCachedConnections
        self.maxConnectionsPerHost = maxConnectionsPerHost
    }

    /// Reads `CA_CERT` and the proxy variables (see `ProxySettings(environment:)`).
    public init(environment env: [String: String], userAgent: String? = nil) {
        let ca = env["CA_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        self.init(extraCACertificatesPath: ca, proxies: ProxySettings(environment: env), userAgent: userAgent)
    }
}
