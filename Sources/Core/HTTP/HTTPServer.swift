// The HTTP/1.1 server: one reactor thread per configured thread, each accepting on its own
// SO_REUSEPORT socket; graceful drain on demand or on SIGTERM/SIGINT.
import CEpoll
import Synchronization

// @unchecked: configuration is immutable after init; per-reactor state lives in ServerLoops confined
// to their threads, and the cross-thread bits (loops list, drain counter) are behind a Mutex.
public final class HTTPServer: @unchecked Sendable {
    public let config: HTTPServerConfiguration
    public let router: Router
    public let logger: Logger
    public let metrics: ServerMetrics
    public let serverName: String
    public private(set) var port = 0

    private let reactors: [Reactor]
    private var listenFDs: [Int32] = []
    private let loops = Mutex<[ServerLoop]>([])
    private let finished = Mutex<Int>(0)
    private let draining = Atomic<Bool>(false)
    /// When set (before `run`), SIGTERM/SIGINT call it on the main reactor instead of beginning the
    /// drain at once: a service with work of its own to wind down calls `beginDrain` when that is done.
    public var onTerminationSignal: ((Int32) -> Void)?
    /// When set (before `run`), SIGHUP calls it on the main reactor (re-reading a settings file);
    /// unset, SIGHUP keeps its default action.
    public var onHangupSignal: (() -> Void)?

    /// Creates the reactors and binds the listening sockets (so `port` is known before `run`).
    public init(config: HTTPServerConfiguration, router: Router, logger: Logger, metrics: ServerMetrics = ServerMetrics()) throws(SystemError) {
        self.config = config
        self.router = router
        self.logger = logger
        self.metrics = metrics
        self.serverName = config.serverName
        var rs: [Reactor] = []
        for _ in 0..<Swift.max(1, config.threads) { rs.append(try Reactor()) }
        reactors = rs
        var p = Int32(config.port)
        for i in 0..<rs.count {
            var bound: Int32 = 0
            let fd = cep_listen_tcp(config.host, p, 1024, 1, &bound)
            if fd < 0 {
                for f in listenFDs { _ = cep_close(f) }
                throw SystemError("listen on \(config.host ?? "*"):\(p)", code: fd)
            }
            listenFDs.append(fd)
            if i == 0 { p = bound; port = Int(bound) }
        }
    }

    /// The reactor that runs on the calling thread in `run()` (the first one).
    public var mainReactor: Reactor { reactors[0] }

    /// Serves until a drain completes: reactor 0 runs on the calling thread, the others on threads
    /// started here. When `handleSignals` is set, SIGTERM/SIGINT begin a graceful drain.
    public func run(handleSignals: Bool = true) throws(SystemError) {
        if handleSignals {
            try TerminationSignals.watch(on: reactors[0]) { [unowned self] sig in
                if let handler = self.onTerminationSignal { return handler(sig) }
                self.logger.info("signal received; draining", [("signal", .int(Int(sig)))])
                self.beginDrain()
            }
            if let hangup = onHangupSignal { try HangupSignal.watch(on: reactors[0], handler: hangup) }
        }
        var threads: [JoinableThread] = []
        for (i, r) in reactors.enumerated() {
            let fd = listenFDs[i]
            let setup: @Sendable () -> Void = { [unowned self] in
                do {
                    let loop = try ServerLoop(reactor: r, server: self, listenFD: fd)
                    self.loops.withLock { $0.append(loop) }
                } catch {
                    self.logger.error("cannot start server loop", [("error", .string("\(error)"))])
                }
            }
            if i == 0 { setup(); continue }
            threads.append(JoinableThread.start(name: "reactor-\(i)") { setup(); r.run() })
        }
        reactors[0].run()
        // Reactor 0 returns once every loop has drained; the others stop at the same moment.
        for t in threads { t.join() }
    }

    /// Stops accepting and lets in-flight requests finish (up to the drain timeout); `run()`
    /// returns when every connection has closed. Callable from any thread.
    public func beginDrain() {
        guard !draining.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for r in reactors {
            r.execute { [unowned self] in
                let loop = self.loops.withLock { $0.first { $0.reactor === r } }
                guard let loop else { self.loopFinished(r); return }
                loop.beginDrain { [unowned self] in self.loopFinished(r) }
            }
        }
    }

    private func loopFinished(_ r: Reactor) {
        let n = finished.withLock { $0 += 1; return $0 }
        if n == reactors.count {
            for other in reactors where other !== reactors[0] { other.stop() }
            reactors[0].stop()
        }
    }
}
