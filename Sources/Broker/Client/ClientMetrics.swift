// The broker client's counters, rendered as Prometheus text on its /metrics beside the HTTP server's own.
import Synchronization

public final class ClientMetrics: Sendable {
    /// Requests from the server by outcome: forwarded (the agent answered), blocked, and each failure code.
    public let requestsForwarded = Atomic<Int>(0)
    public let requestsBlocked = Atomic<Int>(0)
    public let requestsUnreachable = Atomic<Int>(0)
    public let requestsTimedOut = Atomic<Int>(0)
    public let requestsFailed = Atomic<Int>(0)
    public let requestsInvalid = Atomic<Int>(0)
    /// Downstream attempts retried after a network error.
    public let downstreamRetries = Atomic<Int>(0)
    /// Answers whose upload to /response-data failed.
    public let uploadsFailed = Atomic<Int>(0)
    /// Answer body bytes sent up to the server.
    public let bytesUp = Atomic<Int>(0)
    /// The most answer bytes any one upload held waiting for the server (the backpressure bound).
    public let uploadPeakBufferedBytes = Atomic<Int>(0)
    /// Requests from the server being answered now (at most BROKER_CLIENT_MAX_CONCURRENT_REQUESTS).
    public let inFlight = Atomic<Int>(0)
    /// The most requests ever run at once, and the most answer bytes all uploads held together.
    public let inFlightPeak = Atomic<Int>(0)
    public let uploadBytesHeldPeak = Atomic<Int>(0)
    /// Requests from the server waiting for one of those places, and those refused with 503 CLIENT_BUSY.
    public let requestsQueued = Atomic<Int>(0)
    public let requestsRefusedBusy = Atomic<Int>(0)
    /// Answers sent up the socket as one `chunk` event (small and complete), not through /response-data.
    public let answersOverSocket = Atomic<Int>(0)
    /// The agent's callbacks: sent up, blocked by the public filter, failed (no socket, socket lost, timeout).
    public let callbacksRelayed = Atomic<Int>(0)
    public let callbacksBlocked = Atomic<Int>(0)
    public let callbacksFailed = Atomic<Int>(0)
    /// Tunnel sockets open now, dial attempts, and times an open socket was lost.
    public let socketsOpen = Atomic<Int>(0)
    public let dials = Atomic<Int>(0)
    public let socketsLost = Atomic<Int>(0)

    public init() {}

    public func render() -> String {
        var out = ""
        out += "# TYPE broker_client_requests_total counter\n"
        for (outcome, n) in [("forwarded", requestsForwarded.load(ordering: .relaxed)), ("blocked", requestsBlocked.load(ordering: .relaxed)),
                             ("unreachable", requestsUnreachable.load(ordering: .relaxed)), ("timeout", requestsTimedOut.load(ordering: .relaxed)),
                             ("error", requestsFailed.load(ordering: .relaxed)), ("invalid", requestsInvalid.load(ordering: .relaxed))] {
            out += "broker_client_requests_total{outcome=\"\(outcome)\"} \(n)\n"
        }
        out += "# TYPE broker_client_downstream_retries_total counter\nbroker_client_downstream_retries_total \(downstreamRetries.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_upload_failures_total counter\nbroker_client_upload_failures_total \(uploadsFailed.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_bytes_up_total counter\nbroker_client_bytes_up_total \(bytesUp.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_upload_peak_buffered_bytes gauge\nbroker_client_upload_peak_buffered_bytes \(uploadPeakBufferedBytes.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_requests_in_flight gauge\nbroker_client_requests_in_flight \(inFlight.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_requests_in_flight_peak gauge\nbroker_client_requests_in_flight_peak \(inFlightPeak.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_upload_bytes_held_peak gauge\nbroker_client_upload_bytes_held_peak \(uploadBytesHeldPeak.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_requests_queued gauge\nbroker_client_requests_queued \(requestsQueued.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_requests_refused_busy_total counter\nbroker_client_requests_refused_busy_total \(requestsRefusedBusy.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_answers_over_socket_total counter\nbroker_client_answers_over_socket_total \(answersOverSocket.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_callbacks_total counter\n"
        for (outcome, n) in [("relayed", callbacksRelayed.load(ordering: .relaxed)), ("blocked", callbacksBlocked.load(ordering: .relaxed)),
                             ("failed", callbacksFailed.load(ordering: .relaxed))] {
            out += "broker_client_callbacks_total{outcome=\"\(outcome)\"} \(n)\n"
        }
        out += "# TYPE broker_client_sockets_open gauge\nbroker_client_sockets_open \(socketsOpen.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_dials_total counter\nbroker_client_dials_total \(dials.load(ordering: .relaxed))\n"
        out += "# TYPE broker_client_sockets_lost_total counter\nbroker_client_sockets_lost_total \(socketsLost.load(ordering: .relaxed))\n"
        return out
    }
}

extension Atomic where Value == Int {
    func bump(_ by: Int = 1) { _ = wrappingAdd(by, ordering: .relaxed) }
}
