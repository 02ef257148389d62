// Test-only doubles for the tunnel: an in-memory MessageChannel pair (messages delivered when the test
// pumps them, every frame recorded) and hand-driven timers, so heartbeat tests advance time, never sleep.
import BrokerKit
import Core

/// One end of an in-memory channel pair (test-only). Sent messages wait in the peer's inbox until `pump`.
final class InMemoryChannel: MessageChannel {
    enum Message: Equatable { case text(String), binary([UInt8]) }

    weak var peer: InMemoryChannel?
    /// Shared by both ends of a pair: every message in the order sent, prefixed with `label`.
    var transcript: TranscriptLog?
    var label = ""
    /// Every message this end sent, in order (the transcript a golden test compares).
    private(set) var sent: [Message] = []
    fileprivate var inbox: [Message] = []
    private(set) var closedWith: (code: UInt16, reason: String)?
    private(set) var reading = true
    var bufferedBytes: Int = 0

    var onText: ((String) -> Void)?
    var onBinary: (([UInt8]) -> Void)?
    var onClose: ((UInt16?, String) -> Void)?
    var onWritable: (() -> Void)?

    func send(text: String) {
        guard closedWith == nil else { return }
        sent.append(.text(text))
        transcript?.lines.append(label + text)
        peer?.inbox.append(.text(text))
    }

    func send(binary: [UInt8]) {
        guard closedWith == nil else { return }
        sent.append(.binary(binary))
        peer?.inbox.append(.binary(binary))
    }

    func close(code: UInt16, reason: String) {
        guard closedWith == nil else { return }
        closedWith = (code, reason)
        // The peer sees the close after the messages queued before it.
        peer?.inbox.append(.text("\u{0}close:\(code)"))
    }

    func setReading(_ on: Bool) { reading = on }

    /// The texts this end sent, for transcript comparisons.
    var sentTexts: [String] { sent.compactMap { if case .text(let t) = $0 { return t }; return nil } }

    /// Delivers this end's inbox (while reading); returns how many were delivered.
    @discardableResult
    func deliverInbox() -> Int {
        var n = 0
        while reading, !inbox.isEmpty {
            let m = inbox.removeFirst()
            n += 1
            switch m {
            case .text(let t) where t.hasPrefix("\u{0}close:"):
                let code = UInt16(t.dropFirst(7)) ?? 1005
                let callback = onClose
                onClose = nil
                callback?(code, "")
            case .text(let t): onText?(t)
            case .binary(let b): onBinary?(b)
            }
        }
        return n
    }

    /// Simulates the TCP connection dropping under this end.
    func drop(_ why: String) {
        let callback = onClose
        onClose = nil
        closedWith = (1006, why)
        callback?(nil, why)
    }

    /// A connected pair; with a log, `a`'s texts are recorded as `S> ` and `b`'s as `C> ` (server, client).
    static func pair(transcript: TranscriptLog? = nil) -> (InMemoryChannel, InMemoryChannel) {
        let a = InMemoryChannel(), b = InMemoryChannel()
        a.peer = b
        b.peer = a
        a.transcript = transcript
        b.transcript = transcript
        a.label = "S> "
        b.label = "C> "
        return (a, b)
    }
}

/// The text messages of a channel pair in the order they were sent (test-only).
final class TranscriptLog { var lines: [String] = [] }

/// Delivers both ends' inboxes until neither has anything left.
func pump(_ a: InMemoryChannel, _ b: InMemoryChannel) {
    var budget = 10_000
    while budget > 0, a.deliverInbox() + b.deliverInbox() > 0 { budget -= 1 }
}

/// Timers driven by `advance` (test-only): callbacks run in deadline order, none before its time.
final class ManualTunnelTimers: TunnelTimers {
    private(set) var now = 0
    var epochBase = 1_733_318_400_000
    private var next: UInt64 = 1
    private var pending: [(id: UInt64, at: Int, body: () -> Void)] = []

    func epochMilliseconds() -> Int { epochBase + now }

    func schedule(afterMilliseconds ms: Int, _ body: @escaping () -> Void) -> TunnelTimer {
        let id = next
        next += 1
        pending.append((id, now + ms, body))
        return TunnelTimer(id)
    }

    func cancel(_ timer: TunnelTimer) { pending.removeAll { $0.id == timer.value } }

    var scheduledCount: Int { pending.count }

    /// Moves time forward by `ms`, running each timer that falls due, at its own time.
    func advance(_ ms: Int) {
        let end = now + ms
        while let i = pending.indices.filter({ pending[$0].at <= end }).min(by: { pending[$0].at < pending[$1].at }) {
            let t = pending.remove(at: i)
            now = max(now, t.at)
            t.body()
        }
        now = end
    }
}
