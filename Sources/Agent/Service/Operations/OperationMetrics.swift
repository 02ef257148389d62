// What /metrics says about operations and scans (added to the server's exposition as one section).
import Core
import Synchronization

final class OperationMetrics: Sendable {
    /// Scan duration histogram bounds, in seconds.
    static let buckets: [Double] = [1, 5, 10, 30, 60, 120, 300, 600, 1800]

    private struct State {
        var operations: [String: Int] = [:]
        var rejected: [String: Int] = [:]
        var scans: [String: Int] = [:]
        var bytesPulled = 0
        var cacheHits = 0
        var workerRestarts = 0
        var queued = 0
        var running = 0
        var durationBuckets = [Int](repeating: 0, count: OperationMetrics.buckets.count)
        var durationCount = 0
        var durationSum = 0.0
    }

    private let state = Mutex(State())

    init() {}

    /// An image outcome as a bounded label: `scanned`, or the failure's kind (registry codes vary without end).
    static func outcomeLabel(_ outcome: ImageOutcome) -> String {
        guard case .failed(let code, _) = outcome else { return "scanned" }
        switch code {
        case "SCAN_TIMEOUT": return "timeout"
        case "WORKER_CRASHED": return "crashed"
        case "WORKER_MEMORY_LIMIT": return "memory_limit"
        case "CANCELLED": return "cancelled"
        case "SHUTDOWN": return "shutdown"
        case "IMAGE_TOO_LARGE": return "too_large"
        default: return "failed"
        }
    }

    func operationEnded(_ outcome: String) { state.withLock { $0.operations[outcome, default: 0] += 1 } }
    func rejected(_ reason: String) { state.withLock { $0.rejected[reason, default: 0] += 1 } }
    func gauges(queued: Int, running: Int) { state.withLock { $0.queued = queued; $0.running = running } }

    func imageFinished(_ outcome: ImageOutcome, seconds: Double?, stats: ScanWorkerStats?, workerRestarted: Bool) {
        state.withLock { s in
            s.scans[Self.outcomeLabel(outcome), default: 0] += 1
            if let stats { s.bytesPulled += stats.bytesPulled; s.cacheHits += stats.cacheHits }
            if workerRestarted { s.workerRestarts += 1 }
            if let seconds {
                s.durationCount += 1
                s.durationSum += seconds
                if let i = Self.buckets.firstIndex(where: { seconds <= $0 }) { s.durationBuckets[i] += 1 }
            }
        }
    }

    func render() -> String {
        let s = state.withLock { $0 }
        var out = PrometheusText()
        out.family("cr_agent_operations_total", .counter, "Operations ended, by how they ended.", label: "outcome",
                   s.operations.keys.sorted().map { ($0, s.operations[$0]!) })
        out.family("cr_agent_operations_rejected_total", .counter, "Scan requests refused (queue full: 429; draining: 503).", label: "reason",
                   s.rejected.keys.sorted().map { ($0, s.rejected[$0]!) })
        out.single("cr_agent_operations_queued", .gauge, "Operations waiting for a slot.", s.queued)
        out.single("cr_agent_operations_running", .gauge, "Operations scanning now.", s.running)
        out.family("cr_agent_image_scans_total", .counter, "Images finished, by outcome.", label: "outcome", s.scans.keys.sorted().map { ($0, s.scans[$0]!) })
        out.single("cr_agent_scan_bytes_pulled_total", .counter, "Compressed layer bytes the scan workers pulled.", s.bytesPulled)
        out.single("cr_agent_layer_cache_hits_total", .counter, "Layers whose findings came from the layer cache.", s.cacheHits)
        out.single("cr_agent_scan_worker_restarts_total", .counter, "Scan workers that crashed or were killed (a new one serves the next image).",
                   s.workerRestarts)
        out.describe("cr_agent_scan_duration_seconds", .histogram, "Time one image took in its worker.")
        out.histogramSamples("cr_agent_scan_duration_seconds", bounds: Self.buckets, counts: s.durationBuckets, count: s.durationCount, sum: s.durationSum)
        return out.text
    }
}
