// Test-only: one tunnel socket whose peer is the test, for the client's and the server's unit tests. It
// records what the code under test emits; the test delivers the peer's events and closes it. Used on one
// reactor thread only.
import BrokerKit
import Core

final class InMemoryTunnelSocket: TunnelSocket {
    struct Emitted { let event: String; let args: [JSON]; let ack: (([JSON]) -> Void)? }
    let role: String
    private(set) var isOpen = true
    var emitted: [Emitted] = []
    var closedReason: String?
    var onEvent: ((String, [JSON], (([JSON]) -> Void)?) -> Void)?
    var onClose: ((String) -> Void)?

    init(role: String = "primary") { self.role = role }

    func emit(_ event: String, _ args: [JSON], ack: (([JSON]) -> Void)?) {
        emitted.append(Emitted(event: event, args: args, ack: ack))
    }

    /// The peer sends `event`.
    func deliver(_ event: String, _ args: [JSON], ack: (([JSON]) -> Void)? = nil) { onEvent?(event, args, ack) }

    func close(reason: String) {
        guard isOpen else { return }
        isOpen = false
        closedReason = reason
        onClose?(reason)
    }
}
