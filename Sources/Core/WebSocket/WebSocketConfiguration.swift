// The limits and timeouts of a WebSocket connection, and (for a client) how it reaches its server.

public struct WebSocketConfiguration: Sendable {
    /// Largest message accepted, all fragments together; a longer one is refused with close code 1009.
    public var maxMessageBytes: Int
    /// Queued output at or above which `send` callers should wait (check `bufferedBytes`) and the
    /// socket is no longer read (a peer that sends pings and never reads cannot grow our queue).
    public var outputHighWatermark: Int
    /// Queued output below which `onWritable` fires for a producer that waited.
    public var outputLowWatermark: Int
    /// How long a sent close frame waits for the peer's before the socket is closed anyway.
    public var closeTimeoutMilliseconds: Int
    /// Client: from the start of the connect to the server's 101 (DNS, TCP, proxy, TLS, upgrade).
    public var handshakeTimeoutMilliseconds: Int
    /// Closes (1001) a connection that received nothing for this long; 0 for never.
    public var idleTimeoutMilliseconds: Int
    /// Client TLS: a PEM file of CA certificates trusted on top of the system bundle (`CA_CERT`),
    /// and more files like it. Peer and host-name verification are always on.
    public var extraCACertificatesPath: String?
    public var caCertificateFiles: [String]
    /// Client: proxies (`HTTPS_PROXY` for wss://, `HTTP_PROXY` for ws://, `NO_PROXY`), reached with CONNECT.
    public var proxies: ProxySettings

    public init(maxMessageBytes: Int = 33_554_432, outputHighWatermark: Int = 1 << 20, outputLowWatermark: Int = 256 << 10,
                closeTimeoutMilliseconds: Int = 5_000, handshakeTimeoutMilliseconds: Int = 30_000, idleTimeoutMilliseconds: Int = 0,
                extraCACertificatesPath: String? = nil, caCertificateFiles: [String] = [], proxies: ProxySettings = ProxySettings()) {
        self.maxMessageBytes = maxMessageBytes
        self.outputHighWatermark = outputHighWatermark
        self.outputLowWatermark = min(outputLowWatermark, outputHighWatermark)
        self.closeTimeoutMilliseconds = closeTimeoutMilliseconds
        self.handshakeTimeoutMilliseconds = handshakeTimeoutMilliseconds
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.extraCACertificatesPath = extraCACertificatesPath
        self.caCertificateFiles = caCertificateFiles
        self.proxies = proxies
    }

    /// Reads `CA_CERT` and the proxy variables, as the HTTP client does (`HTTPClientConfiguration(environment:)`).
    public init(environment env: [String: String]) {
        self.init(extraCACertificatesPath: env["CA_CERT"].flatMap { $0.isEmpty ? nil : $0 }, proxies: ProxySettings(environment: env))
    }
}
