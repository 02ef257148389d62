// One WebSocket connection (RFC 6455) on a reactor, client or server, over a plain or TLS socket:
// frames in and out, ping/pong, the closing handshake with its timeout, message limits, and
// backpressure both ways. Its life is one Phase value; framing is WebSocketFrame's, messages the
// assembler's. Made by `WebSocketUpgrade` (server) or `WebSocketConnection.connect` (client).
import CEpoll
import Glibc

public final class WebSocketConnection {
    public enum Role: Sendable { case server, client }
    /// What a user of the connection sees of its life.
    public enum State: Equatable, Sendable { case open, closing, closed }

    /// Where the connection is, as one value.
    private enum Phase: Equatable {
        case open
        /// Our close frame is queued. `awaitingPeerClose`: the peer's is still to come (we began the
        /// handshake); otherwise the handshake is over or failed, input is read and dropped, and the
        /// socket ends once our frame is out. `writeShut`: our side of the TCP stream is shut.
        case closing(awaitingPeerClose: Bool, writeShut: Bool)
        case closed
    }

    public let role: Role
    public let reactor: Reactor
    public let configuration: WebSocketConfiguration
    private let fd: Int32
    private var transport: Transport
    private var phase = Phase.open

    private var parser: WebSocketFrameParser
    private var assembler: WebSocketMessageAssembler
    private var input: [UInt8]
    private var inputStart = 0
    private var output: [UInt8] = []
    private var outputStart = 0

    private var interest: IOEvents = []
    private var readMayHaveData = true
    private var tlsReadWantsWritable = false
    private var peerClosedInput = false
    private var userReading = true
    /// A producer saw `bufferedBytes` at or above the low-water mark and waits for `onWritable`.
    private var writableWanted = false
    private var pumping = false
    private var pumpAgain = false
    private var pumpScheduled = false
    private var closeTimer: TimerID?
    private var idleTimer: TimerID?
    private var lastReceived: UInt64

    /// The peer's close frame, when one came: its code (nil when it carried none) and reason.
    private var peerClose: (code: UInt16?, reason: String)?
    /// Why the connection failed or ended without a clean closing handshake.
    private var failure: String?

    // MARK: what a user sees

    public var onText: ((String) -> Void)?
    public var onBinary: (([UInt8]) -> Void)?
    public var onPong: (([UInt8]) -> Void)?
    /// Called once when the connection is gone: the peer's close code (nil when none came) and why.
    public var onClose: ((UInt16?, String) -> Void)?
    /// Called when queued output drains below the low-water mark after a send left it at or above it.
    public var onWritable: (() -> Void)?

    public private(set) var bytesReceived = 0
    public private(set) var bytesSent = 0
    /// Writes made to the socket (each a system call, or one TLS record run): what coalescing saves.
    public private(set) var socketWrites = 0

    /// Queued output below this waits for the end of the turn to be written with what follows it.
    static let coalesceBytes = 64 * 1024
    public private(set) var messagesReceived = 0

    public var state: State {
        switch phase {
        case .open: return .open
        case .closing: return .closing
        case .closed: return .closed
        }
    }

    /// Bytes queued and not yet written to the socket.
    public var bufferedBytes: Int { output.count - outputStart }

    /// The peer's close code once its close frame arrived.
    public var peerCloseCode: UInt16? { peerClose?.code }

    init(fd: Int32, transport: Transport, role: Role, reactor: Reactor, configuration: WebSocketConfiguration,
         bytesAlreadyRead: [UInt8]) throws(SystemError) {
        self.fd = fd
        self.transport = transport
        self.role = role
        self.reactor = reactor
        self.configuration = configuration
        // A frame longer than a message can never be accepted: refuse it from its header.
        parser = WebSocketFrameParser(role: role == .server ? .server : .client, maxPayload: configuration.maxMessageBytes)
        assembler = WebSocketMessageAssembler(maxMessage: configuration.maxMessageBytes)
        input = bytesAlreadyRead
        lastReceived = Reactor.now()
        // The reactor's handler keeps the connection alive while its socket is open; finish() lets go.
        try reactor.register(fd: fd, events: .readable) { [self] events in self.onEvents(events) }
        interest = .readable
        if configuration.idleTimeoutMilliseconds > 0 { armIdleTimer(configuration.idleTimeoutMilliseconds) }
        schedulePump()          // bytes that came with the handshake, once the user has set its callbacks
    }

    /// A server connection on a socket the HTTP server handed over after its 101.
    public convenience init(handedOver socket: HandedOverSocket, reactor: Reactor, configuration: WebSocketConfiguration) throws(SystemError) {
        let t: Transport = socket.tlsSession.map { .tls($0, handshakeDone: true) } ?? .plain
        try self.init(fd: socket.fd, transport: t, role: .server, reactor: reactor, configuration: configuration,
                      bytesAlreadyRead: socket.bytesAlreadyRead)
    }

    /// A connection dropped with its reactor (never closed) still gives its socket back.
    deinit {
        if phase != .closed {
            if case .tls(let ssl, _) = transport { cep_tls_free(ssl) }
            _ = cep_close(fd)
        }
    }

    // MARK: sending

    public func send(text: String) {
        var t = text
        t.withUTF8 { queue(.text, UnsafeRawBufferPointer($0)) }
    }

    /// A text message from bytes the caller wrote as valid UTF-8 (not checked again here).
    public func send(textUTF8 bytes: [UInt8]) {
        bytes.withUnsafeBytes { queue(.text, $0) }
    }

    public func send(binary: [UInt8]) {
        binary.withUnsafeBytes { queue(.binary, $0) }
    }

    /// Sends one message as several frames (RFC 6455 §5.4), each part a frame.
    public func sendFragments(_ parts: [[UInt8]], text: Bool) {
        guard phase == .open, !parts.isEmpty else { return }
        for (i, part) in parts.enumerated() {
            let opcode: WebSocketFrame.Opcode = i == 0 ? (text ? .text : .binary) : .continuation
            part.withUnsafeBytes { appendFrame(fin: i == parts.count - 1, opcode, $0) }
        }
        outputQueued()
    }

    public func ping(_ payload: [UInt8] = []) {
        guard phase == .open, payload.count <= 125 else { return }
        payload.withUnsafeBytes { queue(.ping, $0) }
    }

    /// Starts the closing handshake: our close frame now, the socket once the peer's answers it (or
    /// the close timeout passes). A code an endpoint may not send is replaced by 1000.
    public func close(code: UInt16 = 1000, reason: String = "") {
        guard phase == .open else { return }
        let sendable = WebSocketClose.isSendable(code) ? code : 1000
        WebSocketClose.payload(code: sendable, reason: reason).withUnsafeBytes { appendFrame(fin: true, .close, $0) }
        enterClosing(awaitingPeerClose: true)
        outputQueued()
    }

    /// Stops (false) or resumes (true) reading from the peer. While stopped, no message is delivered
    /// and the socket is not read, so the kernel's buffers fill and the peer's writes wait.
    public func setReading(_ on: Bool) {
        guard on != userReading else { return }
        userReading = on
        if on { readMayHaveData = true; schedulePump() } else if !pumping { updateInterest() }
    }

    private func queue(_ opcode: WebSocketFrame.Opcode, _ payload: UnsafeRawBufferPointer) {
        guard phase == .open else { return }
        appendFrame(fin: true, opcode, payload)
        outputQueued()
    }

    private func appendFrame(fin: Bool, _ opcode: WebSocketFrame.Opcode, _ payload: UnsafeRawBufferPointer) {
        var key: [UInt8]?
        if role == .client {        // a fresh key per frame (RFC 6455 §5.3)
            var k = UInt32(truncatingIfNeeded: BufferedRandom.next())
            key = withUnsafeBytes(of: &k) { Array($0) }
        }
        WebSocketFrame.append(fin: fin, opcode: opcode, payload: payload, maskingKey: key, to: &output)
    }

    /// Writes what was queued. While open and below `coalesceBytes`, frames wait for the end of the
    /// reactor's turn (the pump it schedules), so frames queued in one turn leave in one write: a
    /// tunnel answering many requests at once pays one system call per turn, not one per frame.
    /// Larger output is written at once. Callbacks never run from inside a send: a failure or a
    /// drained queue is acted on in the next pump.
    private func outputQueued() {
        if pumping { pumpAgain = true; return }
        if phase == .open && bufferedBytes < Self.coalesceBytes {
            if bufferedBytes >= configuration.outputLowWatermark { writableWanted = true }
            schedulePump()
            return
        }
        if !writeOut() { schedulePump(); return }
        if bufferedBytes >= configuration.outputLowWatermark { writableWanted = true }
        if case .closing = phase { schedulePump() }      // the socket may end now
        updateInterest()
    }

    // MARK: events

    private func onEvents(_ events: IOEvents) {
        if events.contains(.readable) || events.contains(.hangup) || events.contains(.error) || tlsReadWantsWritable { readMayHaveData = true }
        pump()
        // EPOLLERR/EPOLLHUP come whatever the interest: a dead socket must end, not spin.
        if phase != .closed && (events.contains(.error) || events.contains(.hangup)) && (!readingAllowed || !events.contains(.readable)) {
            if failure == nil { failure = "the connection was lost" }
            finish()
        }
    }

    private func schedulePump() {
        guard !pumpScheduled, phase != .closed else { return }
        pumpScheduled = true
        reactor.schedule(afterMilliseconds: 0) { [weak self] in
            guard let self else { return }
            self.pumpScheduled = false
            self.pump()
        }
    }

    /// The one driver: reads what may be read, delivers buffered messages, writes what is queued,
    /// and goes round while one of them unblocked another, within a budget per turn.
    private func pump() {
        if pumping { pumpAgain = true; return }
        guard phase != .closed else { return }
        pumping = true
        var rounds = 0
        repeat {
            pumpAgain = false
            if readMayHaveData && readingAllowed { readAvailable() }
            processInput()
            flush()
            rounds += 1
        } while pumpAgain && phase != .closed && rounds < 8
        pumping = false
        guard phase != .closed else { return }
        if pumpAgain { schedulePump() }            // stay fair to other connections
        endClosingIfDone()
        if phase != .closed { updateInterest() }
    }

    /// Whether the socket is read now. While open: only when the user reads, our output is below
    /// the high-water mark and the input holds less than one largest frame. While closing: always
    /// (the peer's close frame, or its end of stream, is what we wait for).
    private var readingAllowed: Bool {
        guard !peerClosedInput, inputBuffered < configuration.maxMessageBytes + 64 * 1024 else { return false }
        switch phase {
        case .open: return userReading && bufferedBytes < configuration.outputHighWatermark
        case .closing: return true
        case .closed: return false
        }
    }

    private var inputBuffered: Int { input.count - inputStart }

    private func readAvailable() {
        let scratch = reactor.local(WebSocketReadBuffer.self) { WebSocketReadBuffer() }.bytes
        var reads = 0
        while readingAllowed {
            if reads == 16 { pumpAgain = true; return }       // a fast peer waits its turn
            reads += 1
            switch transport.read(fd: fd, into: scratch) {
            case .bytes(let n):
                tlsReadWantsWritable = false
                bytesReceived += n
                lastReceived = reactor.turnTime
                if case .closing(awaitingPeerClose: false, _) = phase { continue }     // dropped: the handshake is over
                input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                processInput()
                if n < scratch.count, case .plain = transport { readMayHaveData = false; return }
            case .wouldBlock(let wantsWritable):
                tlsReadWantsWritable = wantsWritable
                readMayHaveData = false
                return
            case .closed:
                readMayHaveData = false
                peerClosedInput = true
                switch phase {
                case .open:
                    if failure == nil { failure = "the peer closed the connection without a close frame" }
                    finish()
                case .closing(awaitingPeerClose: true, _):
                    if failure == nil { failure = "the peer closed the connection without answering our close frame" }
                    finish()
                default:
                    break           // the handshake is over: endClosingIfDone ends the socket once our frame is out
                }
                return
            case .failed(let why):
                if failure == nil { failure = "read failed: \(why)" }
                finish()
                return
            }
        }
    }

    /// Parses and delivers the buffered frames, as far as the phase and the user allow.
    private func processInput() {
        while inputBuffered > 0 {
            switch phase {
            case .closed: return
            case .closing(awaitingPeerClose: false, _): input = []; inputStart = 0; return
            case .open where !userReading: compactInput(); return
            default: break
            }
            let outcome = input.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[inputStart...])) }
            switch outcome {
            case .needMore:
                compactInput()
                return
            case .error(let e):
                fail(e)
            case .frame(let frame, let consumed):
                inputStart += consumed
                handle(frame)
            }
        }
        compactInput()
    }

    private func compactInput() {
        if inputStart == input.count {
            // A buffer that held a large message is let go rather than kept for the connection's life.
            if input.capacity > 1 << 20 { input = [] } else { input.removeAll(keepingCapacity: true) }
            inputStart = 0
        } else if inputStart > 64 * 1024 && inputStart * 2 > input.count {
            input.removeFirst(inputStart)
            inputStart = 0
        }
    }

    private func handle(_ frame: WebSocketFrame) {
        if case .closing = phase, !frame.opcode.isControl { return }      // data after our close is dropped
        switch assembler.add(frame) {
        case .failure(let e):
            fail(e)
        case .success(nil):
            break
        case .success(.text(let s)):
            messagesReceived += 1
            onText?(s)
        case .success(.binary(let b)):
            messagesReceived += 1
            onBinary?(b)
        case .success(.ping(let p)):
            if phase == .open { p.withUnsafeBytes { appendFrame(fin: true, .pong, $0) }; pumpAgain = true }
        case .success(.pong(let p)):
            onPong?(p)
        case .success(.close(let code, let reason)):
            peerClose = (code, reason)
            if phase == .open {     // answer with the peer's code (RFC 6455 §5.5.1), nothing when it sent none
                let payload = code.map { WebSocketClose.payload(code: $0) } ?? []
                payload.withUnsafeBytes { appendFrame(fin: true, .close, $0) }
            }
            enterClosing(awaitingPeerClose: false)
            pumpAgain = true
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): our close frame with the error's code, then the socket.
    private func fail(_ e: WebSocketError) {
        if failure == nil { failure = e.description }
        if phase == .open {
            WebSocketClose.payload(code: e.closeCode, reason: e.message).withUnsafeBytes { appendFrame(fin: true, .close, $0) }
        }
        enterClosing(awaitingPeerClose: false)
        pumpAgain = true
    }

    private func enterClosing(awaitingPeerClose: Bool) {
        switch phase {
        case .open, .closing:
            let shut: Bool
            if case .closing(_, let s) = phase { shut = s } else { shut = false }
            phase = .closing(awaitingPeerClose: awaitingPeerClose, writeShut: shut)
            if awaitingPeerClose == false { input = []; inputStart = 0 }
        case .closed:
            return
        }
        if closeTimer == nil {
            closeTimer = reactor.schedule(afterMilliseconds: configuration.closeTimeoutMilliseconds) { [weak self] in
                guard let self, self.phase != .closed else { return }
                self.closeTimer = nil
                if self.peerClose == nil && self.failure == nil { self.failure = "the peer did not answer the close frame in time" }
                self.finish()
            }
        }
    }

    /// Once the handshake is over and our close frame is out: a TLS session ends now (close_notify);
    /// a plain socket shuts its writing side and reads the peer's end of stream, so what the peer
    /// still sends never turns into a reset that could destroy our close frame in flight.
    private func endClosingIfDone() {
        guard case .closing(let awaiting, let shut) = phase, bufferedBytes == 0 else { return }
        if awaiting { return }
        if peerClosedInput { finish(); return }
        guard !shut else { return }
        if case .tls = transport { finish(); return }
        _ = cep_shutdown_write(fd)
        phase = .closing(awaitingPeerClose: false, writeShut: true)
    }

    // MARK: output

    /// Writes queued bytes until the socket would block; false when the socket failed.
    private func writeOut() -> Bool {
        while outputStart < output.count {
            socketWrites += 1
            let r = output.withUnsafeBytes { transport.write(fd: fd, UnsafeRawBufferPointer(rebasing: $0[outputStart...])) }
            switch r {
            case .bytes(let n):
                outputStart += n
                bytesSent += n
            case .wouldBlock:
                compactOutput()
                return true
            case .closed, .failed:
                if failure == nil, case .failed(let why) = r { failure = "write failed: \(why)" }
                if failure == nil { failure = "the peer closed the connection" }
                output = []
                outputStart = 0
                return false
            }
        }
        compactOutput()
        return true
    }

    private func compactOutput() {
        if outputStart == output.count {
            // Kept for reuse up to a few high-water marks (a streaming producer refills it at once);
            // a queue that once held a huge message is let go.
            if output.capacity > 4 * max(configuration.outputHighWatermark, 256 << 10) { output = [] } else { output.removeAll(keepingCapacity: true) }
            outputStart = 0
        } else if outputStart > 64 * 1024 && outputStart * 2 > output.count {
            output.removeFirst(outputStart)
            outputStart = 0
        }
    }

    private func flush() {
        guard phase != .closed else { return }
        let wasHeld = bufferedBytes >= configuration.outputHighWatermark
        var rounds = 0
        while true {
            guard writeOut() else { finish(); return }
            guard writableWanted, bufferedBytes < configuration.outputLowWatermark, phase == .open else { break }
            writableWanted = false
            onWritable?()
            rounds += 1
            if bufferedBytes >= configuration.outputLowWatermark { writableWanted = true }
            if bufferedBytes == 0 || rounds >= 16 { break }
        }
        if wasHeld && bufferedBytes < configuration.outputHighWatermark { readMayHaveData = true; pumpAgain = true }
    }

    private func updateInterest() {
        guard phase != .closed else { return }
        var want: IOEvents = []
        if readingAllowed { want.insert(.readable) }
        if bufferedBytes > 0 || tlsReadWantsWritable { want.insert(.writable) }
        if want != interest {
            interest = want
            reactor.modify(fd: fd, events: want)
        }
    }

    // MARK: timers and the end

    private func armIdleTimer(_ ms: Int) {
        idleTimer = reactor.schedule(afterMilliseconds: ms) { [weak self] in
            guard let self, self.phase == .open else { return }
            let limit = UInt64(self.configuration.idleTimeoutMilliseconds) * 1_000_000
            let quiet = Reactor.now() &- self.lastReceived
            if quiet >= limit {
                self.failure = "nothing received for \(self.configuration.idleTimeoutMilliseconds) ms"
                self.fail(WebSocketError(1001, "idle timeout"))
                self.pump()
            } else {
                self.armIdleTimer(Int((limit - quiet) / 1_000_000) + 1)
            }
        }
    }

    /// Ends the connection: the socket closes, the timers stop, `onClose` runs once.
    private func finish() {
        guard phase != .closed else { return }
        phase = .closed
        if let t = closeTimer { reactor.cancel(t); closeTimer = nil }
        if let t = idleTimer { reactor.cancel(t); idleTimer = nil }
        reactor.unregister(fd: fd)
        if case .tls(let ssl, _) = transport { cep_tls_free(ssl) }
        _ = cep_close(fd)
        input = []
        output = []
        inputStart = 0
        outputStart = 0
        let why: String
        if let f = failure { why = f }
        else if let p = peerClose { why = p.reason.isEmpty ? "closed by the peer" : p.reason }
        else { why = "closed" }
        let code = peerClose?.code
        let callback = onClose
        onText = nil; onBinary = nil; onPong = nil; onClose = nil; onWritable = nil     // let go of what they capture
        callback?(code, why)
    }
}

/// The reactor's read buffer, shared by its WebSocket connections (one read at a time per thread).
final class WebSocketReadBuffer {
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    deinit { bytes.deallocate() }
}
