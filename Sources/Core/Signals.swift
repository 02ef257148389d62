// Termination signals (SIGTERM, SIGINT): as reactor events through a signalfd (services), or through a
// watcher thread that also keeps a deadline (CLI scans, whose reactor thread may be busy for seconds).
import CEpoll
import Glibc
import Synchronization

public enum TerminationSignals {
    /// Blocks SIGTERM/SIGINT for this thread and the threads it starts later, and calls `handler` on
    /// `reactor`'s thread with the signal number each time one arrives. Call before starting threads.
    public static func watch(on reactor: Reactor, handler: @escaping (Int32) -> Void) throws(SystemError) {
        let fd = cep_termination_signalfd()
        guard fd >= 0 else { throw SystemError("signalfd", code: fd) }
        try reactor.register(fd: fd, events: .readable) { _ in
            while case let sig = cep_signalfd_read(fd), sig != 0 { handler(sig) }
        }
    }

    /// The exit status of a command stopped by `reason`: 128 + the signal (130 SIGINT, 143 SIGTERM),
    /// else 1 (a deadline is a failure of the command).
    public static func exitStatus(for reason: CancellationReason) -> Int32 {
        if case .signal(let s) = reason { return 128 + s }
        return 1
    }
}

/// SIGHUP as a reactor event (a service re-reading a file of settings), through a signalfd.
public enum HangupSignal {
    /// Blocks SIGHUP for this thread and the threads it starts later, and calls `handler` on `reactor`'s
    /// thread each time one arrives. Call before starting threads.
    public static func watch(on reactor: Reactor, handler: @escaping () -> Void) throws(SystemError) {
        let fd = cep_single_signalfd(SIGHUP)
        guard fd >= 0 else { throw SystemError("signalfd", code: fd) }
        try reactor.register(fd: fd, events: .readable) { _ in
            while cep_signalfd_read(fd) != 0 { handler() }
        }
    }
}

/// Turns SIGINT/SIGTERM and a deadline into a raised `Cancellation` from a thread of its own, so the
/// stop request is seen even while the reactor thread is busy inflating or cataloging (a signalfd on
/// the reactor would be read only when the busy step ends). After raising it, the watcher calls
/// `onStop` (which wakes the reactor); if the work has not settled `graceMilliseconds` later, or a
/// second signal comes, it calls `onStuck`, which ends the process. A signal that comes once the work
/// has settled goes to `afterSettle`, which ends the process too: it is never swallowed.
public final class StopWatcher: Sendable {
    public let cancellation: Cancellation
    private let deadlineArmed = Atomic<Bool>(true)
    private let settled = Atomic<Bool>(false)

    /// Blocks SIGINT/SIGTERM in the calling thread and in the threads it starts later: call it before
    /// any thread is started, as the first thing a command does once it knows it will run.
    public init(cancellation: Cancellation, deadlineMilliseconds: Int?, graceMilliseconds: Int = 1000,
                onStop: @escaping @Sendable (CancellationReason) -> Void,
                onStuck: @escaping @Sendable (CancellationReason) -> Void,
                afterSettle: @escaping @Sendable (CancellationReason) -> Void) {
        self.cancellation = cancellation
        var set = Self.terminationSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        cep_ignore_sigpipe()
        let start = Reactor.now()
        _ = JoinableThread.start(name: "stop-watcher") { [self] in
            var stoppedAt: UInt64?
            while true {
                let now = Reactor.now()
                // How long to wait for a signal: until the deadline, the end of the grace, or a second
                // (to notice `settle`/`disarmDeadline`).
                var waitNs: UInt64 = 1_000_000_000
                if let at = stoppedAt {
                    let end = at &+ UInt64(max(0, graceMilliseconds)) * 1_000_000
                    if now >= end {
                        if !settled.load(ordering: .acquiring) { onStuck(cancellation.reason ?? .requested("stopped")) }
                        return
                    }
                    waitNs = min(waitNs, end - now)
                } else if let ms = deadlineMilliseconds, deadlineArmed.load(ordering: .acquiring) {
                    let end = start &+ UInt64(max(0, ms)) * 1_000_000
                    if now >= end {
                        cancellation.cancel(.deadline(milliseconds: ms))
                        stoppedAt = now
                        onStop(cancellation.reason!)
                        continue
                    }
                    waitNs = min(waitNs, end - now)
                }
                var timeout = timespec(tv_sec: Int(waitNs / 1_000_000_000), tv_nsec: Int(waitNs % 1_000_000_000))
                var set = Self.terminationSet()
                let sig = sigtimedwait(&set, nil, &timeout)
                guard sig > 0 else { continue }      // timeout or EINTR: recompute
                if settled.load(ordering: .acquiring) {
                    // The work is over (a report is being written): nothing polls the flag any more.
                    afterSettle(.signal(sig))
                    return
                }
                if stoppedAt != nil {
                    // A second signal while stopping: the user means it.
                    if !settled.load(ordering: .acquiring) { onStuck(cancellation.reason ?? .signal(sig)) }
                    return
                }
                cancellation.cancel(.signal(sig))
                stoppedAt = Reactor.now()
                onStop(cancellation.reason!)
            }
        }
    }

    /// The work finished (or its failure is being reported): the deadline no longer applies, the
    /// grace period will not end the process, and a signal from now on goes to `afterSettle`.
    public func settle() {
        deadlineArmed.store(false, ordering: .releasing)
        settled.store(true, ordering: .releasing)
    }

    private static func terminationSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }
}
