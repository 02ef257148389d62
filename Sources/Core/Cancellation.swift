// A stop request that any thread may raise (a signal watcher, a deadline timer, the service) and that
// CPU-bound work polls between bounded steps, so a scan busy in a parser stops within milliseconds.
import Synchronization

/// Why work was asked to stop.
public enum CancellationReason: Sendable, Equatable {
    case signal(Int32)
    case deadline(milliseconds: Int)
    case requested(String)

    public var message: String {
        switch self {
        case .signal(let s): return s == 15 ? "interrupted by SIGTERM" : s == 2 ? "interrupted by SIGINT" : "interrupted by signal \(s)"
        case .deadline(let ms): return "stopped after the \(ms) ms deadline (SCAN_TIMEOUT_MS)"
        case .requested(let why): return why
        }
    }
}

/// Raised once; the first reason wins. Checking is one relaxed atomic load.
public final class Cancellation: Sendable {
    private let raised = Atomic<Bool>(false)
    private let why = Mutex<CancellationReason?>(nil)

    public init() {}

    public var isCancelled: Bool { raised.load(ordering: .relaxed) }

    public var reason: CancellationReason? { why.withLock { $0 } }

    /// Raises the flag; later calls keep the first reason.
    public func cancel(_ reason: CancellationReason) {
        why.withLock { if $0 == nil { $0 = reason } }
        raised.store(true, ordering: .releasing)
    }
}
