// engine.io protocol v4 packets over the websocket transport: one packet per WebSocket message, the type a
// single digit before the text (socketio/engine.io-protocol, "Packet encoding"), binary messages raw.
import Core

/// The open packet's handshake data (engine.io v4: `0{"sid":..,"upgrades":[],"pingInterval":..,"pingTimeout":..,"maxPayload":..}`).
public struct EngineIOHandshake: Equatable, Sendable {
    public var sid: String
    public var upgrades: [String]
    public var pingInterval: Int
    public var pingTimeout: Int
    public var maxPayload: Int

    /// Bounds for numbers from a peer: a timer longer than a day, or a negative one, is a broken peer.
    public static let timerRange = 1...86_400_000
    /// pingInterval may be 0: python-engineio announces `int(interval) * 1000`, so 0 for sub-second
    /// intervals, while it really pings more often. The client's deadline is pingInterval + pingTimeout.
    public static let pingIntervalRange = 0...86_400_000
    public static let maxPayloadRange = 1...(1 << 40)
    public static let maxSidBytes = 256

    public init(sid: String, upgrades: [String] = [], pingInterval: Int, pingTimeout: Int, maxPayload: Int) {
        self.sid = sid
        self.upgrades = upgrades
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
    }

    /// Key order as engine.io's server writes it (lib/socket.ts, onOpen: sid, upgrades, pingInterval, pingTimeout, maxPayload).
    public var json: JSON {
        .object([("sid", .string(sid)), ("upgrades", .array(upgrades.map(JSON.string))),
                 ("pingInterval", .int(pingInterval)), ("pingTimeout", .int(pingTimeout)), ("maxPayload", .int(maxPayload))])
    }

    public init(json: JSON) throws(BrokerProtocolError) {
        guard case .object = json else { throw .engineIO("open packet data is not a JSON object") }
        guard let sid = json["sid"]?.string, !sid.isEmpty, sid.utf8.count <= Self.maxSidBytes else {
            throw .engineIO("open packet without a sid string of 1...\(Self.maxSidBytes) bytes")
        }
        func timer(_ name: String, _ range: ClosedRange<Int>) throws(BrokerProtocolError) -> Int {
            guard let v = json[name]?.int, range.contains(v) else {
                throw .engineIO("open packet \(name) missing or outside \(range) ms")
            }
            return v
        }
        let interval = try timer("pingInterval", Self.pingIntervalRange)
        let timeout = try timer("pingTimeout", Self.timerRange)
        // engine.io v3 servers send no maxPayload; the v4 client then takes no limit. Ours keeps a bound.
        var payload = 1_000_000
        if let p = json["maxPayload"] {
            guard let v = p.int, Self.maxPayloadRange.contains(v) else { throw .engineIO("open packet maxPayload outside \(Self.maxPayloadRange)") }
            payload = v
        }
        var ups: [String] = []
        if let u = json["upgrades"] {
            guard let list = u.array, list.count <= 8 else { throw .engineIO("open packet upgrades is not a short list") }
            for item in list {
                guard let s = item.string else { throw .engineIO("open packet upgrades holds a non-string") }
                ups.append(s)
            }
        }
        self.init(sid: sid, upgrades: ups, pingInterval: interval, pingTimeout: timeout, maxPayload: payload)
    }
}

/// One engine.io v4 packet as it rides in one WebSocket message.
public enum EngineIOPacket: Equatable, Sendable {
    case open(EngineIOHandshake)
    case close
    /// `2` with an optional payload (`2probe` during a transport upgrade).
    case ping(String)
    case pong(String)
    /// `4<text>`: a Primus message (EJSON text).
    case message(String)
    /// A binary WebSocket message: an engine.io binary message packet (no type byte on websocket in v4).
    case binaryMessage([UInt8])
    case upgrade
    case noop

    /// What to put in one WebSocket message.
    public enum Frame: Equatable, Sendable {
        case text(String)
        case binary([UInt8])
    }

    public var frame: Frame {
        switch self {
        case .open(let h): return .text("0" + h.json.serialized)
        case .close: return .text("1")
        case .ping(let p): return .text("2" + p)
        case .pong(let p): return .text("3" + p)
        case .message(let m): return .text("4" + m)
        case .binaryMessage(let b): return .binary(b)
        case .upgrade: return .text("5")
        case .noop: return .text("6")
        }
    }

    /// Payload bound for ping/pong (engine.io only ever sends `probe`).
    public static let maxPingPayloadBytes = 64

    /// Decodes a text WebSocket message. An empty message, an unknown type digit or a malformed open
    /// packet is an error: engine.io closes the transport on a parse error, and so do we.
    public static func decode(text: String) throws(BrokerProtocolError) -> EngineIOPacket {
        guard let first = text.utf8.first else { throw .engineIO("empty packet") }
        let rest = String(decoding: text.utf8.dropFirst(), as: UTF8.self)
        switch first {
        case UInt8(ascii: "0"):
            let data: JSON
            do { data = try JSON.parse(Array(rest.utf8), maxDepth: 8, maxValues: 1024) } catch { throw .engineIO("open packet: \(error)") }
            return .open(try EngineIOHandshake(json: data))
        case UInt8(ascii: "1"): return .close
        case UInt8(ascii: "2"), UInt8(ascii: "3"):
            guard rest.utf8.count <= maxPingPayloadBytes else { throw .engineIO("ping/pong payload over \(maxPingPayloadBytes) bytes") }
            return first == UInt8(ascii: "2") ? .ping(rest) : .pong(rest)
        case UInt8(ascii: "4"): return .message(rest)
        case UInt8(ascii: "5"): return .upgrade
        case UInt8(ascii: "6"): return .noop
        case UInt8(ascii: "b"):
            // base64 binary is the polling transports' form; a websocket peer sends raw binary instead.
            guard let bytes = Base64.decode(rest) else { throw .engineIO("b packet with invalid base64") }
            return .binaryMessage(bytes)
        default:
            throw .engineIO("unknown packet type \(UntrustedByte.describe(first))")
        }
    }

    public static func decode(binary: [UInt8]) -> EngineIOPacket { .binaryMessage(binary) }
}

/// Why a tunnel message was refused, by layer.
public enum BrokerProtocolError: Error, Equatable, CustomStringConvertible, Sendable {
    case engineIO(String)
    case primus(String)
    case ejson(String)
    case emitter(String)
    case responseData(String)
    /// A message over one of the tunnel's limits (its count of JSON values): the peer is closed, not skipped.
    case overLimit(String)

    public var description: String {
        switch self {
        case .engineIO(let s): return "engine.io: \(s)"
        case .primus(let s): return "primus: \(s)"
        case .ejson(let s): return "EJSON: \(s)"
        case .emitter(let s): return "primus-emitter: \(s)"
        case .responseData(let s): return "response-data stream: \(s)"
        case .overLimit(let s): return "over a limit: \(s)"
        }
    }
}

/// A byte from outside, shown so that it cannot break a log line.
enum UntrustedByte {
    static func describe(_ b: UInt8) -> String {
        (0x21...0x7E).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "0x" + String(b, radix: 16)
    }
}
