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
        var out = PrometheusText()
        out.describe("broker_server_connected_clients", .gauge, "Identified broker clients connected, by token hash.")
        for h in s.pool.keys.sorted() { out.sample("broker_server_connected_clients", labels: "token_hash=\"\(h)\"", s.pool[h]!.clients) }
        out.describe("broker_server_sockets", .gauge, "Client sockets open, by token hash and whether they identified.")
        for h in s.pool.keys.sorted() {
            out.sample("broker_server_sockets", labels: "token_hash=\"\(h)\",state=\"identified\"", s.pool[h]!.identified)
            out.sample("broker_server_sockets", labels: "token_hash=\"\(h)\",state=\"pending\"", s.pool[h]!.pending)
        }
        out.describe("broker_server_requests_total", .counter,
                     "Requests through the tunnel, by direction (down: callers of /broker, up: the clients' callbacks) and outcome.")
        for k in s.outcomes.keys.sorted() {
            let parts = k.split(separator: "|", maxSplits: 1)
            out.sample("broker_server_requests_total", labels: "direction=\"\(parts[0])\",outcome=\"\(parts[1])\"", s.outcomes[k]!)
        }
        out.describe("broker_server_relayed_bytes_total", .counter, "Body bytes relayed, by leg.")
        for k in s.bytes.keys.sorted() { out.sample("broker_server_relayed_bytes_total", labels: "leg=\"\(k)\"", s.bytes[k]!) }
        out.describe("broker_server_request_duration_seconds", .histogram, "Time from a /broker request to the end of its answer.")
        out.histogramSamples("broker_server_request_duration_seconds", bounds: ServerMetrics.buckets, counts: s.buckets, count: s.count, sum: s.sum)
        return out.text
    }
}
