// One broker socket: engine.io v4 + Primus 6 + primus-emitter over a MessageChannel, in the server's
// role (sends the open packet and engine.io pings) or the client's (answers them, sends Primus pings).
import Core

public final class BrokerSocket: TunnelSocket {
    public enum Role {
        /// The broker server's side: `handshake` is what the open packet announces.
        case server(EngineIOHandshake)
        /// The broker client's side: waits for the open packet, then sends the Primus heartbeat.
        case client(ClientHeartbeat)
    }

    /// The client's timers, snyk's defaults (client/socket.ts `socketSettings`: ping 25 s, pong 10 s, timeout 10 s).
    public struct ClientHeartbeat: Sendable {
        public var primusPingMilliseconds = 25_000
        public var primusPongTimeoutMilliseconds = 10_000
        /// How long to wait for the engine.io open packet after the WebSocket is up.
        public var openTimeoutMilliseconds = 10_000
        public init() {}
    }

    /// The server's handshake as snyk's server announces it (server/socket.ts `ioConfig`: pingInterval 25 s,
    /// pingTimeout 20 s, maxLength 22020096 as engine.io's maxHttpBufferSize = maxPayload).
    public static func serverHandshake(sid: String = BrokerSocket.newSid(), maxPayload: Int = snykMaxPayload) -> EngineIOHandshake {
        EngineIOHandshake(sid: sid, upgrades: [], pingInterval: 25_000, pingTimeout: 20_000, maxPayload: maxPayload)
    }

    /// The maxPayload snyk's server announces.
    public static let snykMaxPayload = 22_020_096

    /// engine.io's ids: 20 characters of base64url (base64id).
    public static func newSid() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var g = SystemRandomNumberGenerator()
        return String(decoding: (0..<20).map { _ in alphabet[Int(g.next() % 64)] }, as: UTF8.self)
    }

    public struct Limits: Sendable {
        /// Emits waiting for an ack; one more closes the socket (a peer that never acks must not grow memory).
        public var maxPendingAcks = 4096
        /// Client emits queued before the open packet arrives (Primus buffers them the same way).
        public var maxQueuedBeforeOpen = 256
        public init() {}
    }

    enum State {
        case awaitingOpen(queued: [EmitterPacket])
        case open
        case closed
    }

    private let channel: MessageChannel
    private let role: Role
    private let timers: TunnelTimers
    private let limits: Limits
    private var state: State
    private var nextAckID = 1
    private var pendingAcks: [Int: ([JSON]) -> Void] = [:]
    /// At most one heartbeat timer per purpose is live at a time.
    private var heartbeatTimer: TunnelTimer?
    private var deadlineTimer: TunnelTimer?
    /// Client only: when the server's engine.io pings count as missing.
    private var clientPingDeadline: TunnelTimer?

    /// The open packet's data: the server's own, or what the client received.
    public private(set) var handshake: EngineIOHandshake?
    /// The server sent `primus::server::close`: the socket was ended on purpose, do not reconnect.
    public private(set) var peerAskedNoReconnect = false
    /// Why the socket closed, once it has.
    public private(set) var closeReason: String?
    /// engine.io heartbeats completed: pongs received (server role) or pings answered (client role).
    public private(set) var engineIOHeartbeats = 0
    /// Primus heartbeats completed: pings answered (server role) or pongs received (client role).
    public private(set) var primusHeartbeats = 0

    public var onEvent: ((_ event: String, _ args: [JSON], _ ack: (([JSON]) -> Void)?) -> Void)?
    public var onClose: ((String) -> Void)?
    /// The client's open packet arrived (server role: never called, it is open from `start`).
    public var onOpen: (() -> Void)?
    /// A message that was skipped (not EJSON, not an emitter packet, an ack nobody waits for), with why.
    public var onProtocolError: ((BrokerProtocolError) -> Void)?
    /// Queued output drained below the channel's low-water mark.
    public var onWritable: (() -> Void)?

    public init(channel: MessageChannel, role: Role, timers: TunnelTimers, limits: Limits = Limits()) {
        self.channel = channel
        self.role = role
        self.timers = timers
        self.limits = limits
        self.state = .awaitingOpen(queued: [])
    }

    /// Wires the channel and starts the role: the server sends its open packet and begins pinging; the
    /// client starts waiting for the open packet.
    public func start() {
        channel.onText = { [weak self] in self?.received(text: $0) }
        channel.onBinary = { [weak self] in self?.received(binary: $0) }
        channel.onClose = { [weak self] code, why in
            self?.finish(code.map { "websocket closed by the peer (\($0)\(why.isEmpty ? "" : ": " + why))" } ?? "websocket dropped: \(why)")
        }
        channel.onWritable = { [weak self] in self?.onWritable?() }
        switch role {
        case .server(let h):
            handshake = h
            state = .open
            send(.open(h))
            scheduleServerPing()
        case .client(let hb):
            deadlineTimer = timers.schedule(afterMilliseconds: hb.openTimeoutMilliseconds) { [weak self] in
                self?.deadlineTimer = nil
                self?.close(reason: "no engine.io open packet within \(hb.openTimeoutMilliseconds) ms")
            }
        }
    }

    public var isOpen: Bool { if case .open = state { return true }; return false }
    public var isClosed: Bool { if case .closed = state { return true }; return false }
    /// Bytes queued on the channel: producers check it before emitting more.
    public var bufferedBytes: Int { channel.bufferedBytes }
    /// Emits waiting for their ack.
    public var pendingAckCount: Int { pendingAcks.count }

    /// Stops (false) or resumes (true) reading from the peer.
    public func setReading(_ on: Bool) { channel.setReading(on) }

    // MARK: emitting

    public func emit(_ event: String, _ args: [JSON], ack: (([JSON]) -> Void)?) {
        if case .closed = state { return }
        var id: Int? = nil
        if let ack {
            guard pendingAcks.count < limits.maxPendingAcks else {
                close(reason: "more than \(limits.maxPendingAcks) emits wait for an ack")
                return
            }
            id = nextAckID
            nextAckID += 1
            pendingAcks[id!] = ack
        }
        let packet = EmitterPacket.event(name: event, args: args, id: id)
        switch state {
        case .open: sendData(packet.json)
        case .awaitingOpen(var queued):
            guard queued.count < limits.maxQueuedBeforeOpen else {
                close(reason: "more than \(limits.maxQueuedBeforeOpen) emits queued before the socket opened")
                return
            }
            queued.append(packet)
            state = .awaitingOpen(queued: queued)
        case .closed: return
        }
    }

    // MARK: closing

    public func close(reason: String) { end(reason: reason, allowReconnect: true) }

    /// Closes the socket: an engine.io close packet, then the WebSocket closing handshake. With
    /// `allowReconnect` false the server first sends `primus::server::close` (spark.js `end`), which tells
    /// a Primus client not to reconnect.
    public func end(reason: String, allowReconnect: Bool) {
        if case .closed = state { return }
        if !allowReconnect, case .server = role, isOpen { send(.message(PrimusMessage.serverClose.encoded)) }
        send(.close)
        channel.close(code: 1000, reason: "")
        finish(reason)
    }

    private func finish(_ reason: String) {
        if case .closed = state { return }
        state = .closed
        closeReason = reason
        if let t = heartbeatTimer { timers.cancel(t) }
        if let t = deadlineTimer { timers.cancel(t) }
        if let t = clientPingDeadline { timers.cancel(t) }
        heartbeatTimer = nil
        deadlineTimer = nil
        clientPingDeadline = nil
        // Acks that will never come: dropped uncalled (the seam's contract: onClose tells their owners).
        pendingAcks.removeAll()
        channel.onText = nil
        channel.onBinary = nil
        channel.onClose = nil
        channel.onWritable = nil
        let callback = onClose
        onClose = nil
        onEvent = nil
        onOpen = nil
        callback?(reason)
    }

    // MARK: receiving

    private func received(binary: [UInt8]) {
        if case .closed = state { return }
        // Primus's EJSON decoder takes strings only (ejson.js `parse`); a binary message is skipped.
        onProtocolError?(.primus("binary message of \(binary.count) bytes where EJSON text is expected"))
    }

    private func received(text: String) {
        var text = text
        if case .closed = state { return }
        // A message packet, nearly every one: its Primus text is parsed from the bytes after the `4`
        // (what `.message(rest)` would carry, without making that string first).
        if text.utf8.first == UInt8(ascii: "4") {
            guard isOpen else { close(reason: "engine.io message before the open packet"); return }
            receivedPrimus(utf8: text.withUTF8 { Array($0.dropFirst()) })   // one memcpy, not a walk of the view
            return
        }
        let packet: EngineIOPacket
        do { packet = try EngineIOPacket.decode(text: text) } catch {
            // engine.io closes the transport on a packet it cannot parse ("parse error").
            close(reason: "engine.io parse error: \(error)")
            return
        }
        switch (packet, role) {
        case (.open(let h), .client(let hb)):
            guard case .awaitingOpen(let queued) = state else { close(reason: "a second engine.io open packet"); return }
            handshake = h
            state = .open
            if let t = deadlineTimer { timers.cancel(t); deadlineTimer = nil }
            resetClientPingDeadline()
            scheduleClientPrimusPing(hb)
            for p in queued { sendData(p.json) }
            onOpen?()
        case (.open, .server):
            close(reason: "the client sent an engine.io open packet")
        case (.close, _):
            // engine.io ends the transport on a close packet: the WebSocket is closed too, or it would
            // stay open (and registered) with nothing left to time it out.
            channel.close(code: 1000, reason: "")
            finish("the peer sent an engine.io close packet")
        case (.ping(let payload), .client):
            guard isOpen else { close(reason: "engine.io ping before the open packet"); return }
            resetClientPingDeadline()
            send(.pong(payload))
            engineIOHeartbeats += 1
        case (.ping, .server):
            break  // engine.io v4 servers ignore a client's ping (only protocol v3 clients send them)
        case (.pong, .server):
            if let t = deadlineTimer { timers.cancel(t); deadlineTimer = nil }
            engineIOHeartbeats += 1
            scheduleServerPing()
        case (.pong, .client), (.noop, _), (.upgrade, _):
            break
        case (.message(let text), _):
            guard isOpen else { close(reason: "engine.io message before the open packet"); return }
            receivedPrimus(text)
        case (.binaryMessage(let bytes), _):
            received(binary: bytes)
        }
    }

    private func receivedPrimus(_ text: String) { receivedPrimus(utf8: Array(text.utf8)) }

    private func receivedPrimus(utf8 bytes: [UInt8]) {
        let message: PrimusMessage
        do { message = try PrimusMessage.decode(utf8: bytes) } catch {
            // A message over a limit is a peer to stop, not a message to skip: it would send the next one.
            if case .overLimit = error { close(reason: "message refused: \(error)"); return }
            onProtocolError?(error)
            return
        }
        switch (message, role) {
        case (.ping(let value), .server):
            send(.message(PrimusMessage.pong(PrimusMessage.heartbeatNumber(value)).encoded))
            primusHeartbeats += 1
        case (.pong, .client(let hb)):
            if let t = deadlineTimer { timers.cancel(t); deadlineTimer = nil }
            primusHeartbeats += 1
            scheduleClientPrimusPing(hb)
        case (.server(let value), .client):
            if value == "close" { peerAskedNoReconnect = true }
        case (.id, .server):
            send(.message(PrimusMessage.id(handshake?.sid ?? "").encoded))
        case (.ping, .client), (.pong, .server), (.server, .server), (.id, .client):
            break
        case (.data(let json), _):
            receivedEmitter(json)
        }
    }

    private func receivedEmitter(_ json: JSON) {
        let packet: EmitterPacket
        do { packet = try EmitterPacket(json: json) } catch { onProtocolError?(error); return }
        switch packet {
        case .event(let name, let args, let id):
            var responder: (([JSON]) -> Void)? = nil
            if let id {
                var sent = false
                responder = { [weak self] ackArgs in
                    guard !sent, let self, self.isOpen else { return }
                    sent = true
                    self.sendData(EmitterPacket.ack(id: id, args: ackArgs).json)
                }
            }
            onEvent?(name, args, responder)
        case .ack(let id, let args):
            guard let waiter = pendingAcks.removeValue(forKey: id) else {
                onProtocolError?(.emitter("ack for id \(id), which no emit waits for"))
                return
            }
            waiter(args)
        }
    }

    // MARK: heartbeats

    /// engine.io server (socket.ts `schedulePing`): ping after pingInterval, then wait pingTimeout for the pong.
    private func scheduleServerPing() {
        guard let h = handshake else { return }
        if let t = heartbeatTimer { timers.cancel(t) }
        heartbeatTimer = timers.schedule(afterMilliseconds: h.pingInterval) { [weak self] in
            guard let self, self.isOpen else { return }
            self.heartbeatTimer = nil
            self.send(.ping(""))
            if let t = self.deadlineTimer { self.timers.cancel(t) }
            self.deadlineTimer = self.timers.schedule(afterMilliseconds: h.pingTimeout) { [weak self] in
                self?.deadlineTimer = nil
                self?.close(reason: "engine.io ping timeout: no pong within \(h.pingTimeout) ms")
            }
        }
    }

    /// engine.io client (socket.ts `resetPingTimeout`): a server silent for pingInterval + pingTimeout is gone.
    private func resetClientPingDeadline() {
        guard let h = handshake else { return }
        if let t = clientPingDeadline { timers.cancel(t) }
        let wait = h.pingInterval + h.pingTimeout
        clientPingDeadline = timers.schedule(afterMilliseconds: wait) { [weak self] in
            self?.clientPingDeadline = nil
            self?.close(reason: "engine.io ping timeout: no ping from the server within \(wait) ms")
        }
    }

    /// Primus client (primus.js `heartbeat`): ping after `ping` ms, then wait `pong` ms for the answer.
    private func scheduleClientPrimusPing(_ hb: ClientHeartbeat) {
        if let t = heartbeatTimer { timers.cancel(t) }
        heartbeatTimer = timers.schedule(afterMilliseconds: hb.primusPingMilliseconds) { [weak self] in
            guard let self, self.isOpen else { return }
            self.heartbeatTimer = nil
            self.send(.message(PrimusMessage.ping(String(self.timers.epochMilliseconds())).encoded))
            if let t = self.deadlineTimer { self.timers.cancel(t) }
            self.deadlineTimer = self.timers.schedule(afterMilliseconds: hb.primusPongTimeoutMilliseconds) { [weak self] in
                self?.deadlineTimer = nil
                self?.close(reason: "primus pong timeout: no pong within \(hb.primusPongTimeoutMilliseconds) ms")
            }
        }
    }

    /// A Primus data message as one engine.io `4` packet: the EJSON text written as bytes straight
    /// after the packet's type into one reused buffer, handed to the channel as the message (what
    /// `.message(PrimusMessage.data(json).encoded)` sends, byte for byte).
    private func sendData(_ json: JSON) {
        outgoing.removeAll(keepingCapacity: true)
        outgoing.append(UInt8(ascii: "4"))
        json.write(to: &outgoing, escapingLineSeparators: true)
        channel.send(textUTF8: outgoing)
        if outgoing.capacity > 64 * 1024 { outgoing = [] }     // a large message's buffer is not kept
    }

    /// The bytes of the message being written (kept between messages: no allocation per emit).
    private var outgoing: [UInt8] = []

    private func send(_ packet: EngineIOPacket) {
        switch packet.frame {
        case .text(let t): channel.send(text: t)
        case .binary(let b): channel.send(binary: b)
        }
    }
}
