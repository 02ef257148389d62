// The operations of the service: at most MAX_ACTIVE_OPERATIONS scanning (one image, one worker process at
// a time each), the rest waiting FIFO up to MAX_QUEUED_OPERATIONS; duplicate request ids; cancel; the
// SIGTERM drain that reports every unfinished image before the service stops.
import Core

// @unchecked: every property is touched on `reactor`'s thread only (the service's main reactor);
// handlers on other reactors hop there with `reactor.execute`.
final class OperationScheduler: @unchecked Sendable {
    enum Admission {
        case accepted(operationId: String, duplicate: Bool)
        case queueFull(retryAfterSeconds: Int)
        case draining
    }

    /// A request id is remembered this long and at most this many of them (the broker client retries).
    static let requestIdLifetimeNanoseconds: UInt64 = 600 * 1_000_000_000
    static let maxRequestIds = 10_000
    /// Ended operations GET /operations/<id> still answers for, and the images they may hold together
    /// (so what the service remembers does not grow with the images it scans).
    static let maxEndedOperations = 1000
    static let maxEndedImages = 20_000

    let reactor: Reactor
    let settings: OperationSettings
    let environment: Environment
    let logger: Logger
    let metrics: OperationMetrics
    private var operations: [String: Operation] = [:]
    private var ended: [String] = []
    private var endedImages = 0
    private var queue: [Operation] = []
    private var running: [Operation] = []
    private var requestIds: [String: (operationId: String, at: UInt64)] = [:]
    private var requestIdOrder: [String] = []
    /// Seconds the last images took, for Retry-After.
    private var recentDurations: [Double] = []
    private var sender: CallbackSender?
    private(set) var draining = false
    private var doneCallbacksPending = 0
    private var drained: (() -> Void)?
    /// Published by the callback sender (created with the first operation), rendered by /metrics.
    private let callbackMetrics: CallbackMetrics

    init(reactor: Reactor, settings: OperationSettings, environment: Environment, logger: Logger, metrics: OperationMetrics,
         callbackMetrics: CallbackMetrics = CallbackMetrics()) {
        self.reactor = reactor
        self.callbackMetrics = callbackMetrics
        self.settings = settings
        self.environment = environment
        self.logger = logger
        self.metrics = metrics
    }

    private var callbacks: CallbackSender? {
        if sender == nil {
            do { sender = try CallbackSender(reactor: reactor, environment: environment, logger: logger, metrics: callbackMetrics) } catch {
                logger.error("cannot start the callback sender", [("error", .string("\(error)"))])
            }
        }
        return sender
    }

    var queueFull: Bool { running.count >= settings.maxActive && queue.count >= settings.maxQueued }

    // MARK: requests

    func submit(kind: OperationKind, target: CallbackTarget, requestId: String?, credentials: String?, registryBase: String?,
                platform: Platform, images: [(name: String, reference: String)]) -> Admission {
        forgetOldRequestIds()
        if let requestId, let known = requestIds[requestId] {
            logger.info("duplicate request id; no new operation", [("operation", .string(known.operationId)), ("requestId", .string(requestId))])
            return .accepted(operationId: known.operationId, duplicate: true)
        }
        if draining { metrics.rejected("draining"); return .draining }
        if queueFull { metrics.rejected("queue_full"); return .queueFull(retryAfterSeconds: retryAfterSeconds()) }
        let op = Operation(id: UUIDString.random(), kind: kind, target: target, requestId: requestId, credentials: credentials,
                           registryBase: registryBase, platform: platform, images: images)
        operations[op.id] = op
        if let requestId {
            requestIds[requestId] = (op.id, Reactor.now())
            requestIdOrder.append(requestId)
        }
        queue.append(op)
        logger.info("operation accepted", [("operation", .string(op.id)), ("kind", .string(kind.rawValue)),
                                           ("images", .int(images.count)), ("queued", .int(queue.count))])
        startWaiting()
        return .accepted(operationId: op.id, duplicate: false)
    }

    func status(_ id: String) -> JSON? { operations[id]?.json }

    /// Cancels an operation: a queued one ends at once; a running one's worker is stopped. Every
    /// unfinished image gets a CANCELLED failure, then `done`. nil: no such operation.
    func cancel(_ id: String) -> JSON? {
        guard let op = operations[id] else { return nil }
        guard op.state != .done, op.endedBy == nil else { return op.json }
        logger.info("operation cancelled", [("operation", .string(id))])
        stop(op, reason: "cancelled", code: "CANCELLED", message: "the operation was cancelled (DELETE /operations/\(id)) before this image was scanned",
             runningMessage: "the operation was cancelled (DELETE /operations/\(id)) while this image was scanned; its worker was stopped")
        return op.json
    }

    /// Seconds until a queue place is likely to free: the images left in the running operation closest to
    /// its end, times the mean of the recent image durations; at least 1.
    func retryAfterSeconds() -> Int {
        let mean = recentDurations.isEmpty ? 10 : recentDurations.reduce(0, +) / Double(recentDurations.count)
        let left = running.map(\.remainingImages).min() ?? 1
        return max(1, Int((mean * Double(max(1, left))).rounded(.up)))
    }

    // MARK: drain

    /// SIGTERM: no new work; queued operations end now; running scans go on up to `timeout` (or a second
    /// signal), then their workers are killed. Every unfinished image gets a SHUTDOWN failure and every operation its `done`;
    /// `then` runs once those are delivered (or 15 s after the timeout at the latest).
    func beginDrain(timeoutMilliseconds timeout: Int, then: @escaping () -> Void) {
        guard !draining else {
            // A second signal: the operator means now.
            for op in running { op.current?.worker.kill(code: "SHUTDOWN", message: "the agent was stopped (a second signal) before the scan finished") }
            return
        }
        draining = true
        drained = then
        let message = "the agent is shutting down (SIGTERM); this image was not scanned"
        for op in queue + running {
            stop(op, reason: "shutdown", code: "SHUTDOWN", message: message, runningMessage: nil)
        }
        logger.info("draining operations", [("running", .int(running.count)), ("timeoutMs", .int(timeout))])
        reactor.schedule(afterMilliseconds: timeout) { [self] in
            for op in running {
                op.current?.worker.kill(code: "SHUTDOWN", message: "the agent shut down (SIGTERM) before the scan finished (SHUTDOWN_TIMEOUT_MS=\(timeout))")
            }
        }
        reactor.schedule(afterMilliseconds: timeout + 15_000) { [self] in
            if drained != nil { logger.warn("operations' callbacks still pending at shutdown", [("pending", .int(doneCallbacksPending))]) }
            finishDrain(force: true)
        }
        finishDrain(force: false)
    }

    private func finishDrain(force: Bool) {
        guard draining, let d = drained, force || (running.isEmpty && queue.isEmpty && doneCallbacksPending == 0) else { return }
        drained = nil
        d()
    }

    // MARK: running

    private func startWaiting() {
        while !draining && running.count < settings.maxActive && !queue.isEmpty {
            let op = queue.removeFirst()
            op.state = .running
            running.append(op)
            logger.info("operation started", [("operation", .string(op.id))])
            scanNext(op)
        }
        metrics.gauges(queued: queue.count, running: running.count)
    }

    /// Ends `op` early: its queued images fail with `code`, its running worker is killed (unless
    /// `runningMessage` is nil: a drain lets it finish), and a queued operation ends at once.
    private func stop(_ op: Operation, reason: String, code: String, message: String, runningMessage: String?) {
        op.endedBy = reason
        for i in op.images.indices where op.images[i].state == .queued { record(op, i, .failed(code: code, message: message), stats: nil, crashed: false) }
        if let current = op.current {
            if let runningMessage { current.worker.kill(code: code, message: runningMessage) }
        } else if op.state != .done {
            finish(op)
        }
    }

    private func scanNext(_ op: Operation) {
        guard op.endedBy == nil, !draining, let i = op.nextQueuedImage else { return finish(op) }
        op.images[i].state = .running
        op.images[i].startedAt = Reactor.now()
        let job = ScanWorkerJob(operationId: op.id, image: op.images[i].reference, registryBase: op.registryBase,
                                credentials: op.credentials, platform: op.platform,
                                scanTimeoutMilliseconds: settings.scanTimeoutMilliseconds, maxImageBytes: settings.maxImageBytes,
                                cacheDirectory: settings.cacheDirectory, cacheMaxBytes: settings.cacheMaxBytes)
        let limits = ScanWorker.Limits(deadlineMilliseconds: settings.scanTimeoutMilliseconds + 5000,
                                       maxResidentBytes: settings.workerMaxResidentBytes)
        let started = ScanWorker.start(job: job, environment: environment, limits: limits, reactor: reactor) { [self, weak op] (outcome: ImageOutcome, stats: ScanWorkerStats?, crashed: Bool) in
            guard let op else { return }
            op.current = nil
            record(op, i, outcome, stats: stats, crashed: crashed)
            // The next image starts from a fresh turn of the loop, not from inside this worker's end.
            reactor.schedule(afterMilliseconds: 0) { [self] in scanNext(op) }
        }
        switch started {
        case .success(let worker):
            op.current = (i, worker)
            logger.debug("scan worker started", [("operation", .string(op.id)), ("image", .string(op.images[i].name)), ("pid", .int(Int(worker.pid)))])
        case .failure(let why):
            record(op, i, .failed(code: "WORKER_CRASHED", message: why.message), stats: nil, crashed: true)
            reactor.schedule(afterMilliseconds: 0) { [self] in scanNext(op) }
        }
    }

    private func record(_ op: Operation, _ i: Int, _ outcome: ImageOutcome, stats: ScanWorkerStats?, crashed: Bool) {
        var seconds: Double?
        switch outcome {
        case .scanned:
            op.images[i].state = .scanned
            op.images[i].packages = stats?.packages
        case .failed(let code, let message):
            op.images[i].state = .failed
            op.images[i].code = code
            op.images[i].message = message
        }
        if let startedAt = op.images[i].startedAt {
            let s = Double(Reactor.now() - startedAt) / 1e9
            seconds = s
            op.images[i].durationMilliseconds = Int(s * 1000)
            recentDurations.append(s)
            if recentDurations.count > 20 { recentDurations.removeFirst() }
        }
        metrics.imageFinished(outcome, seconds: seconds, stats: stats, workerRestarted: crashed)
        var fields: [(String, JSON)] = [("operation", .string(op.id)), ("image", .string(op.images[i].name)),
                                        ("outcome", .string(OperationMetrics.outcomeLabel(outcome)))]
        if case .failed(let code, let message) = outcome { fields += [("code", .string(code)), ("error", .string(message))] }
        logger.info("image finished", fields)
        callbacks?.imageFinished(operationId: op.id, kind: op.kind, target: op.target, image: op.images[i].name, outcome: outcome)
    }

    private func finish(_ op: Operation) {
        guard op.state != .done else { return }
        op.state = .done
        op.credentials = nil
        running.removeAll { $0 === op }
        queue.removeAll { $0 === op }
        let summary = op.summary
        metrics.operationEnded(op.endedBy ?? "completed")
        logger.info("operation done", [("operation", .string(op.id)), ("scanned", .int(summary.scanned)), ("failed", .int(summary.failed)),
                                       ("endedBy", op.endedBy.map { .string($0) } ?? .null)])
        doneCallbacksPending += 1
        if let sender = callbacks {
            sender.operationDone(operationId: op.id, kind: op.kind, target: op.target, summary: summary) { [self] in
                doneCallbacksPending -= 1
                finishDrain(force: false)
            }
        } else {
            doneCallbacksPending -= 1
        }
        ended.append(op.id)
        endedImages += op.images.count
        while ended.count > 1 && (ended.count > Self.maxEndedOperations || endedImages > Self.maxEndedImages) {
            let oldest = ended.removeFirst()
            endedImages -= operations[oldest]?.images.count ?? 0
            operations[oldest] = nil
        }
        startWaiting()
        finishDrain(force: false)
    }

    private func forgetOldRequestIds() {
        let now = Reactor.now()
        while let first = requestIdOrder.first,
              requestIdOrder.count > Self.maxRequestIds || (requestIds[first].map { now - $0.at > Self.requestIdLifetimeNanoseconds } ?? true) {
            requestIdOrder.removeFirst()
            requestIds[first] = nil
        }
    }
}
