// Settings shared by every request of one HTTPClient, read from an injectable environment.

/// Client-wide settings. Build it from the process environment in production
/// (`HTTPClientConfiguration(environment: Environment.process().values)`) or from a dictionary in tests.
public struct HTTPClientConfiguration: Sendable, Equatable {
    /// A PEM file whose CA certificates are trusted in addition to the system bundle, for every host
    /// (`CA_CERT`). TLS peer and host verification are always on.
    public var extraCACertificatesPath: String?
    /// More PEM files of CA certificates trusted on top of the system bundle and `CA_CERT`, by every
    /// request of this client (e.g. one registry host's `certs.d/<host>/*.crt`).
    public var caCertificateFiles: [String]
    /// A client certificate and key presented when a TLS server asks for one (mutual TLS).
    public var clientCertificate: ClientCertificate?
    public var proxies: ProxySettings
    /// `host:port:address[,address]...` entries that pin names to addresses instead of asking DNS
    /// (CURLOPT_RESOLVE). libcurl keeps them in the client's DNS cache, so they hold for every request.
    public var resolveOverrides: [String]
    /// Sent as `User-Agent` unless a request sets that header itself; nil sends none.
    public var userAgent: String?
    /// libcurl's receive buffer (CURLOPT_BUFFERSIZE): the largest read from a socket at a time.
    public var receiveBufferSize: Int
    /// Idle connections kept for reuse across requests (CURLMOPT_MAXCONNECTS).
    public var maxCachedConnections: Int
    /// Concurrent connections per host, 0 for no limit (CURLMOPT_MAX_HOST_CONNECTIONS).
    public var maxConnectionsPerHost: Int

    public init(extraCACertificatesPath: String? = nil, caCertificateFiles: [String] = [],
                clientCertificate: ClientCertificate? = nil, proxies: ProxySettings = ProxySettings(),
                resolveOverrides: [String] = [], userAgent: String? = nil, receiveBufferSize: Int = 64 * 1024,
                maxCachedConnections: Int = 16, maxConnectionsPerHost: Int = 0) {
        self.extraCACertificatesPath = extraCACertificatesPath
        self.caCertificateFiles = caCertificateFiles
        self.clientCertificate = clientCertificate
        self.proxies = proxies
        self.resolveOverrides = resolveOverrides
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

/// A PEM client certificate (chain) and its unencrypted PEM private key (CURLOPT_SSLCERT / CURLOPT_SSLKEY).
public struct ClientCertificate: Sendable, Hashable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}
