// Settings of the HTTP server: address, threads, limits, timeouts, TLS.
import CEpoll

public struct HTTPServerConfiguration: Sendable {
    /// Address to listen on; nil listens on every address.
    public var host: String? = nil
    /// 0 picks a free port (read it back from `HTTPServer.port`).
    public var port = 0
    /// Reactor threads; each accepts on its own SO_REUSEPORT socket.
    public var threads = Int(cep_cpus_available())
    public var limits = HTTPParserLimits()
    /// From the first byte of a request to the end of its head (slowloris defence).
    public var headerTimeoutMs = 10_000
    /// How long a keep-alive connection may wait for its next request.
    public var idleTimeoutMs = 75_000
    /// Longest pause while a request body is arriving or a response is being written.
    public var bodyTimeoutMs = 30_000
    /// How long a graceful drain lets in-flight requests run before closing them.
    public var drainTimeoutMs = 30_000
    /// Queued response bytes above which `HTTPExchange.write` asks the handler to wait, and the
    /// connection stops reading and parsing the client's further pipelined requests.
    public var outputHighWatermark = 256 * 1024
    /// Answered requests whose responses are still queued (the client has not read them) before
    /// the connection stops parsing further pipelined requests.
    public var maxPipelinedRequests = 32
    /// Client connections open at once, across all threads; past it new ones are closed at once.
    public var maxConnections = HTTPServerConfiguration.defaultMaxConnections()
    /// How long the listener is left alone after accept ran out of descriptors.
    public var acceptBackoffMs = 100
    /// Pipelined or unread request bytes held per connection before reading pauses.
    public var maxInputBuffered = 64 * 1024
    public var tls: TLSServerContext? = nil
    public var serverName = "cr-agent"

    public init() {}

    /// The soft RLIMIT_NOFILE less 64 descriptors kept for outbound connections and files (half
    /// the limit when it is under 128).
    public static func defaultMaxConnections() -> Int {
        let soft = Int(cep_nofile_soft_limit())
        if soft <= 0 { return 1024 }
        return soft >= 128 ? soft - 64 : Swift.max(1, soft / 2)
    }

    var headerTimeoutNs: UInt64 { UInt64(headerTimeoutMs) * 1_000_000 }
    var idleTimeoutNs: UInt64 { UInt64(idleTimeoutMs) * 1_000_000 }
    var bodyTimeoutNs: UInt64 { UInt64(bodyTimeoutMs) * 1_000_000 }
    /// How often connections are checked against their deadlines.
    var sweepIntervalMs: Int { Swift.max(5, Swift.min(1000, Swift.min(headerTimeoutMs, idleTimeoutMs, bodyTimeoutMs) / 4)) }
}
