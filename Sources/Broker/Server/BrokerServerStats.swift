// The broker server's own /metrics section (Prometheus text), beside Core's HTTP server counters:
// connected clients and sockets per token hash, requests by direction and outcome, bytes relayed,
// and the latency of brokered requests. Updated on the reactor thread, rendered from any.
import Core
import Synchronization

public final class BrokerServerStats: Sendable {
    /// Outcomes of a request: `down` for /broker/<token>/* callers, `up` for the clients' callbacks.
    public enum Direction: String, Sendable { case down, up }

    private struct State {
        var pool: [String: ClientPool.PoolCounts] = [:]
        var outcomes: [String: UInt64] = [:]         // "direction|outcome"
        var bytes: [String: UInt64] = [:]            // relay leg
        var buckets = [UInt64](repeating: 0, count: ServerMetrics.buckets.count)
        var count: UInt64 = 0
        var sum: Double = 0
    }
    private let state = Mutex(State())

    public init() {}

    func setPool(_ counts: [String: ClientPool.PoolCounts]) { state.withLock { $0.pool = counts } }

    public func count(_ direction: Direction, _ outcome: String) {
        state.withLock { $0.outcomes["\(direction.rawValue)|\(outcome)", default: 0] += 1 }
    }

    public func outcomes(_ direction: Direction, _ outcome: String) -> UInt64 {
        state.withLock { $0.outcomes["\(direction.rawValue)|\(outcome)"] ?? 0 }
    }

    /// Bytes moved on one leg: `to_caller`, `from_caller`, `to_upstream`, `from_upstream`.
    public func addBytes(_ leg: String, _ n: Int) {
        guard n > 0 else { return }
        state.withLock { $0.bytes[leg, default: 0] += UInt64(n) }
    }

    public func bytes(_ leg: String) -> UInt64 { state.withLock { $0.bytes[leg] ?? 0 } }

    func observe(seconds: Double) {
        state.withLock { s in
            s.count += 1
            s.sum += seconds
            var i = 0
            while i < ServerMetrics.buckets.count && seconds > ServerMetrics.buckets[i] { i += 1 }
            if i < s.buckets.count { s.buckets[i] += 1 }
        }
    }

    public func render() -> String {
        let s = state.withLock { $0 }
        var out = "# HELP broker_server_connected_clients Identified broker clients connected, by token hash.\n# TYPE broker_server_connected_clients gauge\n"
        for h in s.pool.keys.sorted() { out += "broker_server_connected_clients{token_hash=\"\(h)\"} \(s.pool[h]!.clients)\n" }
        out += "# HELP broker_server_sockets Client sockets open, by token hash and whether they identified.\n# TYPE broker_server_sockets gauge\n"
        for h in s.pool.keys.sorted() {
            out += "broker_server_sockets{token_hash=\"\(h)\",state=\"identified\"} \(s.pool[h]!.identified)\n"
            out += "broker_server_sockets{token_hash=\"\(h)\",state=\"pending\"} \(s.pool[h]!.pending)\n"
        }
        out += "# HELP broker_server_requests_total Requests through the tunnel, by direction (down: callers of /broker, up: the clients' callbacks) and outcome.\n# TYPE broker_server_requests_total counter\n"
        for k in s.outcomes.keys.sorted() {
            let parts = k.split(separator: "|", maxSplits: 1)
            out += "broker_server_requests_total{direction=\"\(parts[0])\",outcome=\"\(parts[1])\"} \(s.outcomes[k]!)\n"
        }
        out += "# HELP broker_server_relayed_bytes_total Body bytes relayed, by leg.\n# TYPE broker_server_relayed_bytes_total counter\n"
        for k in s.bytes.keys.sorted() { out += "broker_server_relayed_bytes_total{leg=\"\(k)\"} \(s.bytes[k]!)\n" }
        out += "# HELP broker_server_request_duration_seconds Time from a /broker request to the end of its answer.\n# TYPE broker_server_request_duration_seconds histogram\n"
        var cumulative: UInt64 = 0
        for (i, b) in ServerMetrics.buckets.enumerated() {
            cumulative += s.buckets[i]
            out += "broker_server_request_duration_seconds_bucket{le=\"\(b)\"} \(cumulative)\n"
        }
        out += "broker_server_request_duration_seconds_bucket{le=\"+Inf\"} \(s.count)\n"
        out += "broker_server_request_duration_seconds_sum \(s.sum)\n"
        out += "broker_server_request_duration_seconds_count \(s.count)\n"
        return out
    }
}
