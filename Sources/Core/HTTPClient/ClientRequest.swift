// What an outbound request is made of, and what comes back.

/// An outbound HTTP request. Runs on the client's reactor thread, like every closure it carries.
public struct ClientRequest {
    public var method: String
    /// An absolute http:// or https:// URL.
    public var url: String
    /// Sent as given. libcurl adds Host, Accept and the body framing headers; `Expect: 100-continue`
    /// is not sent unless set here, and neither is Accept-Encoding (bodies arrive as sent).
    public var headers: HTTPHeaders
    public var body: ClientRequestBody?
    public var timeouts: ClientTimeouts
    public var redirects: RedirectPolicy
    /// Body bytes the client holds for a consumer that paused before it pauses libcurl in turn.
    public var bodyBufferLimit: Int
    /// Consulted with each resolved address before a new connection opens (CURLOPT_OPENSOCKETFUNCTION);
    /// followed redirects keep it (`RedirectPolicy.standardNextRequest` copies the request). A reused
    /// cached connection is not checked again, so give every request of a client the same filter.
    public var connectFilter: ConnectFilter?
    /// Connects straight to the URL's host, ignoring the client's proxies (for checking where a name
    /// leads when the real request goes through a proxy).
    public var bypassesProxy: Bool

    public init(method: String = "GET", url: String, headers: HTTPHeaders = HTTPHeaders(),
                body: ClientRequestBody? = nil, timeouts: ClientTimeouts = ClientTimeouts(),
                redirects: RedirectPolicy = .none, bodyBufferLimit: Int = 256 * 1024, connectFilter: ConnectFilter? = nil,
                bypassesProxy: Bool = false) {
        self.bypassesProxy = bypassesProxy
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
        self.redirects = redirects
        self.bodyBufferLimit = bodyBufferLimit
        self.connectFilter = connectFilter
    }
}

/// A request body.
public enum ClientRequestBody {
    /// Bytes in memory; sent with Content-Length and replayable (redirects, connection retries).
    case bytes([UInt8])
    /// Produced on demand into libcurl's buffer; `length` nil sends it chunked. Not replayable.
    case stream(length: Int?, producer: (UnsafeMutableRawBufferPointer) -> ClientBodyProduction)

    public var isReplayable: Bool {
        if case .bytes = self { return true }
        return false
    }
}

/// A body producer's answer when libcurl asks for more request body.
public enum ClientBodyProduction {
    /// `n` bytes (1...buffer.count) were written to the start of the buffer.
    case wrote(Int)
    /// The body is complete.
    case end
    /// Nothing available now; libcurl pauses the upload until `ClientTask.resumeUpload()`.
    case notYet
    /// Abort the request with `HTTPClientError.Kind.bodyProducerFailed`.
    case failed(String)
}

/// Per-request time limits, in milliseconds; nil means none.
public struct ClientTimeouts: Sendable {
    /// Until the TCP (and proxy/TLS) connection is up (CURLOPT_CONNECTTIMEOUT_MS).
    public var connect: Int?
    /// The whole transfer, including time a paused consumer holds it (CURLOPT_TIMEOUT_MS).
    public var total: Int?
    /// Abort when fewer than `bytesPerSecond` move for `seconds` in a row, time spent paused by the
    /// consumer excepted (CURLOPT_LOW_SPEED_LIMIT / CURLOPT_LOW_SPEED_TIME).
    public var lowSpeed: (bytesPerSecond: Int, seconds: Int)?

    public init(connect: Int? = 30_000, total: Int? = nil, lowSpeed: (bytesPerSecond: Int, seconds: Int)? = nil) {
        self.connect = connect
        self.total = total
        self.lowSpeed = lowSpeed
    }

    /// The `lowSpeed` rule for "fewer than `minimumBytes` move in `milliseconds`": libcurl counts whole
    /// seconds, so the window is rounded up (at least 1 s) and the rate at least 1 byte/s.
    public static func stallRule(milliseconds: Int, minimumBytes: Int = 1) -> (bytesPerSecond: Int, seconds: Int) {
        let seconds = max(1, milliseconds / 1000 + (milliseconds % 1000 > 0 ? 1 : 0))
        return (max(1, minimumBytes / seconds), seconds)
    }
}

/// The status line and header fields of a final (non-1xx) response.
public struct ClientResponseHead: Sendable {
    public let status: Int
    public let reason: String
    /// "HTTP/1.1", "HTTP/1.0", ...
    public let version: String
    /// Multi-valued, case-insensitive.
    public let headers: HTTPHeaders
    /// The URL this response came from (the last hop after redirects).
    public let url: String
}

/// A body consumer's answer to each chunk it receives.
public enum ClientBodyDisposition: Sendable {
    /// The chunk is consumed; send the next.
    case `continue`
    /// The chunk is consumed; send nothing more until `ClientTask.resumeBody()`.
    case pause
}

/// How a successful request went.
public struct ClientTransferSummary: Sendable {
    public let head: ClientResponseHead
    /// Body bytes handed to the consumer.
    public let bodyBytes: Int
    public let redirectsFollowed: Int
    /// New connections the last hop opened (CURLINFO_NUM_CONNECTS): 0 when it reused one.
    public let connectionsOpened: Int
}

/// A whole response collected by `HTTPClient.fetch`.
public struct ClientResponse: Sendable {
    public let head: ClientResponseHead
    public let body: [UInt8]
    public let summary: ClientTransferSummary
    public var status: Int { head.status }
}
