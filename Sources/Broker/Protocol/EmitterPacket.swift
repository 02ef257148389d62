// primus-emitter 3.x packets: events `{"type":0,"data":[event, args...],"id"?:n}` and acks
// `{"id":n,"type":1,"data":[args...]}`, key order as lib/emitter.js builds the objects.
import Core

public enum EmitterPacket: Equatable, Sendable {
    /// An event; `id` is set when the sender wants an ack (ids count from 1 per emitter).
    case event(name: String, args: [JSON], id: Int?)
    case ack(id: Int, args: [JSON])

    /// Ids are JavaScript numbers: past 2^53 they stop being exact.
    public static let idRange = 1...((1 << 53) - 1)
    /// Arguments per packet; snyk's events carry one or two.
    public static let maxArgs = 64
    public static let maxEventNameBytes = 256

    /// `Emitter.prototype.packet`: `{ type: EVENT, data: args }`, then `id` added when the last argument is a callback.
    /// `Emitter.prototype.ack`: `{ id, type: ACK, data }`.
    public var json: JSON {
        switch self {
        case .event(let name, let args, let id):
            var pairs: [(String, JSON)] = [("type", .int(0)), ("data", .array([.string(name)] + args))]
            if let id { pairs.append(("id", .int(id))) }
            return .object(pairs)
        case .ack(let id, let args):
            return .object([("id", .int(id)), ("type", .int(1)), ("data", .array(args))])
        }
    }

    /// Reads a packet from a Primus data message. primus-emitter (`ondata`) ignores packets whose `type` is
    /// neither 0 nor 1 and whose `id` is present but not a number; here those are errors the socket reports
    /// and skips, with the reason.
    public init(json: JSON) throws(BrokerProtocolError) {
        guard case .object = json else { throw .emitter("packet is not an object") }
        guard let type = json["type"]?.int else { throw .emitter("packet without a numeric type") }
        var id: Int? = nil
        if let raw = json["id"], !raw.isNull {
            // JavaScript truthiness: id 0 means "no ack wanted" (`if (packet.id)` in onevent).
            guard let n = raw.int, n == 0 || Self.idRange.contains(n) else { throw .emitter("packet id is not an integer in \(Self.idRange)") }
            id = n == 0 ? nil : n
        }
        let data: [JSON]
        switch json["data"] {
        case .array(let items)?: data = items
        case nil, .null?: data = []
        default: throw .emitter("packet data is not an array")
        }
        guard data.count <= Self.maxArgs + 1 else { throw .emitter("packet with \(data.count) arguments (limit \(Self.maxArgs))") }
        switch type {
        case 0:
            guard let name = data.first?.string else { throw .emitter("event without a name string") }
            guard !name.isEmpty, name.utf8.count <= Self.maxEventNameBytes else { throw .emitter("event name of \(name.utf8.count) bytes") }
            self = .event(name: name, args: Array(data.dropFirst()), id: id)
        case 1:
            guard let id else { throw .emitter("ack without an id") }
            self = .ack(id: id, args: data)
        default:
            throw .emitter("unknown packet type \(type)")
        }
    }
}
