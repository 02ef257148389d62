// One client connection: reads and parses requests in order (keep-alive, pipelining), feeds bodies
// to handlers, queues responses with backpressure, and enforces the header/body/idle timeouts.
// Its life is one HTTPConnectionState value; framing is HTTPResponseEncoder's.
import CEpoll
import Glibc

final class HTTPConnection {
    let fd: Int32
    unowned(unsafe) let loop: ServerLoop      // the loop owns its connections and outlives them
    var reactor: Reactor { loop.reactor }
    private var transport: Transport
    private(set) var state = HTTPConnectionState.idle

    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var outputStart = 0
    private var peerClosedInput = false
    private var interest: IOEvents = .readable
    private var tlsReadWantsWritable = false
    /// Whether the socket may hold unread bytes (a readiness event, or reading stopped early).
    private var readMayHaveData = true
    /// Re-entrancy guards: handlers answer from inside `process` and `flush`.
    private var processing = false
    private var flushing = false
    private var pumping = false
    private var pumpAgain = false
    /// Keeps a trickled request head from being parsed again on every read.
    private var reparseGate = HeadReparseGate()
    /// Responses finished since the output queue was last empty: the pipelining depth in flight.
    private var unsentResponses = 0

    private var exchange: HTTPExchange?
    private var response = HTTPResponseEncoder.Decision(framing: .none, sendsBody: false, closesConnection: false)
    private var bodyRemaining = 0
    private var chunked: ChunkedDecoder?
    private var continueSent = false
    private var onHandOver: ((HandedOverSocket) -> Void)?
    /// The handler asked to stop receiving the request body for now (its consumer is full).
    private var bodyPaused = false

    /// Monotonic deadline (ns) for the current state, 0 when none applies.
    var deadline: UInt64 = 0

    init(fd: Int32, loop: ServerLoop, tls: TLSServerContext?) throws(SystemError) {
        self.fd = fd
        self.loop = loop
        if let tls, let ssl = tls.session(fd: fd) {
            transport = .tls(ssl, handshakeDone: false)
        } else if tls != nil {
            throw SystemError("SSL_new", code: ENOMEM)
        } else {
            transport = .plain
        }
        deadline = reactor.turnTime + loop.config.headerTimeoutNs
        try loop.reactor.register(fd: fd, events: .readable) { [unowned(unsafe) self] events in self.onEvents(events) }   // close() unregisters before the connection can go
    }

    var bufferedOutput: Int { output.count - outputStart }
    var belowHighWatermark: Bool { bufferedOutput < loop.config.outputHighWatermark }
    var isIdle: Bool { state == .idle && input.isEmpty }

    /// Whether this object still drives the socket: open, or upgraded with its last response
    /// still being written before the hand-over.
    private var ownsSocket: Bool { state.isOpen || (state == .upgraded && onHandOver != nil) }

    /// Whether parsing the next pipelined request waits: too much of this client's output is unsent,
    /// or too many answered requests are (a client that pipelines and never reads costs bounded memory).
    private var parsingHeld: Bool {
        bufferedOutput >= loop.config.outputHighWatermark || unsentResponses >= loop.config.maxPipelinedRequests
    }

    /// Whether the socket is read now; while unsent output is above the watermark it is not.
    private var readingAllowed: Bool {
        state.isOpen && !peerClosedInput && !bodyPaused && input.count < loop.config.maxInputBuffered && bufferedOutput < loop.config.outputHighWatermark
    }

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
        if events.contains(.readable) || events.contains(.hangup) || events.contains(.error) || tlsReadWantsWritable { readMayHaveData = true }
        pump()
        // EPOLLERR/EPOLLHUP are reported whatever the interest: a dead socket must close, not spin.
        if ownsSocket && (events.contains(.error) || events.contains(.hangup)) && (!readingAllowed || !events.contains(.readable)) { close() }
    }

    /// The one driver of the connection: reads what may be read, runs buffered requests, writes what
    /// is queued, and goes round while one of them unblocked another, within a budget per turn.
    /// A call made while it runs (a handler answering from inside it) asks for one more round.
    private func pump() {
        if pumping { pumpAgain = true; return }
        pumping = true
        var rounds = 0
        repeat {
            pumpAgain = false
            if readMayHaveData && readingAllowed { readAvailable() }
            processBuffered()
            flush()
            rounds += 1
        } while pumpAgain && state.isOpen && rounds < 64
        pumping = false
        if pumpAgain && state.isOpen {      // stay fair to other connections; carry on in a later turn
            reactor.schedule(afterMilliseconds: 0) { [weak self] in self?.pump() }
        }
        handOverIfDone()
        updateInterest()
    }

    private func readAvailable() {
        let scratch = loop.readBuffer
        while readingAllowed {
            switch transport.read(fd: fd, into: scratch) {
            case .bytes(let n):
                tlsReadWantsWritable = false
                received(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                if n < scratch.count, case .plain = transport { readMayHaveData = false; return }
            case .wouldBlock(let wantsWritable):
                tlsReadWantsWritable = wantsWritable
                readMayHaveData = false
                return
            case .closed:
                readMayHaveData = false
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
        if case .serving(let e) = state, e.body != .ended { deadline = reactor.turnTime + loop.config.bodyTimeoutNs }
        if input.isEmpty {
            let used = process(bytes)
            if used < bytes.count && state != .closed { input.append(contentsOf: bytes[used...]) }
        } else {
            input.append(contentsOf: bytes)
            processBuffered()
        }
    }

    private func processBuffered() {
        guard !input.isEmpty, !processing, state.isOpen else { return }
        let wasFull = input.count >= loop.config.maxInputBuffered
        let used = input.withUnsafeBytes { process($0) }
        if state == .closed { input = []; return }
        if used >= input.count { input = [] } else if used > 0 { input.removeFirst(used) }
        if wasFull && input.count < loop.config.maxInputBuffered { readMayHaveData = true; pumpAgain = true }
    }

    /// Consumes as much of `bytes` as the current state allows; returns the count consumed.
    private func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        processing = true
        defer { processing = false }
        var used = 0
        loop: while used < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
            switch state {
            case .idle, .readingHead:
                if parsingHeld { break loop }
                if state == .idle { enter { $0.headBegan() }; reparseGate.reset() }
                guard reparseGate.shouldParse(rest) else { break loop }
                loop.server.metrics.headBytesParsed.add(rest.count, ordering: .relaxed)
                switch HTTPRequestParser.parse(rest, limits: loop.config.limits) {
                case .needMore:
                    reparseGate.neededMore(rest)
                    break loop
                case .failure(let e):
                    failBeforeHandler(e)
                    return bytes.count
                case .complete(let head, let consumed):
                    used += consumed
                    dispatch(head)
                }
            case .serving(let e):
                guard e.body == .streaming, exchange?.bodySink != nil, !bodyPaused else { break loop }
                used += feedBody(rest)
            case .closing:
                return bytes.count          // nothing more is served: drop what the client sends
            case .upgraded, .closed:
                break loop
            }
        }
        if state == .closed { return bytes.count }
        return used
    }

    // MARK: state

    /// Applies one transition and the deadline the new state runs under.
    private func enter(_ transition: (inout HTTPConnectionState) -> Void) {
        transition(&state)
        refreshDeadline()
    }

    /// The deadline for the current state: idle (or a slow reader's output) between requests, the
    /// header timeout from a head's first byte, the body timeout while a body arrives or output
    /// waits for the client, none while a handler works.
    private func refreshDeadline() {
        let now = reactor.turnTime
        let c = loop.config
        switch state {
        case .idle: deadline = now + (bufferedOutput > 0 ? c.bodyTimeoutNs : c.idleTimeoutNs)
        case .readingHead: deadline = now + c.headerTimeoutNs
        case .serving(let e):
            // A body arriving, or output (this response's or earlier pipelined ones') waiting for
            // the client; else the handler is working and no clock runs.
            // A body the handler paused runs at its consumer's pace (the consumer has its own clock).
            if (e.body != .ended && !bodyPaused) || bufferedOutput > 0 { deadline = now + c.bodyTimeoutNs }
            else { deadline = 0 }
        case .closing: deadline = now + c.bodyTimeoutNs
        case .upgraded: deadline = bufferedOutput > 0 ? now + c.bodyTimeoutNs : 0
        case .closed: deadline = 0
        }
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
        let ex = startExchange(head, route: route.name, maxBodyBytes: route.maxBodyBytes)
        route.handler(ex)
    }

    private func startExchange(_ head: HTTPRequestHead, route: String, maxBodyBytes: Int) -> HTTPExchange {
        let ex = HTTPExchange(request: head, route: route, maxBodyBytes: maxBodyBytes, connection: self)
        exchange = ex
        continueSent = false
        chunked = nil
        bodyRemaining = 0
        switch head.framing {
        case .none: break
        case .contentLength(let n): bodyRemaining = n
        case .chunked: chunked = ChunkedDecoder()
        }
        enter { $0.headParsed(hasBody: head.framing != .none, keepAlive: head.keepAlive && !loop.draining) }
        return ex
    }

    /// Answers a request that reached no handler (404, 405, 413 by Content-Length). Its body, if
    /// any, is never read, so the connection closes after the answer.
    private func answerWithoutHandler(_ head: HTTPRequestHead, _ error: HTTPError, routeName: String, extra: HTTPHeaders = HTTPHeaders()) {
        let ex = startExchange(head, route: routeName, maxBodyBytes: 0)
        if error.closesConnection { _ = state.closeAfterResponse() }
        var h = extra
        h.set("Content-Type", "application/json")
        ex.respond(status: error.status, headers: h, body: Array(error.jsonBody.utf8))
    }

    /// A request head that could not be parsed (or did not arrive in time): answer and close, as
    /// its framing is unknown.
    private func failBeforeHandler(_ e: HTTPError) {
        loop.server.logger.debug("rejected request", [("status", .int(e.status)), ("reason", .string(e.message))])
        let head = HTTPRequestHead(method: "GET", target: "/", versionMinor: 1, keepAlive: false)
        let ex = HTTPExchange(request: head, route: "malformed", maxBodyBytes: 0, connection: self)
        exchange = ex
        enter { $0.headParsed(hasBody: false, keepAlive: false) }
        ex.respond(status: e.status, json: e.jsonBody)
    }

    func startBody(for ex: HTTPExchange) {
        guard ex === exchange, state.exchange != nil else { return }
        guard state.exchange?.body == .unread else {
            if state.exchange?.body == .ended && ex.bodyEnd != nil {       // no body: end at once
                let end = ex.bodyEnd
                ex.bodySink = nil
                ex.bodyEnd = nil
                end?(nil)
            }
            return
        }
        _ = state.bodyRequested()
        if ex.request.expectsContinue && !continueSent && input.isEmpty {
            continueSent = true
            queue(HTTPResponseEncoder.continueResponse)
        }
        pumpAgain = true
        if !processing { pump() }
    }

    /// Passes body bytes to the handler; returns how many were body.
    private func feedBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let ex = exchange, let sink = ex.bodySink else { return 0 }
        if chunked != nil {
            var tooLarge = false
            let outcome = chunked!.decode(bytes) { piece in
                if tooLarge { return }
                let (sum, overflow) = ex.bodyReceivedBytes.addingReportingOverflow(piece.count)
                if overflow || sum > ex.maxBodyBytes { tooLarge = true; return }
                ex.bodyReceivedBytes = sum
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
        enter { $0.bodyEnded(failed: false) }
        let end = ex.bodyEnd
        ex.bodySink = nil
        ex.bodyEnd = nil
        end?(nil)
        if state.exchange?.isComplete == true { completeExchange() }
    }

    private func bodyFailed(_ e: HTTPError) {
        guard let ex = exchange, let x = state.exchange, x.body != .ended else { return }
        enter { $0.bodyEnded(failed: true) }
        let end = ex.bodyEnd
        ex.bodySink = nil
        ex.bodyEnd = nil
        if !ex.responseStarted { ex.respond(error: e) }
        end?(e)
        if ex.responseStarted && !ex.responseFinished { close() }
        else if state.exchange?.isComplete == true { completeExchange() }
    }

    // MARK: responses

    /// Decides the framing of the exchange's response and queues its head; returns the decision.
    func writeResponseHead(for ex: HTTPExchange, status: Int, headers: HTTPHeaders, contentLength: Int?) -> HTTPResponseEncoder.Decision {
        let x = state.exchange
        // An unread body cannot be skipped safely: its bytes would be taken for the next request.
        let mustClose = (x?.closeAfter ?? true) || loop.draining || x?.body == .unread
        let request = HTTPResponseEncoder.Request(isHead: ex.request.method == "HEAD", versionMinor: ex.request.versionMinor)
        response = HTTPResponseEncoder.decide(status: status, contentLength: contentLength, headers: headers, request: request, mustClose: mustClose)
        enter { $0.responseStarted(closes: response.closesConnection) }
        if output.isEmpty { loop.lendOutputBuffer(to: &output) }
        HTTPResponseEncoder.encodeHead(statusLine: loop.statusLine(status), fixedLines: loop.dateAndServerLines(), headers: headers,
                                       decision: response, request: request, into: &output)
        refreshDeadline()
        return response
    }

    /// Runs `queueing` (a whole response being queued) with writes held, then drives the connection
    /// once: a response answered outside the connection's own pump goes out in one write, not one
    /// for its head and one for its body.
    func holdingWrites(_ queueing: () -> Void) {
        if pumping { queueing(); return }
        pumping = true
        queueing()
        pumping = false
        pump()
    }

    /// Writes what was queued, unless the connection is already being driven (then it will be).
    func outputQueued() {
        if !pumping { pump() }
    }

    func writeBody(_ bytes: UnsafeRawBufferPointer) {
        HTTPResponseEncoder.encodeBody(bytes, decision: response, into: &output)
        if !pumping { pump() }
    }

    func finishResponse(for ex: HTTPExchange, complete: Bool) {
        HTTPResponseEncoder.encodeEnd(decision: response, into: &output)
        enter { $0.responseEnded(complete: complete) }
        unsentResponses += 1
        loop.server.metrics.record(route: ex.route, status: ex.status, seconds: Double(Reactor.now() - ex.startedAt) / 1e9)
        if loop.debugLogging { loop.logAccess(ex) }
        if state.exchange?.isComplete == true { completeExchange() }      // else answered early: complete once the body is in
    }

    /// The handler takes the socket over once its response is out (see `HTTPExchange.handOver`).
    func requestHandOver(for ex: HTTPExchange, _ receiver: @escaping (HandedOverSocket) -> Void) {
        guard ex === exchange, case .serving(let e) = state, e.response != .ended else { return }
        onHandOver = receiver
        enter { $0.upgradeRequested() }
    }

    /// Stops (true) or resumes (false) handing the exchange's request body to its handler.
    func setBodyPaused(_ paused: Bool, for ex: HTTPExchange) {
        guard ex === exchange, paused != bodyPaused else { return }
        bodyPaused = paused
        refreshDeadline()
        if !paused {
            readMayHaveData = true
            pumpAgain = true
            if !pumping && !processing { pump() }
            else if !pumping { reactor.schedule(afterMilliseconds: 0) { [weak self] in self?.pump() } }
        } else {
            updateInterest()
        }
    }

    private func completeExchange() {
        bodyPaused = false
        exchange?.connection = nil
        exchange = nil
        enter { $0.exchangeCompleted() }
        pumpAgain = true
        if !pumping { pump() }
    }

    /// Hands the socket over once the state is `upgraded` and the last response is written.
    private func handOverIfDone() {
        guard state == .upgraded, bufferedOutput == 0, let receiver = onHandOver else { return }
        onHandOver = nil
        reactor.unregister(fd: fd)
        syncBufferedMetric()
        let tls: UnsafeMutableRawPointer?
        if case .tls(let ssl, _) = transport { tls = ssl } else { tls = nil }
        let socket = HandedOverSocket(fd: fd, tlsSession: tls, bytesAlreadyRead: input)
        input = []
        loop.connectionHandedOver(self)
        receiver(socket)
    }

    // MARK: output

    private func queue(_ bytes: [UInt8]) { output.append(contentsOf: bytes) }

    /// Bytes of this connection the metrics currently count as queued.
    private var accountedOutput = 0

    /// Brings the metrics up to date with what is still queued. Called after each flush (and at
    /// close), so bytes written within the same turn never show as buffered.
    private func syncBufferedMetric() {
        let now = ownsSocket ? bufferedOutput : 0
        if now != accountedOutput {
            loop.server.metrics.noteBuffered(delta: now - accountedOutput, connectionTotal: now)
            accountedOutput = now
        }
    }

    /// Writes queued bytes until the socket would block, asking a streaming handler for more
    /// (`onWritable`) whenever the queue empties. Never recurses: writes made meanwhile only queue.
    private func flush() {
        guard !flushing, ownsSocket else { return }
        flushing = true
        defer { flushing = false }
        let heldBefore = parsingHeld || bufferedOutput >= loop.config.outputHighWatermark
        var rounds = 0
        while ownsSocket {
            let before = bufferedOutput
            var blocked = false
            while outputStart < output.count {
                loop.server.metrics.socketWrites.add(1, ordering: .relaxed)    // before: a reader of the bytes sees it counted
                let r = output.withUnsafeBytes { transport.write(fd: fd, UnsafeRawBufferPointer(rebasing: $0[outputStart...])) }
                switch r {
                case .bytes(let n): outputStart += n
                case .wouldBlock: blocked = true
                case .closed, .failed: close(); return
                }
                if blocked { break }
            }
            if outputStart == output.count { outputStart = 0; loop.takeBackOutputBuffer(from: &output); unsentResponses = 0 }
            else if outputStart > 64 * 1024 { output.removeFirst(outputStart); outputStart = 0 }
            syncBufferedMetric()
            // Write progress restarts the clock (the header timer runs from a head's first byte).
            if bufferedOutput != before && state != .readingHead { refreshDeadline() }
            if blocked || bufferedOutput > 0 { break }
            if state == .closing { close(); return }
            guard case .serving(let e) = state, e.response == .started, let more = exchange?.onWritable else { break }
            rounds += 1
            if rounds > 64 { pumpAgain = true; break }    // the rest in a later round or turn
            more()
            if bufferedOutput == 0 { break }
        }
        if heldBefore && !parsingHeld && bufferedOutput < loop.config.outputHighWatermark {
            readMayHaveData = true          // reading stopped early; TLS may hold decrypted bytes
            pumpAgain = true
        }
    }

    private func updateInterest() {
        guard ownsSocket else { return }
        var want: IOEvents = []
        if readingAllowed { want.insert(.readable) }
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
        switch state {
        case .idle, .readingHead: close()
        case .serving(let e) where e.body != .ended:
            if let ex = exchange, let end = ex.bodyEnd { ex.bodySink = nil; ex.bodyEnd = nil; end(HTTPError(400, "client closed the connection mid-body")) }
            close()
        case .serving: _ = state.closeAfterResponse()      // the client half-closed; still answer it
        case .closing, .upgraded, .closed: break
        }
    }

    /// Called by the idle sweep.
    func expire(now: UInt64) {
        guard deadline != 0, now >= deadline, ownsSocket else { return }
        loop.server.metrics.connectionsTimedOut.add(1, ordering: .relaxed)
        switch state {
        case .readingHead:
            failBeforeHandler(HTTPError(408, "request head not received in time"))
            if state.isOpen { flush() }
            close()
        case .serving(let e) where e.body != .ended && e.response == .pending:
            bodyFailed(HTTPError(408, "request body stalled"))
            if state.isOpen { close() }
        default:
            close()
        }
    }

    func close() {
        guard ownsSocket else { return }
        enter { $0.close() }
        output = []
        outputStart = 0
        syncBufferedMetric()
        if let ex = exchange {
            exchange = nil
            ex.connection = nil
            if !ex.responseFinished { ex.onAbort?() }
        }
        onHandOver = nil
        reactor.unregister(fd: fd)
        if case .tls(let ssl, _) = transport { cep_tls_free(ssl) }
        _ = cep_close(fd)
        loop.connectionClosed(self)
    }

    /// Begins a graceful drain: idle connections close now, busy ones after their response.
    func drain() {
        switch state {
        case .idle where bufferedOutput > 0: enter { $0.closeWhenWritten() }
        case .idle, .readingHead: close()
        case .serving: _ = state.closeAfterResponse()
        case .closing, .upgraded, .closed: break
        }
    }
}

/// A socket an HTTP handler took over after its response (a protocol upgrade): the descriptor, its
/// TLS session if any, and the bytes the client sent after the request that asked for it. The
/// receiver owns all three: it registers the descriptor with the same reactor, frees the session
/// and closes the descriptor when done.
public struct HandedOverSocket {
    public let fd: Int32
    public let tlsSession: UnsafeMutableRawPointer?
    public let bytesAlreadyRead: [UInt8]
}
