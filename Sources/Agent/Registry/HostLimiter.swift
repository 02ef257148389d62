// Per-registry-host admission for the whole process: at most REGISTRY_MAX_CONCURRENCY requests in flight
// to one host, the rest waiting in FIFO order (bounded); a 429 from a host halves its allowance and holds
// every request to it until the answer's Retry-After has passed, and answered requests win the allowance
// back one step at a time (additive increase, multiplicative decrease, as TCP does with its window).
// Docker Hub's and other registries' pull limits count requests per client: a burst of parallel pulls is
// what trips them.
import Core
import Synchronization

/// One process-wide table of hosts. Requests come from any reactor thread; a waiting request is started
/// on its own reactor (`Reactor.execute`), never on the thread that freed the slot. A request hands its
/// slot back when it ends, is cancelled, or its call is freed; a reactor that stops for good with requests
/// in flight keeps their slots (a command ends its process then; the service's reactors run for its life).
final class HostLimiter: Sendable {
    static let shared = HostLimiter()

    /// `REGISTRY_MAX_CONCURRENCY`'s default and range.
    static let defaultLimit = 4
    static let limitRange = 1...64
    /// Requests waiting for one host at most; past it a request fails at once (something is looping).
    static let maxWaiting = 10_000

    /// A request admitted (or waiting to be): hand it back with `release` or `abandon`.
    final class Ticket: @unchecked Sendable {   // `start` is taken once (an atomic flag) and run only on `reactor`; `epoch` changes under the table's lock
        let host: String
        /// The host's 429 count when the request was let go: an answer to a request sent before the
        /// latest 429 says nothing about the slower pace, so it does not count towards recovery.
        fileprivate var epoch = 0
        fileprivate let reactor: Reactor
        private var start: (() -> Void)?
        private let taken = Atomic<Bool>(false)
        /// Handed back already: a second release (a call's end after its orphaned start) changes nothing.
        fileprivate let released = Atomic<Bool>(false)
        /// The request's start, taken once, by whoever starts it or drops it: only the one thread that
        /// wins the flag touches `start` after `init`.
        fileprivate func takeStart() -> (() -> Void)? {
            guard !taken.exchange(true, ordering: .acquiringAndReleasing) else { return nil }
            let s = start
            start = nil
            return s
        }
        /// What the request belongs to (its registry client): once that is gone the request is never
        /// sent, and a ticket still queued is dropped rather than given a slot no one would hand back.
        private weak var owner: AnyObject?
        private let owned: Bool
        fileprivate var orphaned: Bool { owned && owner == nil }
        fileprivate init(host: String, reactor: Reactor, owner: AnyObject?, start: @escaping () -> Void) {
            self.host = host
            self.reactor = reactor
            self.owner = owner
            self.owned = owner != nil
            self.start = start
        }
    }

    /// How a request to a host ended, for the host's allowance.
    enum Outcome {
        /// Any answer but 429, or a network failure: the slot is free and the host is not slowed.
        case answered
        /// Ended without an answer worth counting (refused before sending, cancelled): the slot is free.
        case dropped
        /// 429: halve the allowance; hold the host for `retryAfterSeconds` when the answer said so.
        case throttled(retryAfterSeconds: Int?)
    }

    struct HostState {
        var limit = HostLimiter.defaultLimit
        /// What may be in flight now: `limit`, less after 429s (at least 1).
        var allowance = HostLimiter.defaultLimit
        /// Answers counted towards the next step up of the allowance.
        var credit = 0
        var inFlight = 0
        /// Monotonic time (ns) before which nothing is sent to the host (a 429's Retry-After).
        var heldUntil: UInt64 = 0
        var waiting: [Ticket] = []
        /// Most requests seen in flight at once, and 429s seen (for tests and metrics).
        var maxInFlight = 0
        var throttles = 0
        /// A wake-up is scheduled for the end of the hold.
        var wakeScheduled = false
    }

    private let hosts = Mutex<[String: HostState]>([:])
    /// Source of monotonic time in ns; tests may replace it.
    private let now: @Sendable () -> UInt64

    init(now: @escaping @Sendable () -> UInt64 = { Reactor.now() }) { self.now = now }

    /// The key of a URL's host: its origin (`scheme://host[:port]`), lower-cased, so two registries on
    /// one address but different ports are two hosts.
    static func key(url: String) -> String { (URLParts.origin(url) ?? url).lowercased() }

    /// Asks for a slot at `host` with at most `limit` in flight. With a slot free, the ticket comes back
    /// with `now` true and the caller sends at once (`start` is not called); else `start` runs later on
    /// `reactor` when the slot is given. nil when too many requests already wait for the host.
    func acquire(host: String, limit: Int, reactor: Reactor, owner: AnyObject? = nil, start: @escaping () -> Void) -> (Ticket, now: Bool)? {
        let ticket = Ticket(host: host, reactor: reactor, owner: owner, start: start)
        let clamped = min(max(limit, Self.limitRange.lowerBound), Self.limitRange.upperBound)
        let t = now()
        let (admitted, full, wake) = hosts.withLock { table -> (Bool, Bool, UInt64?) in
            var s = table[host] ?? HostState(limit: clamped, allowance: clamped)
            if s.limit != clamped {
                s.allowance = min(max(1, s.allowance + clamped - s.limit), clamped)
                s.limit = clamped
            }
            defer { table[host] = s }
            if s.waiting.isEmpty && s.heldUntil <= t && s.inFlight < s.allowance {
                ticket.epoch = s.throttles
                s.inFlight += 1
                s.maxInFlight = max(s.maxInFlight, s.inFlight)
                return (true, false, nil)
            }
            guard s.waiting.count < Self.maxWaiting else { return (false, true, nil) }
            s.waiting.append(ticket)
            if s.heldUntil > t && !s.wakeScheduled {
                s.wakeScheduled = true
                return (false, false, s.heldUntil - t)
            }
            return (false, false, nil)
        }
        if full { return nil }
        if let wake { scheduleWake(host: host, on: reactor, afterNs: wake) }
        if admitted { _ = ticket.takeStart() }
        return (ticket, admitted)
    }

    /// Frees `ticket`'s slot (or drops it from the queue if it never started) and starts whoever is next.
    func release(_ ticket: Ticket, _ outcome: Outcome) {
        guard !ticket.released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let host = ticket.host
        let t = now()
        let (started, wake) = hosts.withLock { table -> ([Ticket], (Reactor, UInt64)?) in
            guard var s = table[host] else { return ([], nil) }
            defer { table[host] = s }
            if let i = s.waiting.firstIndex(where: { $0 === ticket }) {
                s.waiting.remove(at: i)
            } else {
                s.inFlight = max(0, s.inFlight - 1)
                switch outcome {
                case .dropped: break
                case .answered:
                    guard ticket.epoch == s.throttles else { break }
                    s.credit += 1
                    if s.credit >= s.allowance && s.allowance < s.limit {
                        s.allowance += 1
                        s.credit = 0
                    }
                case .throttled(let seconds):
                    s.throttles += 1
                    s.allowance = max(1, s.allowance / 2)
                    s.credit = 0
                    if let seconds, seconds > 0 {
                        s.heldUntil = max(s.heldUntil, t &+ UInt64(seconds) * 1_000_000_000)
                    }
                }
            }
            return Self.admit(&s, at: t)
        }
        dispatch(started)
        if let (reactor, ns) = wake { scheduleWake(host: host, on: reactor, afterNs: ns) }
    }

    /// A request that will not be sent after all, or ended without an answer: dropped from the queue,
    /// or its slot freed.
    func abandon(_ ticket: Ticket) {
        _ = ticket.takeStart()
        release(ticket, .dropped)
    }

    /// The waiting requests that may start now, in order; or, while the host is held, the reactor and
    /// delay of the wake-up to schedule (once).
    private static func admit(_ s: inout HostState, at t: UInt64) -> ([Ticket], (Reactor, UInt64)?) {
        if s.heldUntil > t {
            guard !s.wakeScheduled, let first = s.waiting.first else { return ([], nil) }
            s.wakeScheduled = true
            return ([], (first.reactor, s.heldUntil - t))
        }
        var started: [Ticket] = []
        while !s.waiting.isEmpty && s.inFlight < s.allowance {
            let next = s.waiting.removeFirst()
            if next.orphaned {                // its client is gone: nothing would run it or free its slot
                _ = next.takeStart()
                continue
            }
            next.epoch = s.throttles
            started.append(next)
            s.inFlight += 1
            s.maxInFlight = max(s.maxInFlight, s.inFlight)
        }
        return (started, nil)
    }

    private func dispatch(_ started: [Ticket]) {
        for ticket in started {
            ticket.reactor.execute { [self] in
                let run = ticket.takeStart()
                if ticket.orphaned { return release(ticket, .dropped) }
                run?()
            }
        }
    }

    private func scheduleWake(host: String, on reactor: Reactor, afterNs ns: UInt64) {
        let ms = Int(min(ns / 1_000_000 + 1, UInt64(Int32.max)))
        reactor.execute { [self] in
            reactor.schedule(afterMilliseconds: ms) { [self] in
                let t = now()
                let (started, wake) = hosts.withLock { table -> ([Ticket], (Reactor, UInt64)?) in
                    guard var s = table[host] else { return ([], nil) }
                    defer { table[host] = s }
                    s.wakeScheduled = false
                    return Self.admit(&s, at: t)
                }
                dispatch(started)
                if let (r, later) = wake { scheduleWake(host: host, on: r, afterNs: later) }
            }
        }
    }

    /// The state of `host` (for tests and metrics).
    func state(of host: String) -> HostState? { hosts.withLock { $0[host] } }

    /// Totals over every host, for /metrics: requests in flight, waiting, and 429s seen.
    struct Totals: Sendable, Equatable {
        var hosts = 0, inFlight = 0, waiting = 0, throttles = 0
    }

    var totals: Totals {
        hosts.withLock { table in
            table.values.reduce(into: Totals()) { t, s in
                t.hosts += 1
                t.inFlight += s.inFlight
                t.waiting += s.waiting.count
                t.throttles += s.throttles
            }
        }
    }

    /// Forgets every host (tests).
    func reset() { hosts.withLock { $0.removeAll() } }
}
