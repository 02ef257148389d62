// The callback counters as /metrics shows them: a snapshot the sender publishes from its reactor and any
// thread may render (Prometheus text format 0.0.4).
import Synchronization

final class CallbackMetrics: Sendable {
    private let snapshot = Mutex(CallbackStats())

    func publish(_ stats: CallbackStats) { snapshot.withLock { $0 = stats } }

    var current: CallbackStats { snapshot.withLock { $0 } }

    /// `cr_agent_callbacks_total{outcome=...}`, `cr_agent_callback_retries_total`, and the queue's gauges.
    func render() -> String {
        let s = current
        var out = "# HELP cr_agent_callbacks_total Callbacks by outcome: delivered, given_up (refused or out of attempts), dropped (queue full), too_large (sent as RESULT_TOO_LARGE).\n"
        out += "# TYPE cr_agent_callbacks_total counter\n"
        for (outcome, n) in [("delivered", s.delivered), ("given_up", s.givenUp), ("dropped", s.dropped), ("too_large", s.tooLarge)] {
            out += "cr_agent_callbacks_total{outcome=\"\(outcome)\"} \(n)\n"
        }
        out += "# HELP cr_agent_callback_retries_total Callback attempts after a first one.\n# TYPE cr_agent_callback_retries_total counter\n"
        out += "cr_agent_callback_retries_total \(s.retries)\n"
        out += "# HELP cr_agent_callback_queue_items Callbacks waiting for delivery.\n# TYPE cr_agent_callback_queue_items gauge\n"
        out += "cr_agent_callback_queue_items \(s.queuedItems)\n"
        out += "# HELP cr_agent_callback_queue_bytes Body bytes of the callbacks waiting for delivery.\n# TYPE cr_agent_callback_queue_bytes gauge\n"
        out += "cr_agent_callback_queue_bytes \(s.queuedBytes)\n"
        return out
    }
}
