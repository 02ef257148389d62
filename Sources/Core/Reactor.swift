// One epoll event loop per thread: fd readiness, timers, cross-thread wake-ups and termination signals.
import CEpoll
import Synchronization

/// Readiness reported for a registered file descriptor.
public struct IOEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = IOEvents(rawValue: UInt32(CEP_IN))
    public static let writable = IOEvents(rawValue: UInt32(CEP_OUT))
    public static let error = IOEvents(rawValue: UInt32(CEP_ERR))
    /// Both directions are shut (always reported, whatever the interest).
    public static let hangup = IOEvents(rawValue: UInt32(CEP_HUP))
}

/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable { fileprivate let value: UInt64 }

/// A single-threaded event loop. Everything registered with it runs on its thread; only `execute`,
/// `stop` and `wakeUp` may be called from other threads.
// @unchecked: the mutable state is touched only on the loop's thread; the cross-thread queue is a Mutex.
public final class Reactor: @unchecked Sendable {
    public typealias IOHandler = (IOEvents) -> Void

    private let epollFD: Int32
    private let wakeFD: Int32
    private var handlers: [IOHandler?] = []
    private var generations: [UInt32] = []
    private var timers = TimerHeap()
    private var nextTimerID: UInt64 = 1
    private var cancelledTimers = Set<UInt64>()
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private let stopRequested = Atomic<Bool>(false)
    private var locals: [ObjectIdentifier: AnyObject] = [:]
    /// Monotonic time (ns) when the loop last woke up: a clock read once per turn, for coarse deadlines.
    public private(set) var turnTime: UInt64 = Reactor.now()

    /// The reactor running on the calling thread, if any.
    public static var current: Reactor? {
        guard let p = cep_thread_slot_get() else { return nil }
        return Unmanaged<Reactor>.fromOpaque(p).takeUnretainedValue()
    }

    public init() throws(SystemError) {
        let ep = cep_epoll_create()
        guard ep >= 0 else { throw SystemError("epoll_create1", code: ep) }
        let ev = cep_eventfd()
        guard ev >= 0 else { _ = cep_close(ep); throw SystemError("eventfd", code: ev) }
        epollFD = ep
        wakeFD = ev
        try register(fd: ev, events: .readable) { [unowned self] _ in
            cep_eventfd_drain(self.wakeFD)
            self.runInbox()
        }
    }

    deinit {
        _ = cep_close(wakeFD)
        _ = cep_close(epollFD)
    }

    /// Monotonic time in nanoseconds.
    public static func now() -> UInt64 { cep_monotonic_ns() }

    // MARK: file descriptors

    public func register(fd: Int32, events: IOEvents, handler: @escaping IOHandler) throws(SystemError) {
        let i = Int(fd)
        if i >= handlers.count {
            let n = Swift.max(i + 1, handlers.count * 2, 64)
            handlers.append(contentsOf: repeatElement(nil, count: n - handlers.count))
            generations.append(contentsOf: repeatElement(0, count: n - generations.count))
        }
        generations[i] &+= 1
        handlers[i] = handler
        let r = cep_epoll_ctl_add(epollFD, fd, events.rawValue, token(fd))
        if r < 0 { handlers[i] = nil; throw SystemError("epoll_ctl(ADD)", code: r) }
    }

    public func modify(fd: Int32, events: IOEvents) {
        _ = cep_epoll_ctl_mod(epollFD, fd, events.rawValue, token(fd))
    }

    /// Stops watching `fd`; events already collected for it in this turn are dropped.
    public func unregister(fd: Int32) {
        _ = cep_epoll_ctl_del(epollFD, fd)
        let i = Int(fd)
        if i < handlers.count { handlers[i] = nil; generations[i] &+= 1 }
    }

    private func token(_ fd: Int32) -> UInt64 { UInt64(UInt32(bitPattern: fd)) | UInt64(generations[Int(fd)]) << 32 }

    // MARK: timers

    @discardableResult
    public func schedule(afterMilliseconds ms: Int, _ body: @escaping () -> Void) -> TimerID {
        let id = nextTimerID
        nextTimerID += 1
        timers.push(.init(deadline: Reactor.now() + UInt64(Swift.max(ms, 0)) * 1_000_000, id: id, body: body))
        return TimerID(value: id)
    }

    public func cancel(_ timer: TimerID) {
        if timers.contains(id: timer.value) { cancelledTimers.insert(timer.value) }
    }

    /// Runs `body` every `ms` milliseconds until the reactor stops.
    public func every(milliseconds ms: Int, _ body: @escaping () -> Void) {
        schedule(afterMilliseconds: ms) { [weak self] in
            body()
            self?.every(milliseconds: ms, body)
        }
    }

    /// The reactor's own instance of `T` (an HTTP client, a cache), made on first use. Call on the
    /// reactor's thread.
    public func local<T: AnyObject>(_ type: T.Type, make: () throws -> T) rethrows -> T {
        if let existing = locals[ObjectIdentifier(type)] { return existing as! T }
        let made = try make()
        locals[ObjectIdentifier(type)] = made
        return made
    }

    // MARK: cross-thread

    /// Runs `body` on the reactor's thread soon; callable from any thread.
    public func execute(_ body: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(body) }
        _ = cep_eventfd_signal(wakeFD)
    }

    /// Asks the loop to return from `run()` after the current turn; callable from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        _ = cep_eventfd_signal(wakeFD)
    }

    private func runInbox() {
        let jobs = inbox.withLock { q -> [@Sendable () -> Void] in let j = q; q.removeAll(); return j }
        for job in jobs { job() }
    }

    // MARK: the loop

    public func run() {
        cep_thread_slot_set(Unmanaged.passUnretained(self).toOpaque())
        defer { cep_thread_slot_set(nil) }
        var events = [cep_event](repeating: cep_event(), count: 256)
        while !stopRequested.load(ordering: .acquiring) {
            let n = events.withUnsafeMutableBufferPointer { cep_epoll_wait(epollFD, $0.baseAddress, 256, waitTimeout()) }
            turnTime = Reactor.now()
            if n > 0 {
                for k in 0..<Int(n) {
                    let e = events[k]
                    let fd = Int(UInt32(truncatingIfNeeded: e.data))
                    let gen = UInt32(truncatingIfNeeded: e.data >> 32)
                    guard fd < handlers.count, generations[fd] == gen, let h = handlers[fd] else { continue }
                    h(IOEvents(rawValue: e.events))
                }
            }
            runDueTimers()
        }
        stopRequested.store(false, ordering: .relaxed)
    }

    private func waitTimeout() -> Int32 {
        guard let first = timers.peekDeadline() else { return -1 }
        let now = Reactor.now()
        if first <= now { return 0 }
        return Int32(clamping: (first - now + 999_999) / 1_000_000)
    }

    private func runDueTimers() {
        let now = turnTime
        while let d = timers.peekDeadline(), d <= now {
            let t = timers.pop()!
            if cancelledTimers.remove(t.id) != nil { continue }
            t.body()
        }
    }
}

/// A min-heap of timers by deadline.
private struct TimerHeap {
    struct Entry { let deadline: UInt64; let id: UInt64; let body: () -> Void }
    private var items: [Entry] = []
    private var ids = Set<UInt64>()

    func peekDeadline() -> UInt64? { items.first?.deadline }
    func contains(id: UInt64) -> Bool { ids.contains(id) }

    mutating func push(_ e: Entry) {
        ids.insert(e.id)
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[p].deadline <= items[i].deadline { break }
            items.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        ids.remove(top.id)
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].deadline < items[m].deadline { m = l }
                if r < items.count && items[r].deadline < items[m].deadline { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// A failed system call, with its errno.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public init(_ call: String, code: Int32) { self.call = call; self.code = code < 0 ? -code : code }
    public var description: String { "\(call): \(String(errno: code))" }
}
