// Time for the tunnel's heartbeats, injectable: the reactor's timers in the product, a hand-driven clock
// in tests (so a heartbeat test advances time instead of sleeping).
import Core
#if canImport(Glibc)
import Glibc
#endif

/// A handle for a scheduled callback.
public struct TunnelTimer: Hashable, Sendable {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
}

/// Timers and the wall clock, used on one reactor thread.
public protocol TunnelTimers: AnyObject {
    /// Milliseconds since the Unix epoch (Primus puts `Date.now()` in its ping).
    func epochMilliseconds() -> Int
    /// Calls `body` once after `ms` milliseconds, unless cancelled first.
    func schedule(afterMilliseconds ms: Int, _ body: @escaping () -> Void) -> TunnelTimer
    func cancel(_ timer: TunnelTimer)
}

/// The reactor's timers (timerfd-driven) and the real-time clock.
public final class ReactorTunnelTimers: TunnelTimers {
    private let reactor: Reactor
    private var next: UInt64 = 1
    private var live: [UInt64: TimerID] = [:]

    public init(reactor: Reactor) { self.reactor = reactor }

    public func epochMilliseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000
    }

    public func schedule(afterMilliseconds ms: Int, _ body: @escaping () -> Void) -> TunnelTimer {
        let key = next
        next += 1
        let id = reactor.schedule(afterMilliseconds: max(0, ms)) { [weak self] in
            self?.live[key] = nil
            body()
        }
        live[key] = id
        return TunnelTimer(key)
    }

    public func cancel(_ timer: TunnelTimer) {
        if let id = live.removeValue(forKey: timer.value) { reactor.cancel(id) }
    }
}
