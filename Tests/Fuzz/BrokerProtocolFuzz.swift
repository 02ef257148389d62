// Fuzz target `broker-message`: the tunnel's decoders over arbitrary bytes. A text as an engine.io packet,
// its message as Primus/EJSON, its data as a primus-emitter packet: whatever is accepted re-encodes to
// text that decodes to the same value. The same bytes as a /response-data stream, fed whole and cut in
// two: both agree on the head and the body, the head stays within its bound, no body byte is invented.
import BrokerKit
import Core

enum BrokerProtocolFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        messages(String(decoding: bytes, as: UTF8.self), data)
        responseData(bytes, data)
        sockets(bytes, data)
    }

    /// The input as newline-separated WebSocket messages into a server-role and an opened client-role
    /// BrokerSocket: nothing traps, everything they send is a valid engine.io packet, nothing is sent
    /// after they close, and acks asked for by the input are answered at most once each.
    static func sockets(_ bytes: [UInt8], _ data: UnsafeRawBufferPointer) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).prefix(64)
        let open = #"0{"sid":"s","upgrades":[],"pingInterval":1000,"pingTimeout":1000,"maxPayload":100000}"#
        for role in [BrokerSocket.Role.server(BrokerSocket.serverHandshake(sid: "s")), .client(.init())] {
            let channel = FuzzChannel()
            let timers = FuzzTimers()
            let socket = BrokerSocket(channel: channel, role: role, timers: timers)
            socket.onEvent = { _, args, ack in ack?(args); ack?(args) }
            socket.start()
            if case .client = role { channel.onText?(open) }
            for (i, line) in lines.enumerated() {
                if i % 7 == 6 { timers.fireAll() }
                if line.first == 0xFF { channel.onBinary?(Array(line.dropFirst())) } else { channel.onText?(String(decoding: line, as: UTF8.self)) }
            }
            timers.fireAll()
            for text in channel.sentAfterClose { fuzzFail("sent \(text.prefix(40)) after close: \(fuzzDescribe(data))") }
            for text in channel.sent {
                fuzzCheck((try? EngineIOPacket.decode(text: text)) != nil, "sent an invalid packet \(text.prefix(60)): \(fuzzDescribe(data))")
            }
            let ackIDs = channel.sent.compactMap { text -> Int? in
                guard text.hasPrefix("4"), case .data(let j)? = try? PrimusMessage.decode(String(text.dropFirst())),
                      case .ack(let id, _)? = try? EmitterPacket(json: j) else { return nil }
                return id
            }
            fuzzCheck(Set(ackIDs).count == ackIDs.count || lines.count > 1, "an ack sent twice for one event: \(fuzzDescribe(data))")
        }
    }

    static func messages(_ text: String, _ data: UnsafeRawBufferPointer) {
        guard let packet = try? EngineIOPacket.decode(text: text) else { return }
        if case .text(let wire) = packet.frame {
            fuzzCheck((try? EngineIOPacket.decode(text: wire)) == packet, "engine.io re-encoding changed \(packet): \(fuzzDescribe(data))")
        }
        guard case .message(let body) = packet, let message = try? PrimusMessage.decode(body) else { return }
        fuzzCheck((try? PrimusMessage.decode(message.encoded)) == message, "Primus re-encoding changed the message: \(fuzzDescribe(data))")
        guard case .data(let json) = message else { return }
        _ = EJSON.bytes(of: json)
        _ = EJSON.unescape(json)
        fuzzCheck((try? EJSON.decode(EJSON.encode(EJSON.escape(plain: json)))) != nil, "an escaped value does not decode: \(fuzzDescribe(data))")
        guard let emitter = try? EmitterPacket(json: json) else { return }
        fuzzCheck((try? EmitterPacket(json: emitter.json)) == emitter, "emitter re-encoding changed \(emitter): \(fuzzDescribe(data))")
        if case .event(let name, let args, _) = emitter {
            fuzzCheck(!name.isEmpty && args.count <= EmitterPacket.maxArgs, "event \(name.prefix(20)) with \(args.count) args accepted")
            if let first = args.first, let request = try? TunnelRequest(json: first) {
                fuzzCheck(request.url.hasPrefix("/") && !request.url.utf8.contains(10), "request url accepted: \(fuzzDescribe(data))")
                // Repeated header names are grouped on the way out, so compare the encodings, not the pair order.
                let again = try? TunnelRequest(json: EJSON.decode(EJSON.encode(request.json)))
                fuzzCheck(again?.json.serialized == request.json.serialized, "request re-encoding changed it: \(fuzzDescribe(data))")
            }
            if let first = args.first, let identify = try? ClientIdentify(json: first) {
                fuzzCheck(!identify.token.isEmpty, "identify without a token accepted")
            }
        }
    }

    static func responseData(_ bytes: [UInt8], _ data: UnsafeRawBufferPointer) {
        var whole = ResponseDataDecoder(maxHeadBytes: 4096)
        let one = try? whole.feed(bytes[...])
        var split = ResponseDataDecoder(maxHeadBytes: 4096)
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        var head: ResponseDataHead? = nil
        var body: [UInt8] = []
        var failed = false
        for part in [bytes[..<cut], bytes[cut...]] {
            guard let out = try? split.feed(part) else { failed = true; break }
            if let h = out.head { head = h }
            body += out.body
        }
        fuzzCheck((one == nil) == failed, "whole and split disagree on an error: \(fuzzDescribe(data))")
        guard let one else { return }
        fuzzCheck(one.head == head, "whole and split disagree on the head: \(fuzzDescribe(data))")
        fuzzCheck(Array(one.body) == body, "whole and split disagree on the body: \(fuzzDescribe(data))")
        fuzzCheck(body.count <= max(0, bytes.count - 5), "\(body.count) body bytes from \(bytes.count) input bytes")
        if let h = head {
            fuzzCheck(ResponseDataHead.statusRange.contains(h.status) && h.headers.count <= ResponseDataHead.maxHeaders, "head out of range")
            fuzzCheck(h.headers.allSatisfy { !$0.1.utf8.contains(10) && !$0.1.utf8.contains(13) }, "CR/LF in a header value: \(fuzzDescribe(data))")
        }
    }
}

/// A MessageChannel that records what is sent (fuzzing only).
final class FuzzChannel: MessageChannel {
    var sent: [String] = []
    var sentAfterClose: [String] = []
    var closed = false
    var bufferedBytes: Int { 0 }
    var onText: ((String) -> Void)?
    var onBinary: (([UInt8]) -> Void)?
    var onClose: ((UInt16?, String) -> Void)?
    var onWritable: (() -> Void)?
    func send(text: String) { if closed { sentAfterClose.append(text) } else { sent.append(text) } }
    func send(binary: [UInt8]) { if closed { sentAfterClose.append("<binary>") } }
    func close(code: UInt16, reason: String) { closed = true }
    func setReading(_ on: Bool) {}
}

/// Timers fired on demand (fuzzing only).
final class FuzzTimers: TunnelTimers {
    private var pending: [(UInt64, () -> Void)] = []
    private var next: UInt64 = 1
    func epochMilliseconds() -> Int { 1_733_318_400_000 }
    func schedule(afterMilliseconds ms: Int, _ body: @escaping () -> Void) -> TunnelTimer {
        next += 1
        pending.append((next, body))
        return TunnelTimer(next)
    }
    func cancel(_ timer: TunnelTimer) { pending.removeAll { $0.0 == timer.value } }
    func fireAll() {
        var budget = 16
        while !pending.isEmpty, budget > 0 {
            budget -= 1
            let (_, body) = pending.removeFirst()
            body()
        }
    }
}
