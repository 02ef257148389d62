// One request and its response, as a handler sees it: read the body in chunks, write the answer
// whole or streamed with backpressure. Lives on its connection's reactor thread.

public final class HTTPExchange {
    public let request: HTTPRequestHead
    public let route: String
    /// Monotonic nanoseconds when the request head was complete.
    public let startedAt: UInt64
    /// Strong while the exchange is current; the connection clears it when the exchange completes
    /// or the connection closes (a weak reference would cost a side-table allocation per request).
    var connection: HTTPConnection?

    public internal(set) var status = 0
    public internal(set) var responseStarted = false
    public internal(set) var responseFinished = false
    /// Whether body bytes go on the wire (not for HEAD, 204, 304), as the encoder decided.
    private var sendsBody = false
    /// Body bytes still owed under a Content-Length; nil for chunked or close-delimited bodies.
    private var contentLengthRemaining: Int? = nil

    var bodySink: ((UnsafeRawBufferPointer) -> Void)?
    var bodyEnd: ((HTTPError?) -> Void)?
    public internal(set) var bodyReceivedBytes = 0
    let maxBodyBytes: Int

    /// Called while the response streams, each time every queued byte has gone out (the queue drains
    /// to empty, there is no low watermark): the handler writes its next bytes then.
    public var onWritable: (() -> Void)?
    /// Called once if the client goes away or the connection fails before the response is finished.
    public var onAbort: (() -> Void)?

    init(request: HTTPRequestHead, route: String, maxBodyBytes: Int, connection: HTTPConnection) {
        self.request = request
        self.route = route
        self.maxBodyBytes = maxBodyBytes
        self.connection = connection
        self.startedAt = Reactor.now()
    }

    /// The reactor this exchange runs on.
    public var reactor: Reactor? { connection?.reactor }

    /// The serving server's metrics.
    public var metrics: ServerMetrics? { connection?.loop.server.metrics }

    // MARK: request body

    /// Streams the request body: `onChunk` for each run of bytes (valid only during the call), then
    /// `onEnd(nil)`, or `onEnd(error)` when the body is malformed, too large or the client went away.
    public func readBody(onChunk: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (HTTPError?) -> Void) {
        bodySink = onChunk
        bodyEnd = onEnd
        connection?.startBody(for: self)
    }

    /// Holds (true) or releases (false) the rest of the request body: a handler relaying it to a slower
    /// consumer pauses until that consumer drains, and the socket is not read meanwhile.
    public func pauseBody(_ paused: Bool) {
        connection?.setBodyPaused(paused, for: self)
    }

    /// Collects the whole body, failing with 413 past `limit` bytes (and the route's own limit).
    public func collectBody(limit: Int, _ done: @escaping (Result<[UInt8], HTTPError>) -> Void) {
        var body: [UInt8] = []
        var failed = false
        let cap = Swift.min(limit, maxBodyBytes)
        readBody(onChunk: { chunk in
            guard !failed else { return }
            if body.count + chunk.count > cap { failed = true; return }
            body.append(contentsOf: chunk)
        }, onEnd: { error in
            if let error { done(.failure(error)) }
            else if failed { done(.failure(HTTPError(413, "request body larger than \(cap) bytes"))) }
            else { done(.success(body)) }
        })
    }

    // MARK: response

    /// Sends a complete response.
    /// Head and body leave in one write, also when the answer comes later than the request's turn.
    public func respond(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        guard let c = connection else { return }
        c.holdingWrites {
            startResponse(status: status, headers: headers, contentLength: body.count)
            if !body.isEmpty { _ = write(body) }
            finish()
        }
    }

    public func respond(status: Int, json: String, headers: HTTPHeaders = HTTPHeaders()) {
        var h = headers
        h.set("Content-Type", "application/json")
        respond(status: status, headers: h, body: Array(json.utf8))
    }

    public func respond(error: HTTPError) {
        respond(status: error.status, json: error.jsonBody)
    }

    /// Starts a streamed response: with `contentLength`, exactly that many bytes must follow;
    /// without, the body is chunked (HTTP/1.1) or ends when the connection closes (HTTP/1.0).
    public func startResponse(status: Int, headers: HTTPHeaders = HTTPHeaders(), contentLength: Int?) {
        guard !responseStarted, let c = connection else { return }
        self.status = status
        responseStarted = true
        let decision = c.writeResponseHead(for: self, status: status, headers: headers, contentLength: contentLength)
        sendsBody = decision.sendsBody
        switch decision.framing {
        case .contentLength(let n): contentLengthRemaining = n
        case .none: contentLengthRemaining = 0
        case .chunked, .closeDelimited: contentLengthRemaining = nil
        }
        c.outputQueued()
    }

    /// Takes the socket over once this exchange's response (typically a 101) has been written:
    /// `receiver` then gets the descriptor, its TLS session and the bytes the client sent after
    /// this request, and the server forgets the connection. Call before `finish`. When the
    /// connection must close instead (the client asked to, a drain), it closes and `receiver` is
    /// never called.
    public func handOver(_ receiver: @escaping (HandedOverSocket) -> Void) {
        connection?.requestHandOver(for: self, receiver)
    }

    /// Queues body bytes. Returns false when the queue is above the high watermark: stop writing
    /// and wait for `onWritable`.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { write($0) }
    }

    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard responseStarted, !responseFinished, let c = connection else { return false }
        if !sendsBody || bytes.isEmpty { return c.belowHighWatermark }
        if let r = contentLengthRemaining {
            let n = Swift.min(r, bytes.count)
            contentLengthRemaining = r - n
            c.writeBody(UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
        } else {
            c.writeBody(bytes)
        }
        return connection?.belowHighWatermark ?? false
    }

    /// Gives the response up mid-way: the connection closes at once, so the client sees a cut answer
    /// (never a complete-looking one when its source failed). A response not yet started is not sent.
    public func abort() {
        connection?.close()
    }

    /// Ends the response. A known-length response finished short closes the connection.
    public func finish() {
        guard responseStarted, !responseFinished, let c = connection else { return }
        responseFinished = true
        c.finishResponse(for: self, complete: (contentLengthRemaining ?? 0) == 0 || !sendsBody)
    }
}
