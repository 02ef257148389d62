// Primus 6 messages as they ride inside an engine.io `4` packet: EJSON text of either a `primus::`
// protocol string (heartbeat, server close, id) or application data (a primus-emitter packet).
import Core

/// One Primus message (primus 6.1: primus.js `protocol`, spark.js `protocol`, both with parser EJSON).
public enum PrimusMessage: Equatable, Sendable {
    /// `"primus::ping::<epoch ms>"`: the client's heartbeat (primus.js `heartbeat`).
    case ping(String)
    /// `"primus::pong::<ms>"`: the server's answer, echoing the ping's number (spark.js `incoming::ping`).
    case pong(String)
    /// `"primus::server::<value>"`; `close` tells the client not to reconnect (spark.js `end`).
    case server(String)
    /// `"primus::id::<id>"` (the client asks with an empty id, the spark answers with its own).
    case id(String)
    /// Anything else: application data in EJSON form.
    case data(JSON)

    public static let serverClose = PrimusMessage.server("close")

    /// The EJSON text that goes after the engine.io `4`.
    public var encoded: String {
        switch self {
        case .ping(let v): return EJSON.encode(.string("primus::ping::" + v))
        case .pong(let v): return EJSON.encode(.string("primus::pong::" + v))
        case .server(let v): return EJSON.encode(.string("primus::server::" + v))
        case .id(let v): return EJSON.encode(.string("primus::id::" + v))
        case .data(let j): return EJSON.encode(j)
        }
    }

    /// Decodes the text of an engine.io message packet. A `primus::` string of a kind Primus does not know
    /// is data, as in Primus (`protocol` returns false and the string is emitted as data).
    public static func decode(_ text: String) throws(BrokerProtocolError) -> PrimusMessage {
        try decode(utf8: Array(text.utf8))
    }

    /// The same from the text's UTF-8 bytes (the socket hands over the bytes after the engine.io `4`).
    public static func decode(utf8 bytes: [UInt8]) throws(BrokerProtocolError) -> PrimusMessage {
        let value: JSON
        do { value = try EJSON.decode(utf8: bytes) } catch {
            if case .overLimit = error { throw error }
            throw .primus("message is not EJSON: \(error)")
        }
        guard case .string(let s) = value, s.hasPrefix("primus::") else { return .data(value) }
        // Primus splits at the first ':' from index 8 and skips two characters: `primus::<kind>::<value>`.
        let body = s.utf8.dropFirst(8)
        guard let colon = body.firstIndex(of: UInt8(ascii: ":")) else { return .data(value) }
        let kind = String(decoding: body[body.startIndex..<colon], as: UTF8.self)
        let afterColon = body[body.index(after: colon)...]
        let rest = String(decoding: afterColon.dropFirst(), as: UTF8.self)
        switch kind {
        case "ping": return .ping(rest)
        case "pong": return .pong(rest)
        case "server": return .server(rest)
        case "id": return .id(rest)
        default: return .data(value)
        }
    }

    /// The number a heartbeat carries, written as JavaScript writes `+value` (primus compares and echoes
    /// numbers): digits lose leading zeros, an empty value is 0, anything else is NaN. Past 2^53, where
    /// JavaScript would round, the answer is NaN too (a ping's epoch milliseconds are far below it).
    public static func heartbeatNumber(_ value: String) -> String {
        if value.isEmpty { return "0" }
        guard value.utf8.allSatisfy({ (48...57).contains($0) }) else { return "NaN" }
        let digits = value.drop(while: { $0 == "0" })
        guard digits.utf8.count <= 16, let n = Int(digits.isEmpty ? "0" : digits), n <= 1 << 53 else { return "NaN" }
        return String(n)
    }
}
