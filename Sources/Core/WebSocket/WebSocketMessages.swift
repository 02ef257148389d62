// Frames to messages (RFC 6455 §5.4): a text or binary message may come in fragments, between which
// control frames may arrive; a text message must be UTF-8 as a whole.

public struct WebSocketMessageAssembler: Sendable {
    public enum Event: Equatable, Sendable {
        case text(String)
        case binary([UInt8])
        case ping([UInt8])
        case pong([UInt8])
        /// The peer's close: its code (nil when the frame carried none) and reason.
        case close(code: UInt16?, reason: String)
    }

    /// Largest message accepted, all fragments together (1009 past it).
    public let maxMessage: Int
    private var partial: (opcode: WebSocketFrame.Opcode, bytes: [UInt8])?

    public init(maxMessage: Int = 16 << 20) {
        self.maxMessage = maxMessage
    }

    /// The event a frame completes, nil while a fragmented message is still arriving.
    public mutating func add(_ frame: WebSocketFrame) -> Result<Event?, WebSocketError> {
        switch frame.opcode {
        case .ping: return .success(.ping(frame.payload))
        case .pong: return .success(.pong(frame.payload))
        case .close:
            if let e = WebSocketFrameParser.closePayloadError(frame.payload) { return .failure(e) }
            guard frame.payload.count >= 2 else { return .success(.close(code: nil, reason: "")) }
            return .success(.close(code: UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]),
                                   reason: String(decoding: frame.payload[2...], as: UTF8.self)))
        case .text, .binary:
            guard partial == nil else {
                return .failure(WebSocketError(WebSocketError.protocolError, "a new message began before the fragmented one ended"))
            }
            if frame.fin { return complete(frame.opcode, frame.payload) }
            guard frame.payload.count <= maxMessage else { return .failure(tooBig(frame.payload.count)) }
            partial = (frame.opcode, frame.payload)
            return .success(nil)
        case .continuation:
            guard var p = partial else {
                return .failure(WebSocketError(WebSocketError.protocolError, "a continuation frame with no message to continue"))
            }
            guard p.bytes.count + frame.payload.count <= maxMessage else { return .failure(tooBig(p.bytes.count + frame.payload.count)) }
            p.bytes += frame.payload
            if !frame.fin {
                partial = p
                return .success(nil)
            }
            partial = nil
            return complete(p.opcode, p.bytes)
        }
    }

    private func complete(_ opcode: WebSocketFrame.Opcode, _ bytes: [UInt8]) -> Result<Event?, WebSocketError> {
        guard bytes.count <= maxMessage else { return .failure(tooBig(bytes.count)) }
        if opcode == .binary { return .success(.binary(bytes)) }
        guard WebSocketFrameParser.validUTF8(bytes) else {
            return .failure(WebSocketError(WebSocketError.invalidPayload, "a text message that is not UTF-8"))
        }
        return .success(.text(String(decoding: bytes, as: UTF8.self)))
    }

    private func tooBig(_ n: Int) -> WebSocketError {
        WebSocketError(WebSocketError.messageTooBig, "a message of \(n) bytes or more, the limit is \(maxMessage)")
    }
}
