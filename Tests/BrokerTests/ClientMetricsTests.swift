// The broker client's /metrics section: every metric has its HELP and TYPE lines before its samples,
// the names are the documented ones, and the counters read what was counted.
import BrokerKit
import XCTest

final class ClientMetricsTests: XCTestCase {
    func testEveryMetricIsDescribedThenSampled() {
        let m = ClientMetrics()
        m.requestsForwarded.add(3, ordering: .relaxed)
        m.callbacksBlocked.add(2, ordering: .relaxed)
        m.bytesUp.add(1234, ordering: .relaxed)
        let lines = m.render().split(separator: "\n").map(String.init)
        var described: [String: (help: Bool, type: String?)] = [:]
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
            if parts.first == "#" {
                XCTAssertGreaterThanOrEqual(parts.count, 4, line)
                if parts[1] == "HELP" { described[parts[2], default: (false, nil)].help = true }
                if parts[1] == "TYPE" { described[parts[2], default: (false, nil)].type = parts[3] }
                continue
            }
            let name = String(parts[0].prefix { $0 != "{" })
            XCTAssertEqual(described[name]?.help, true, "\(name) sampled before its HELP line")
            XCTAssertNotNil(described[name]?.type ?? nil, "\(name) sampled before its TYPE line")
        }
        XCTAssertTrue(lines.contains(#"broker_client_requests_total{outcome="forwarded"} 3"#))
        XCTAssertTrue(lines.contains(#"broker_client_callbacks_total{outcome="blocked"} 2"#))
        XCTAssertTrue(lines.contains("broker_client_bytes_up_total 1234"))
        XCTAssertEqual(described["broker_client_requests_total"]?.type, "counter")
        XCTAssertEqual(described["broker_client_sockets_open"]?.type, "gauge")
        XCTAssertEqual(Set(described.keys), [
            "broker_client_requests_total", "broker_client_downstream_retries_total", "broker_client_upload_failures_total",
            "broker_client_bytes_up_total", "broker_client_upload_peak_buffered_bytes", "broker_client_requests_in_flight",
            "broker_client_requests_in_flight_peak", "broker_client_upload_bytes_held_peak", "broker_client_requests_queued",
            "broker_client_requests_refused_busy_total", "broker_client_requests_expired_in_queue_total", "broker_client_answers_over_socket_total", "broker_client_callbacks_total",
            "broker_client_callback_queued_bytes_peak", "broker_client_sockets_open", "broker_client_dials_total", "broker_client_sockets_lost_total",
        ])
    }
}
