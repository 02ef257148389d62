// The callback counters as /metrics shows them: a snapshot the sender publishes from its reactor and any
// thread may render (Prometheus text format 0.0.4).
import Core
import Synchronization

final class CallbackMetrics: Sendable {
    private let snapshot = Mutex(CallbackStats())

    func publish(_ stats: CallbackStats) { snapshot.withLock { $0 = stats } }

    var current: CallbackStats { snapshot.withLock { $0 } }

    /// `cr_agent_callbacks_total{outcome=...}`, `cr_agent_callback_retries_total`, and the queue's gauges.
    func render() -> String {
        let s = current
        var out = PrometheusText()
        out.family("cr_agent_callbacks_total", .counter,
                   "Callbacks by outcome: delivered, given_up (refused or out of attempts), dropped (queue full), too_large (sent as RESULT_TOO_LARGE).",
                   label: "outcome", [("delivered", s.delivered), ("given_up", s.givenUp), ("dropped", s.dropped), ("too_large", s.tooLarge)])
        out.single("cr_agent_callback_retries_total", .counter, "Callback attempts after a first one.", s.retries)
        out.single("cr_agent_callback_queue_items", .gauge, "Callbacks waiting for delivery.", s.queuedItems)
        out.single("cr_agent_callback_queue_bytes", .gauge, "Body bytes of the callbacks waiting for delivery.", s.queuedBytes)
        return out.text
    }
}
