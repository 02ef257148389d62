// The two seams of the tunnel: a message channel (a WebSocket connection as the protocol layer sees it)
// and a tunnel socket (engine.io + Primus + primus-emitter over a channel, as the broker's client and
// server see it). Both live on one reactor thread; callbacks run on it.
import Core

/// A bidirectional text/binary message pipe with backpressure: a WebSocket connection.
public protocol MessageChannel: AnyObject {
    /// Queues a text message. Check `bufferedBytes` before producing more (backpressure).
    func send(text: String)
    /// Queues a text message given as its UTF-8 bytes (valid UTF-8: the caller wrote them).
    func send(textUTF8: [UInt8])
    /// Queues a binary message.
    func send(binary: [UInt8])
    /// Bytes queued and not yet written to the socket.
    var bufferedBytes: Int { get }
    /// Starts the closing handshake (or closes at once if it cannot be sent).
    func close(code: UInt16, reason: String)
    var onText: ((String) -> Void)? { get set }
    var onBinary: (([UInt8]) -> Void)? { get set }
    /// Called once when the channel is gone: the peer's close code (nil when none or the socket dropped) and why.
    var onClose: ((UInt16?, String) -> Void)? { get set }
    /// Called when queued output has drained below the channel's low-water mark.
    var onWritable: (() -> Void)? { get set }
    /// Stops (false) or resumes (true) reading from the peer: a consumer that cannot keep up pauses.
    func setReading(_ on: Bool)
}

extension MessageChannel {
    public func send(textUTF8 bytes: [UInt8]) { send(text: String(decoding: bytes, as: UTF8.self)) }
}

/// One broker socket at the event level (primus-emitter): emit events with optional acks, receive them.
public protocol TunnelSocket: AnyObject {
    /// Whether the socket is open (engine.io open packet seen, not closed).
    var isOpen: Bool { get }
    /// Emits `event` with its arguments; `ack`, when given, is called once with the peer's ack arguments
    /// (never, if the socket closes first: then `onClose` fires).
    func emit(_ event: String, _ args: [JSON], ack: (([JSON]) -> Void)?)
    /// An event from the peer; the third argument, when the peer asked for an ack, sends it.
    var onEvent: ((_ event: String, _ args: [JSON], _ ack: (([JSON]) -> Void)?) -> Void)? { get set }
    /// Called once when the socket closes (heartbeat timeout, close packet, channel gone), with why.
    var onClose: ((String) -> Void)? { get set }
    func close(reason: String)
    /// Bytes emitted and not yet written to the peer: a producer checks it before emitting more.
    var bufferedBytes: Int { get }
}

extension TunnelSocket {
    /// A socket without an output queue of its own (a test's in-memory one) never holds bytes back.
    public var bufferedBytes: Int { 0 }
}
