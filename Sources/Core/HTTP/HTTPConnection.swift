// One client connection: reads and parses requests in order (keep-alive, pipelining), feeds bodies
// to handlers, queues responses with backpressure, and enforces the header/body/idle timeouts.
import CEpoll

final class HTTPConnection {
    enum Phase { case idle, head, body, responding, closed }

    let fd: Int32
    unowned(unsafe) let loop: ServerLoop      // the loop owns its connections and outlives them
    var reactor: Reactor { loop.reactor }
    private var transport: Transport
    private(set) var phase = Phase.idle

    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var outputStart = 0
    private var readingPaused = false
    private var peerClosedInput = false
    private var closeAfterResponse = false
    private var processing = false
    private var interest: IOEvents = .readable
    private var tlsReadWantsWritable = false
    private var flushing = false

    private var exchange: HTTPExchange?
    private var bodyRemaining = 0
    private var chunked: ChunkedDecoder?
    private var bodyStarted = false
    private var continueSent = false

    /// Monotonic deadline (ns) for the current phase, 0 when none applies.
    var deadline: UInt64 = 0

    init(fd: Int32, loop: ServerLoop, tls: TLSServerContext?) throws(SystemError) {
        self.fd = fd
        self.loop = loop
        if let tls, let ssl = tls.session(fd: fd) {
            transport = .tls(ssl, handshakeDone: false)
        } else {
            transport = .plain
        }
        deadline = reactor.turnTime + loop.config.headerTimeoutNs
        try loop.reactor.register(fd: fd, events: .readable) { [unowned(unsafe) self] events in self.onEvents(events) }   // close() unregisters before the connection can go
    }

    var bufferedOutput: Int { output.count - outputStart }
    var belowHighWatermark: Bool { bufferedOutput < loop.config.outputHighWatermark }
    var isIdle: Bool { phase == .idle && input.isEmpty }

    // MARK: events

    private func onEvents(_ events: IOEvents) {
        if case .tls(let ssl, false) = transport {
            switch Int(cep_tls_handshake(ssl)) {
            case 1: transport = .tls(ssl, handshakeDone: true)
            case CEP_WANT_READ: setInterest(.readable); return
            case CEP_WANT_WRITE: setInterest(.writable); return
            default:
                loop.server.logger.debug("TLS handshake failed", [("error", .string(TLSServerContext.lastError()))])
                close()
                return
            }
        }
        if bufferedOutput > 0 || tlsReadWantsWritable { flush() }
        if phase != .closed && !readingPaused && !peerClosedInput { readAvailable() }
        if phase != .closed && bufferedOutput > 0 { flush() }
        // EPOLLERR/EPOLLHUP are reported whatever the interest: a dead socket must close, not spin.
        if phase != .closed && (events.contains(.error) || events.contains(.hangup)) && (readingPaused || peerClosedInput || !events.contains(.readable)) { close() }
        updateInterest()
    }

    private func readAvailable() {
        let scratch = loop.readBuffer
        while phase != .closed && !readingPaused && !peerClosedInput {
            switch transport.read(fd: fd, into: scratch) {
            case .bytes(let n):
                tlsReadWantsWritable = false
                received(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                if n < scratch.count, case .plain = transport { return }
            case .wouldBlock(let wantsWritable):
                tlsReadWantsWritable = wantsWritable
                return
            case .closed:
                peerClosedInput = true
                peerClosed()
                return
            case .failed:
                close()
                return
            }
        }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        if phase == .idle { phase = .head; deadline = reactor.turnTime + loop.config.headerTimeoutNs }
        if phase == .body { deadline = reactor.turnTime + loop.config.bodyTimeoutNs }
        if input.isEmpty {
            let used = process(bytes)
            if used < bytes.count && phase != .closed { input.append(contentsOf: bytes[used...]) }
        } else {
            input.append(contentsOf: bytes)
            processBuffered()
        }
        if input.count > loop.config.maxInputBuffered { readingPaused = true }
    }

    private func processBuffered() {
        guard !input.isEmpty, !processing else { return }
        let used = input.withUnsafeBytes { process($0) }
        if phase == .closed { return }
        if used >= input.count { input = [] } else if used > 0 { input.removeFirst(used) }
        if readingPaused && input.count <= loop.config.maxInputBuffered {
            readingPaused = false
            readAvailable()
        }
    }

    /// Consumes as much of `bytes` as the current phase allows; returns the count consumed.
    private func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        processing = true
        defer { processing = false }
        var used = 0
        loop: while used < bytes.count && phase != .closed {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
            switch phase {
            case .idle, .head:
                phase = .head
                if closeAfterResponse { used = bytes.count; break loop }
                switch HTTPRequestParser.parse(rest, limits: loop.config.limits) {
                case .needMore: break loop
                case .failure(let e):
                    failBeforeHandler(e)
                    used = bytes.count
                    break loop
                case .complete(let head, let consumed):
                    used += consumed
                    dispatch(head)
                }
            case .body:
                guard exchange?.bodySink != nil else { break loop }
                used += feedBody(rest)
            case .responding:
                break loop
            case .closed:
                break loop
            }
        }
        if phase == .closed { return bytes.count }
        return used
    }

    // MARK: requests

    private func dispatch(_ head: HTTPRequestHead) {
        let route: Route
        switch loop.server.router.match(method: head.method, path: head.path) {
        case .found(let r): route = r
        case .notFound:
            answerWithoutHandler(head, HTTPError(404, "no route for \(head.method) \(head.path)", closesConnection: false), routeName: "unmatched")
            return
        case .methodNotAllowed(let allowed):
            answerWithoutHandler(head, HTTPError(405, "method \(head.method) not allowed; allowed: \(allowed.joined(separator: ", "))", closesConnection: false),
                                 routeName: "unmatched", extra: ["Allow": allowed.joined(separator: ", ")])
            return
        }
        if case .contentLength(let n) = head.framing, n > route.maxBodyBytes {
            answerWithoutHandler(head, HTTPError(413, "request body of \(n) bytes is larger than the \(route.maxBodyBytes) allowed"), routeName: route.name)
            return
        }
        let ex = HTTPExchange(request: head, route: route.name, maxBodyBytes: route.maxBodyBytes, connection: self)
        exchange = ex
        startRequest(head)
        route.handler(ex)
    }

    private func startRequest(_ head: HTTPRequestHead) {
        if !head.keepAlive || loop.draining { closeAfterResponse = true }
        bodyStarted = false
        continueSent = false
        chunked = nil
        bodyRemaining = 0
        switch head.framing {
        case .none: phase = .responding; deadline = 0
        case .contentLength(let n): phase = .body; bodyRemaining = n; deadline = reactor.turnTime + loop.config.bodyTimeoutNs
        case .chunked: phase = .body; chunked = ChunkedDecoder(); deadline = reactor.turnTime + loop.config.bodyTimeoutNs
        }
    }

    /// Answers a request that reached no handler (404, 405, 413 by Content-Length).
    private func answerWithoutHandler(_ head: HTTPRequestHead, _ error: HTTPError, routeName: String, extra: HTTPHeaders = HTTPHeaders()) {
        let ex = HTTPExchange(request: head, route: routeName, maxBodyBytes: 0, connection: self)
        exchange = ex
        startRequest(head)
        if head.framing != .none { closeAfterResponse = true }   // the body will not be read
        if error.closesConnection { closeAfterResponse = true }
        var h = extra
        h.set("Content-Type", "application/json")
        ex.respond(status: error.status, headers: h, body: Array(error.jsonBody.utf8))
    }

    /// A request head that could not be parsed: answer and close, as its framing is unknown.
    private func failBeforeHandler(_ e: HTTPError) {
        loop.server.logger.debug("rejected request", [("status", .int(e.status)), ("reason", .string(e.message))])
        closeAfterResponse = true
        let head = HTTPRequestHead(method: "GET", target: "/", versionMinor: 1, keepAlive: false)
        let ex = HTTPExchange(request: head, route: "malformed", maxBodyBytes: 0, connection: self)
        exchange = ex
        phase = .responding
        ex.respond(status: e.status, json: e.jsonBody)
    }

    func startBody(for ex: HTTPExchange) {
        guard ex === exchange, !bodyStarted else { return }
        bodyStarted = true
        if phase != .body {
            ex.bodyEnd?(nil)
            return
        }
        if ex.request.expectsContinue && !continueSent && input.isEmpty {
            continueSent = true
            queue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            flush()
        }
        if !processing { processBuffered() }
    }

    /// Passes body bytes to the handler; returns how many were body.
    private func feedBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let ex = exchange, let sink = ex.bodySink else { return 0 }
        if chunked != nil {
            var tooLarge = false
            let outcome = chunked!.decode(bytes) { piece in
                if tooLarge { return }
                ex.bodyReceivedBytes += piece.count
                if ex.bodyReceivedBytes > ex.maxBodyBytes { tooLarge = true; return }
                sink(piece)
            }
            if tooLarge {
                bodyFailed(HTTPError(413, "request body larger than the \(ex.maxBodyBytes) bytes allowed"))
                return bytes.count
            }
            switch outcome {
            case .needMore: return bytes.count
            case .done(let consumed): bodyDone(); return consumed
            case .failure(let e): bodyFailed(e); return bytes.count
            }
        }
        let n = Swift.min(bodyRemaining, bytes.count)
        bodyRemaining -= n
        ex.bodyReceivedBytes += n
        sink(UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
        if bodyRemaining == 0 { bodyDone() }
        return n
    }

    private func bodyDone() {
        guard let ex = exchange else { return }
        phase = ex.responseFinished ? .idle : .responding
        deadline = 0
        let end = ex.bodyEnd
        ex.bodySink = nil
        ex.bodyEnd = nil
        end?(nil)
        if ex.responseFinished { completeExchange() }
    }

    private func bodyFailed(_ e: HTTPError) {
        guard let ex = exchange else { return }
        closeAfterResponse = true
        let end = ex.bodyEnd
        ex.bodySink = nil
        ex.bodyEnd = nil
        phase = .responding
        if !ex.responseStarted { ex.respond(error: e) }
        end?(e)
        if ex.responseStarted && !ex.responseFinished { close() }
    }

    // MARK: responses

    func writeResponseHead(for ex: HTTPExchange, status: Int, headers: HTTPHeaders, framing: ResponseFraming) {
        if case .closeDelimited = framing { closeAfterResponse = true }
        if loop.draining { closeAfterResponse = true }
        if phase == .body && !bodyStarted { closeAfterResponse = true }     // an unread body cannot be skipped safely
        if output.isEmpty { loop.lendOutputBuffer(to: &output) }
        output.append(contentsOf: loop.statusLine(status))
        output.append(contentsOf: loop.dateAndServerLines())
        for (n, v) in headers.fields {
            if n.equalsIgnoringASCIICase("Content-Length") || n.equalsIgnoringASCIICase("Transfer-Encoding") { continue }
            if n.equalsIgnoringASCIICase("Connection") {
                if v.lowercased() == "close" { closeAfterResponse = true }
                continue
            }
            output.append(contentsOf: n.utf8)
            output.append(contentsOf: HTTPConnection.colonSpace)
            output.append(contentsOf: v.utf8)
            output.append(contentsOf: HTTPConnection.crlf)
        }
        switch framing {
        case .contentLength(let n):
            output.append(contentsOf: HTTPConnection.contentLengthPrefix)
            appendDecimal(n)
            output.append(contentsOf: HTTPConnection.crlf)
        case .chunked: output.append(contentsOf: HTTPConnection.chunkedLine)
        case .none, .closeDelimited: break
        }
        if closeAfterResponse {
            output.append(contentsOf: HTTPConnection.closeLine)
        } else if ex.request.versionMinor == 0 {
            output.append(contentsOf: HTTPConnection.keepAliveLine)
        }
        output.append(contentsOf: HTTPConnection.crlf)
        if !processing { flush() }
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let colonSpace: [UInt8] = [58, 32]
    private static let contentLengthPrefix = Array("Content-Length: ".utf8)
    private static let chunkedLine = Array("Transfer-Encoding: chunked\r\n".utf8)
    private static let closeLine = Array("Connection: close\r\n".utf8)
    private static let keepAliveLine = Array("Connection: keep-alive\r\n".utf8)

    private func appendDecimal(_ value: Int) {
        var v = value
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { output.append(d[i]) }
        }
    }

    func writeBody(_ bytes: UnsafeRawBufferPointer, chunked: Bool) {
        if chunked {
            queue(Array((String(bytes.count, radix: 16) + "\r\n").utf8))
            queue(bytes)
            queue([13, 10])
        } else {
            queue(bytes)
        }
        if !processing { flush() }
    }

    func finishResponse(for ex: HTTPExchange, complete: Bool) {
        if ex.chunkedResponse { queue(Array("0\r\n\r\n".utf8)) }
        if !complete { closeAfterResponse = true }
        loop.server.metrics.record(route: ex.route, status: ex.status, seconds: Double(Reactor.now() - ex.startedAt) / 1e9)
        if loop.debugLogging { loop.logAccess(ex) }
        if phase == .body && bodyStarted { return }     // answered early; complete once the body is in
        completeExchange()
    }

    private func completeExchange() {
        exchange?.connection = nil
        exchange = nil
        if closeAfterResponse {
            phase = .responding
            flush()
            if bufferedOutput == 0 { close() }
            return
        }
        phase = .idle
        deadline = reactor.turnTime + loop.config.idleTimeoutNs
        if !processing {
            flush()
            processBuffered()
            updateInterest()
        }
    }

    // MARK: output

    private func queue(_ bytes: UnsafeRawBufferPointer) {
        output.append(contentsOf: bytes)
    }

    private func queue(_ bytes: [UInt8]) { bytes.withUnsafeBytes { queue($0) } }

    /// Bytes of this connection the metrics currently count as queued.
    private var accountedOutput = 0

    /// Brings the metrics up to date with what is still queued. Called after each flush (and at
    /// close), so bytes written within the same turn never show as buffered.
    private func syncBufferedMetric() {
        let now = bufferedOutput
        if now != accountedOutput {
            loop.server.metrics.noteBuffered(delta: now - accountedOutput, connectionTotal: now)
            accountedOutput = now
        }
    }

    /// Writes queued bytes until the socket would block, asking a streaming handler for more
    /// (`onWritable`) whenever the queue empties. Never recurses: writes made meanwhile only queue.
    func flush() {
        guard !flushing, phase != .closed else { return }
        flushing = true
        defer { flushing = false }
        var rounds = 0
        while phase != .closed {
            let before = bufferedOutput
            var blocked = false
            while outputStart < output.count {
                let r = output.withUnsafeBytes { transport.write(fd: fd, UnsafeRawBufferPointer(rebasing: $0[outputStart...])) }
                switch r {
                case .bytes(let n): outputStart += n
                case .wouldBlock: blocked = true
                case .closed, .failed: close(); return
                }
                if blocked { break }
            }
            if outputStart == output.count { outputStart = 0; loop.takeBackOutputBuffer(from: &output) }
            else if outputStart > 64 * 1024 { output.removeFirst(outputStart); outputStart = 0 }
            syncBufferedMetric()
            let streaming = exchange.map { $0.responseStarted && !$0.responseFinished } ?? false
            if streaming && bufferedOutput < before { deadline = reactor.turnTime + loop.config.bodyTimeoutNs }
            if blocked || bufferedOutput > 0 { break }
            if closeAfterResponse && exchange == nil { close(); return }
            guard streaming, let more = exchange?.onWritable else { break }
            rounds += 1
            if rounds > 64 {        // stay fair to other connections; carry on in a later turn
                reactor.schedule(afterMilliseconds: 0) { [weak self] in self?.flush(); self?.updateInterest() }
                break
            }
            more()
            if bufferedOutput == 0 { break }
        }
        updateInterest()
    }

    private func updateInterest() {
        guard phase != .closed else { return }
        var want: IOEvents = []
        if !readingPaused && !peerClosedInput { want.insert(.readable) }
        if bufferedOutput > 0 || tlsReadWantsWritable { want.insert(.writable) }
        setInterest(want)
    }

    private func setInterest(_ want: IOEvents) {
        if want != interest {
            interest = want
            reactor.modify(fd: fd, events: want)
        }
    }

    // MARK: closing

    private func peerClosed() {
        switch phase {
        case .idle, .head: close()
        case .body: 
            if let ex = exchange, let end = ex.bodyEnd { ex.bodySink = nil; ex.bodyEnd = nil; end(HTTPError(400, "client closed the connection mid-body")) }
            close()
        case .responding: closeAfterResponse = true      // the client half-closed; still answer it
        case .closed: break
        }
    }

    /// Called by the idle sweep.
    func expire(now: UInt64) {
        guard deadline != 0, now >= deadline, phase != .closed else { return }
        loop.server.metrics.connectionsTimedOut.add(1, ordering: .relaxed)
        switch phase {
        case .head:
            closeAfterResponse = true
            failBeforeHandler(HTTPError(408, "request head not received in time"))
            if phase != .closed { flush() }
            if phase != .closed { close() }
        case .body where exchange?.responseStarted == false:
            bodyFailed(HTTPError(408, "request body stalled"))
            if phase != .closed { close() }
        default:
            close()
        }
    }

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        output = []
        outputStart = 0
        syncBufferedMetric()
        if let ex = exchange {
            exchange = nil
            ex.connection = nil
            if !ex.responseFinished { ex.onAbort?() }
        }
        reactor.unregister(fd: fd)
        if case .tls(let ssl, _) = transport { cep_tls_free(ssl) }
        _ = cep_close(fd)
        loop.connectionClosed(self)
    }

    /// Begins a graceful drain: idle connections close now, busy ones after their response.
    func drain() {
        if isIdle && bufferedOutput == 0 { close() } else { closeAfterResponse = true }
    }
}
