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
    /// Writes made to client sockets (for tests: a response is one write, head and body together).
    let socketWrites = Atomic<Int>(0)
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
        var out = PrometheusText()
        out.describe("http_requests_total", .counter, "HTTP requests answered, by route and status.")
        for route in s.routes.keys.sorted() {
            let statuses = s.routes[route]!.statuses
            for status in statuses.keys.sorted() {
                out.sample("http_requests_total", labels: "route=\(label(route)),status=\"\(status)\"", statuses[status]!)
            }
        }
        out.single("http_open_connections", .gauge, "Client connections open now.", openConnections.load(ordering: .relaxed))
        out.single("http_buffered_output_bytes", .gauge, "Response bytes queued in memory, not yet written.", bufferedOutputBytes.load(ordering: .relaxed))
        out.single("http_connections_timed_out_total", .counter, "Connections closed by a header, body or idle timeout.",
                   connectionsTimedOut.load(ordering: .relaxed))
        out.single("http_connections_refused_total", .counter, "Connections closed on arrival because MAX_CONNECTIONS were open.",
                   connectionsRefused.load(ordering: .relaxed))
        out.single("http_accept_pauses_total", .counter, "Times accepting paused because file descriptors ran out.", acceptPauses.load(ordering: .relaxed))
        out.describe("http_request_duration_seconds", .histogram, "Time from a complete request head to the end of its response.")
        for route in s.routes.keys.sorted() {
            let r = s.routes[route]!
            out.histogramSamples("http_request_duration_seconds", labels: "route=\(label(route))", bounds: ServerMetrics.buckets,
                                 counts: r.bucketCounts, count: r.count, sum: r.sum)
        }
        return out.text + s.sections.map { $0() }.joined()
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
