// RFC 6455 frames: the parser is a pure function over bytes (like the HTTP parser), the serializer
// builds a frame's wire bytes. No extensions are negotiated, so the RSV bits must be zero.

/// One WebSocket frame.
public struct WebSocketFrame: Equatable, Sendable {
    public enum Opcode: UInt8, Sendable {
        case continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10

        public var isControl: Bool { rawValue >= 8 }
    }

    public var fin: Bool
    public var opcode: Opcode
    public var payload: [UInt8]

    public init(fin: Bool = true, opcode: Opcode, payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }

    /// The wire bytes. A client masks every frame it sends with a fresh random `maskingKey`
    /// (RFC 6455 §5.3); a server sends frames unmasked (nil).
    public func serialized(maskingKey: [UInt8]? = nil) -> [UInt8] {
        precondition(maskingKey == nil || maskingKey!.count == 4, "a masking key is 4 bytes")
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 14)
        payload.withUnsafeBytes { Self.append(fin: fin, opcode: opcode, payload: $0, maskingKey: maskingKey, to: &out) }
        return out
    }

    /// Appends a frame's wire bytes to `out` without an intermediate copy (a connection's output queue).
    public static func append(fin: Bool, opcode: Opcode, payload: UnsafeRawBufferPointer, maskingKey: [UInt8]?, to out: inout [UInt8]) {
        out.append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        switch payload.count {
        case 0...125:
            out.append(maskBit | UInt8(payload.count))
        case 126...0xFFFF:
            out.append(maskBit | 126)
            out += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(payload.count) >> UInt64(shift))) }
        }
        if let key = maskingKey { out += key }
        let bodyStart = out.count
        out.append(contentsOf: payload)
        if let key = maskingKey {
            out.withUnsafeMutableBytes { WebSocketMask.apply(key, to: UnsafeMutableRawBufferPointer(rebasing: $0[bodyStart...])) }
        }
    }
}

/// The XOR masking of RFC 6455 §5.3, a word at a time (it runs over every byte a client sends or a
/// server reads, up to the message limit).
public enum WebSocketMask {
    public static func apply(_ key: [UInt8], to buf: UnsafeMutableRawBufferPointer) {
        guard let base = buf.baseAddress, buf.count > 0 else { return }
        let k = (key[0], key[1], key[2], key[3])
        var word: UInt64 = 0
        withUnsafeMutableBytes(of: &word) { w in
            for i in 0..<8 { w[i] = [k.0, k.1, k.2, k.3][i & 3] }
        }
        let words = buf.count / 8
        for i in 0..<words {
            let p = base + i * 8
            p.storeBytes(of: p.loadUnaligned(as: UInt64.self) ^ word, as: UInt64.self)
        }
        var i = words * 8
        while i < buf.count {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            base.storeBytes(of: b ^ key[i & 3], toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }
}

/// Why a peer's frames are refused, with the close code to send (RFC 6455 §7.4.1).
public struct WebSocketError: Error, Equatable, Sendable, CustomStringConvertible {
    public static let protocolError: UInt16 = 1002
    public static let invalidPayload: UInt16 = 1007
    public static let messageTooBig: UInt16 = 1009

    public let closeCode: UInt16
    public let message: String

    public init(_ closeCode: UInt16, _ message: String) {
        self.closeCode = closeCode
        self.message = message
    }

    public var description: String { "\(message) (close code \(closeCode))" }
}

/// Reads one frame at a time from the start of a byte buffer.
public struct WebSocketFrameParser: Sendable {
    /// A server reads what clients send, which must be masked; a client reads a server's, which must not be.
    public enum Role: Sendable { case server, client }

    public enum Outcome: Equatable, Sendable {
        case needMore
        case frame(WebSocketFrame, consumed: Int)
        case error(WebSocketError)
    }

    public let role: Role
    /// Largest payload of one frame accepted; longer is refused with 1009 before it arrives.
    public let maxPayload: Int

    public init(role: Role, maxPayload: Int = 16 << 20) {
        self.role = role
        self.maxPayload = maxPayload
    }

    public func parse(_ bytes: [UInt8]) -> Outcome { bytes.withUnsafeBytes { parse($0) } }

    public func parse(_ b: UnsafeRawBufferPointer) -> Outcome {
        guard b.count >= 2 else { return .needMore }
        let fin = b[0] & 0x80 != 0
        guard b[0] & 0x70 == 0 else { return .error(WebSocketError(WebSocketError.protocolError, "reserved bits set with no extension negotiated")) }
        guard let opcode = WebSocketFrame.Opcode(rawValue: b[0] & 0x0F) else {
            return .error(WebSocketError(WebSocketError.protocolError, "unknown opcode \(b[0] & 0x0F)"))
        }
        let masked = b[1] & 0x80 != 0
        switch (role, masked) {
        case (.server, false): return .error(WebSocketError(WebSocketError.protocolError, "a client frame is not masked"))
        case (.client, true): return .error(WebSocketError(WebSocketError.protocolError, "a server frame is masked"))
        default: break
        }
        var length = UInt64(b[1] & 0x7F)
        var at = 2
        if length == 126 {
            guard b.count >= 4 else { return .needMore }
            length = UInt64(b[2]) << 8 | UInt64(b[3])
            guard length >= 126 else { return .error(WebSocketError(WebSocketError.protocolError, "length \(length) not in its shortest form")) }
            at = 4
        } else if length == 127 {
            guard b.count >= 10 else { return .needMore }
            length = (2..<10).reduce(UInt64(0)) { $0 << 8 | UInt64(b[$1]) }
            guard length >> 63 == 0 else { return .error(WebSocketError(WebSocketError.protocolError, "64-bit length with its top bit set")) }
            guard length > 0xFFFF else { return .error(WebSocketError(WebSocketError.protocolError, "length \(length) not in its shortest form")) }
            at = 10
        }
        if opcode.isControl {
            guard fin else { return .error(WebSocketError(WebSocketError.protocolError, "fragmented control frame")) }
            guard length <= 125 else { return .error(WebSocketError(WebSocketError.protocolError, "control frame of \(length) bytes (at most 125)")) }
        }
        guard length <= UInt64(maxPayload) else {
            return .error(WebSocketError(WebSocketError.messageTooBig, "frame of \(length) bytes, more than \(maxPayload)"))
        }
        var key: (UInt8, UInt8, UInt8, UInt8)?
        if masked {
            guard b.count >= at + 4 else { return .needMore }
            key = (b[at], b[at + 1], b[at + 2], b[at + 3])
            at += 4
        }
        let n = Int(length)
        guard b.count - at >= n else { return .needMore }
        var payload = Array(b[at..<(at + n)])
        if let (k0, k1, k2, k3) = key {
            payload.withUnsafeMutableBytes { WebSocketMask.apply([k0, k1, k2, k3], to: $0) }
        }
        let frame = WebSocketFrame(fin: fin, opcode: opcode, payload: payload)
        if opcode == .close, let e = Self.closePayloadError(payload) { return .error(e) }
        return .frame(frame, consumed: at + n)
    }

    /// A close frame carries nothing, or a code a peer may send and a UTF-8 reason (RFC 6455 §5.5.1, §7.4).
    static func closePayloadError(_ p: [UInt8]) -> WebSocketError? {
        if p.isEmpty { return nil }
        guard p.count >= 2 else { return WebSocketError(WebSocketError.protocolError, "close frame with a 1-byte payload") }
        let code = UInt16(p[0]) << 8 | UInt16(p[1])
        guard WebSocketClose.isSendable(code) else { return WebSocketError(WebSocketError.protocolError, "close code \(code) may not be sent") }
        guard validUTF8(p[2...]) else { return WebSocketError(WebSocketError.invalidPayload, "close reason is not UTF-8") }
        return nil
    }

    static func validUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}

/// Close codes and payloads (RFC 6455 §7.4).
public enum WebSocketClose {
    /// Codes an endpoint may put in a close frame: 1000-1003, 1007-1014, and 3000-4999 (registered and
    /// private use); 1004-1006 and 1015 are reserved or only reported locally.
    public static func isSendable(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    /// The payload of a close frame: the code, big-endian, then the reason (cut to fit 123 bytes).
    public static func payload(code: UInt16, reason: String = "") -> [UInt8] {
        var r = Array(reason.utf8.prefix(123))
        while !WebSocketFrameParser.validUTF8(r) { r.removeLast() }       // never cut a character in half
        return [UInt8(code >> 8), UInt8(code & 0xFF)] + r
    }
}
