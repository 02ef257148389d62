// Server counters in Prometheus text format: requests by route and status, open connections, latency.
import Synchronization

public final class ServerMetrics: Sendable {
    /// Latency histogram bucket bounds, in seconds.
    public static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private struct RouteStats {
        var statuses: [Int: UInt64] = [:]
        var bucketCounts = [UInt64](repeating: 0, count: ServerMetrics.buckets.count)
        var count: UInt64 = 0
        var sum: Double = 0

        mutating func record(status: Int, seconds: Double) {
            statuses[status, default: 0] += 1
            count += 1
            sum += seconds
            var i = 0
            while i < ServerMetrics.buckets.count && seconds > ServerMetrics.buckets[i] { i += 1 }
            if i < bucketCounts.count { bucketCounts[i] += 1 }
        }
    }

    private struct State {
        var routes: [String: RouteStats] = [:]
        var sections: [@Sendable () -> String] = []
    }

    private let state = Mutex(State())
    public let openConnections = Atomic<Int>(0)
    /// Bytes of responses queued in memory and not yet written to sockets, across all connections.
    public let bufferedOutputBytes = Atomic<Int>(0)
    /// The most any single connection has held queued at once since start.
    public let peakConnectionOutputBytes = Atomic<Int>(0)
    public let connectionsTimedOut = Atomic<Int>(0)
    /// Connections closed on arrival because MAX_CONNECTIONS were open.
    public let connectionsRefused = Atomic<Int>(0)
    /// Bytes handed to the request-head parser, counting every re-parse of a partial head (a work
    /// counter for tests; not exported).
    let headBytesParsed = Atomic<Int>(0)
    /// Times accepting paused because the process ran out of file descriptors.
    public let acceptPauses = Atomic<Int>(0)

    public init() {}

    public func record(route: String, status: Int, seconds: Double) {
        state.withLock { $0.routes[route, default: RouteStats()].record(status: status, seconds: seconds) }
    }

    /// Adds a block of Prometheus text (its own HELP/TYPE lines) to every `render`, after the server's
    /// own: how a service exports what only it knows (operations, scans) without Core knowing of it.
    public func addSection(_ render: @escaping @Sendable () -> String) {
        state.withLock { $0.sections.append(render) }
    }

    public func requestCount(route: String, status: Int) -> UInt64 {
        state.withLock { $0.routes[route]?.statuses[status] ?? 0 }
    }

    /// The Prometheus text exposition (format 0.0.4).
    public func render() -> String {
        let s = state.withLock { $0 }
        var out = "# HELP http_requests_total HTTP requests answered, by route and status.\n# TYPE http_requests_total counter\n"
        for route in s.routes.keys.sorted() {
            let statuses = s.routes[route]!.statuses
            for status in statuses.keys.sorted() {
                out += "http_requests_total{route=\(label(route)),status=\"\(status)\"} \(statuses[status]!)\n"
            }
        }
        out += "# HELP http_open_connections Client connections open now.\n# TYPE http_open_connections gauge\n"
        out += "http_open_connections \(openConnections.load(ordering: .relaxed))\n"
        out += "# HELP http_buffered_output_bytes Response bytes queued in memory, not yet written.\n# TYPE http_buffered_output_bytes gauge\n"
        out += "http_buffered_output_bytes \(bufferedOutputBytes.load(ordering: .relaxed))\n"
        out += "# HELP http_connections_timed_out_total Connections closed by a header, body or idle timeout.\n# TYPE http_connections_timed_out_total counter\n"
        out += "http_connections_timed_out_total \(connectionsTimedOut.load(ordering: .relaxed))\n"
        out += "# HELP http_connections_refused_total Connections closed on arrival because MAX_CONNECTIONS were open.\n# TYPE http_connections_refused_total counter\n"
        out += "http_connections_refused_total \(connectionsRefused.load(ordering: .relaxed))\n"
        out += "# HELP http_accept_pauses_total Times accepting paused because file descriptors ran out.\n# TYPE http_accept_pauses_total counter\n"
        out += "http_accept_pauses_total \(acceptPauses.load(ordering: .relaxed))\n"
        out += "# HELP http_request_duration_seconds Time from a complete request head to the end of its response.\n# TYPE http_request_duration_seconds histogram\n"
        for route in s.routes.keys.sorted() {
            let r = s.routes[route]!
            var cumulative: UInt64 = 0
            for (i, b) in ServerMetrics.buckets.enumerated() {
                cumulative += r.bucketCounts[i]
                out += "http_request_duration_seconds_bucket{route=\(label(route)),le=\"\(b)\"} \(cumulative)\n"
            }
            out += "http_request_duration_seconds_bucket{route=\(label(route)),le=\"+Inf\"} \(r.count)\n"
            out += "http_request_duration_seconds_sum{route=\(label(route))} \(r.sum)\n"
            out += "http_request_duration_seconds_count{route=\(label(route))} \(r.count)\n"
        }
        for section in s.sections { out += section() }
        return out
    }

    private func label(_ v: String) -> String {
        var out = ""
        JSON.quote(v, into: &out)
        return out
    }

    func noteBuffered(delta: Int, connectionTotal: Int) {
        bufferedOutputBytes.add(delta, ordering: .relaxed)
        var peak = peakConnectionOutputBytes.load(ordering: .relaxed)
        while connectionTotal > peak {
            let (exchanged, now) = peakConnectionOutputBytes.compareExchange(expected: peak, desired: connectionTotal, ordering: .relaxed)
            if exchanged { break }
            peak = now
        }
    }
}
