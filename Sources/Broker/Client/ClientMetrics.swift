// The broker client's counters, rendered as Prometheus text on its /metrics beside the HTTP server's own.
import Core
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
    /// Queued requests dropped unrun because they waited longer than BROKER_DOWNSTREAM_TIMEOUT.
    public let requestsExpiredInQueue = Atomic<Int>(0)
    /// Answers sent up the socket as one `chunk` event (small and complete), not through /response-data.
    public let answersOverSocket = Atomic<Int>(0)
    /// The agent's callbacks: sent up, blocked by the public filter, failed (no socket, socket lost, timeout).
    public let callbacksRelayed = Atomic<Int>(0)
    public let callbacksBlocked = Atomic<Int>(0)
    public let callbacksFailed = Atomic<Int>(0)
    /// Callbacks answered 503 because the tunnel sockets had too many bytes waiting to be written.
    public let callbacksRefusedTunnelBusy = Atomic<Int>(0)
    /// The most bytes a tunnel socket had waiting to be written, seen right after a callback was emitted.
    public let callbackQueuedBytesPeak = Atomic<Int>(0)
    /// Tunnel sockets open now, dial attempts, and times an open socket was lost.
    public let socketsOpen = Atomic<Int>(0)
    public let dials = Atomic<Int>(0)
    public let socketsLost = Atomic<Int>(0)

    public init() {}

    public func render() -> String {
        func v(_ a: borrowing Atomic<Int>) -> Int { a.load(ordering: .relaxed) }
        var out = PrometheusText()
        out.family("broker_client_requests_total", .counter, "Requests from the broker server, by outcome.", label: "outcome",
                   [("forwarded", v(requestsForwarded)), ("blocked", v(requestsBlocked)), ("unreachable", v(requestsUnreachable)),
                    ("timeout", v(requestsTimedOut)), ("error", v(requestsFailed)), ("invalid", v(requestsInvalid))])
        out.single("broker_client_downstream_retries_total", .counter, "Requests to the agent retried after a network error.", v(downstreamRetries))
        out.single("broker_client_upload_failures_total", .counter, "Answers whose upload to /response-data failed.", v(uploadsFailed))
        out.single("broker_client_bytes_up_total", .counter, "Answer body bytes sent up to the broker server.", v(bytesUp))
        out.single("broker_client_upload_peak_buffered_bytes", .gauge, "The most answer bytes one upload held waiting for the server.",
                   v(uploadPeakBufferedBytes))
        out.single("broker_client_requests_in_flight", .gauge, "Requests from the server being answered now.", v(inFlight))
        out.single("broker_client_requests_in_flight_peak", .gauge, "The most requests answered at once.", v(inFlightPeak))
        out.single("broker_client_upload_bytes_held_peak", .gauge, "The most answer bytes all uploads held together.", v(uploadBytesHeldPeak))
        out.single("broker_client_requests_queued", .gauge, "Requests from the server waiting for a place to run.", v(requestsQueued))
        out.single("broker_client_requests_refused_busy_total", .counter, "Requests refused with 503 CLIENT_BUSY.", v(requestsRefusedBusy))
        out.single("broker_client_requests_expired_in_queue_total", .counter, "Queued requests answered 504 unrun: they waited longer than BROKER_DOWNSTREAM_TIMEOUT.",
                   v(requestsExpiredInQueue))
        out.single("broker_client_answers_over_socket_total", .counter, "Small, complete answers sent up the socket as one chunk event.",
                   v(answersOverSocket))
        out.family("broker_client_callbacks_total", .counter, "The agent's callbacks, by outcome.", label: "outcome",
                   [("relayed", v(callbacksRelayed)), ("blocked", v(callbacksBlocked)), ("failed", v(callbacksFailed)),
                    ("tunnel_busy", v(callbacksRefusedTunnelBusy))])
        out.single("broker_client_callback_queued_bytes_peak", .gauge, "The most bytes a tunnel socket had waiting to be written after a callback.",
                   v(callbackQueuedBytesPeak))
        out.single("broker_client_sockets_open", .gauge, "Tunnel sockets open now.", v(socketsOpen))
        out.single("broker_client_dials_total", .counter, "Attempts to open a tunnel socket.", v(dials))
        out.single("broker_client_sockets_lost_total", .counter, "Times an open tunnel socket was lost.", v(socketsLost))
        return out.text
    }
}

extension Atomic where Value == Int {
    func bump(_ by: Int = 1) { _ = wrappingAdd(by, ordering: .relaxed) }
}
