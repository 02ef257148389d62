// Delivers an operation's callbacks: each image's result, then the operation's end, POSTed to its
// target with the triggering request's headers, retried with backoff.
import Core

final class CallbackSender {
    let reactor: Reactor
    let environment: Environment
    let logger: Logger
    let settings: CallbackSettings
    private(set) var stats = CallbackStats() { didSet { metrics.publish(stats) } }
    /// The counters for /metrics, readable from any thread.
    let metrics: CallbackMetrics

    private let client: HTTPClient
    private let schedule: RetrySchedule
    private var queues: [String: TargetQueue] = [:]
    private var sequence = 0
    /// Per operation, results that never reached the receiver (dropped or given up), for its done body.
    private var undelivered: [String: Int] = [:]
    /// Per operation, results sent as RESULT_TOO_LARGE although the operation counted them scanned.
    private var refusedResults: [String: [(String, String, String)]] = [:]
    /// Set by `abandonAll`: what is queued afterwards is given up at once with this reason.
    private var abandonedBecause: String?

    /// Fails when a CALLBACK_* setting is out of range (the message names it) or libcurl cannot start.
    init(reactor: Reactor, environment: Environment, logger: Logger, metrics: CallbackMetrics = CallbackMetrics()) throws(HTTPClientError) {
        self.reactor = reactor
        self.metrics = metrics
        self.environment = environment
        self.logger = logger
        do {
            settings = try CallbackSettings(environment: environment)
        } catch {
            throw HTTPClientError(.configuration, error.description)
        }
        schedule = settings.retrySchedule
        client = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(
            environment: environment.values, userAgent: "cr-agent/\(ProductVersion.current)"))
    }

    deinit { client.cancelAll() }

    // MARK: queueing

    /// Queues one image's result for delivery (on `reactor`; called from another thread, it hops there).
    func imageFinished(operationId: String, kind: OperationKind, target: CallbackTarget, image: String, outcome: ImageOutcome) {
        guard Reactor.current === reactor else {
            onReactor { $0.imageFinished(operationId: operationId, kind: kind, target: target, image: image, outcome: outcome) }
            return
        }
        let requestId = target.copiedHeaders.first { $0.0 == "snyk-request-id" }?.1
        var outcome = outcome
        if case .scanned(let result, _) = outcome, !Self.looksLikeJSONObject(result) {
            // Embedded as is, anything but an object would break the whole body; a full parse of up to
            // 10 MiB is the fitting code's job (CallbackPayloads.outcome), not the reactor's.
            outcome = .failed(code: "RESULT_INVALID", message: "the scan result handed to the callback is not a JSON object; this is a bug in the agent")
            refusedResults[operationId, default: []].append((image, "RESULT_INVALID", "the scan result is not a JSON object"))
        }
        var body = CallbackPayloads.resultBody(operationId: operationId, image: image, requestId: requestId, outcome: outcome)
        if body.count > CallbackPayloads.maxBodyBytes {
            // Whoever built the outcome did not fit it: the dep-graph is never cut, so the image fails.
            let size = body.count
            let message = "the callback body is \(size) bytes, over the broker client's \(CallbackPayloads.maxBodyBytes)-byte limit, "
                + "and the scan result was not cut to fit; dep-graphs are never cut, so the result is not sent"
            body = CallbackPayloads.resultBody(operationId: operationId, image: image, requestId: requestId,
                                               outcome: .failed(code: "RESULT_TOO_LARGE", message: message))
            stats.tooLarge += 1
            if case .scanned = outcome { refusedResults[operationId, default: []].append((image, "RESULT_TOO_LARGE", message)) }
            logger.error("scan result too large for a callback", [("operationId", .string(operationId)), ("image", .string(image)),
                                                                  ("bytes", .int(size))])
        }
        enqueue(PendingCallback(sequence: nextSequence(), operationId: operationId, image: image,
                                url: target.base + Self.resultPath(kind), copiedHeaders: target.copiedHeaders,
                                requestId: requestId, body: body, summary: nil, delivered: nil), base: target.base)
    }

    /// Queues the operation's end after its results; `delivered` runs once it is delivered or given up.
    func operationDone(operationId: String, kind: OperationKind, target: CallbackTarget, summary: OperationSummary,
                       delivered: @escaping () -> Void) {
        guard Reactor.current === reactor else {
            let box = UncheckedBox(delivered)
            onReactor { $0.operationDone(operationId: operationId, kind: kind, target: target, summary: summary, delivered: box.value) }
            return
        }
        let requestId = target.copiedHeaders.first { $0.0 == "snyk-request-id" }?.1
        let body = CallbackPayloads.doneBody(operationId: operationId, requestId: requestId, summary: summary, undelivered: 0)
        enqueue(PendingCallback(sequence: nextSequence(), operationId: operationId, image: nil,
                                url: target.base + Self.donePath, copiedHeaders: target.copiedHeaders,
                                requestId: requestId, body: body, summary: summary, delivered: delivered), base: target.base)
    }

    /// Callbacks not yet delivered or given up.
    var pendingCount: Int { stats.queuedItems }

    /// Gives up every waiting callback now, and any queued later (each logged with `reason` and
    /// counted; each end's `delivered` runs): for a shutdown whose time is up while a receiver is away.
    func abandonAll(reason: String) {
        guard Reactor.current === reactor else {
            onReactor { $0.abandonAll(reason: reason) }
            return
        }
        abandonedBecause = reason
        for queue in Array(queues.values) {
            if let timer = queue.retryTimer { reactor.cancel(timer) }
            queue.retryTimer = nil
            queue.inFlight?.cancel()
            queue.inFlight = nil
            for item in queue.items { giveUp(item, on: queue, reason: reason) }
        }
        queues.removeAll()
    }

    /// Runs `body` with this sender on its reactor's thread. The sender is confined to that thread;
    /// the box only carries the reference across, it is never used on the calling thread.
    private func onReactor(_ body: @escaping (CallbackSender) -> Void) {
        let box = UncheckedBox((self, body))
        reactor.execute { box.value.1(box.value.0) }
    }

    private func nextSequence() -> Int {
        sequence += 1
        return sequence
    }

    private func enqueue(_ item: PendingCallback, base: String) {
        stats.queued += 1
        if let reason = abandonedBecause {
            giveUp(item, on: nil, reason: reason)
            return
        }
        // Room first: the oldest results that are not being sent make way, never an operation's end.
        while stats.queuedItems + 1 > settings.queueMaxItems || stats.queuedBytes + item.body.count > settings.queueMaxBytes {
            guard let (queue, index) = oldestDroppable() else { break }
            drop(queue.items[index], reason: "the callback queue is full")
            remove(at: index, from: queue)
        }
        let fits = stats.queuedItems + 1 <= settings.queueMaxItems && stats.queuedBytes + item.body.count <= settings.queueMaxBytes
        if !fits && !item.isDone {
            drop(item, reason: "the callback queue is full and every callback in it is being sent")
            return
        }
        let queue = queues[base] ?? {
            let q = TargetQueue(base: base)
            queues[base] = q
            return q
        }()
        queue.items.append(item)
        stats.queuedItems += 1
        stats.queuedBytes += item.body.count
        stats.maxQueuedItems = max(stats.maxQueuedItems, stats.queuedItems)
        stats.maxQueuedBytes = max(stats.maxQueuedBytes, stats.queuedBytes)
        pump(queue)
    }

    private func oldestDroppable() -> (TargetQueue, Int)? {
        var best: (TargetQueue, Int)?
        for q in queues.values {
            let start = q.headIsActive ? 1 : 0
            guard let i = q.items.indices.dropFirst(start).first(where: { !q.items[$0].isDone }) else { continue }
            if best == nil || q.items[i].sequence < best!.0.items[best!.1].sequence { best = (q, i) }
        }
        return best
    }

    private func drop(_ item: PendingCallback, reason: String) {
        stats.dropped += 1
        let count = (undelivered[item.operationId] ?? 0) + 1
        undelivered[item.operationId] = count
        // A receiver that never answers could make this every result: the first of an operation and
        // every 100th after it are logged, each with the running count; the done body has the total.
        if count == 1 || count % 100 == 0 {
            logger.error("callback dropped: \(reason)", fields(item) + [("undeliveredInOperation", .int(count)),
                                                                       ("queuedItems", .int(stats.queuedItems)), ("queuedBytes", .int(stats.queuedBytes))])
        }
    }

    private func remove(at index: Int, from queue: TargetQueue) {
        let item = queue.items.remove(at: index)
        stats.queuedItems -= 1
        stats.queuedBytes -= item.body.count
        if queue.items.isEmpty && queue.inFlight == nil && queue.retryTimer == nil { queues[queue.base] = nil }
    }

    // MARK: delivery

    private func pump(_ queue: TargetQueue) {
        guard queue.inFlight == nil, queue.retryTimer == nil, let item = queue.items.first else { return }
        if let summary = item.summary, item.attempts == 0 {
            // The end goes out last on its target, so every result's fate is known now.
            var s = summary
            if let refused = refusedResults.removeValue(forKey: item.operationId) {
                s.scanned = max(0, s.scanned - refused.count)
                s.failed += refused.count
                s.errors += refused
            }
            let fresh = CallbackPayloads.doneBody(operationId: item.operationId, requestId: item.requestId, summary: s,
                                                  undelivered: undelivered.removeValue(forKey: item.operationId) ?? 0)
            stats.queuedBytes += fresh.count - item.body.count
            item.body = fresh
        }
        send(item, on: queue)
    }

    private func send(_ item: PendingCallback, on queue: TargetQueue) {
        item.attempts += 1
        if item.firstAttemptAt == nil { item.firstAttemptAt = Reactor.now() }
        var headers = HTTPHeaders()
        headers.set("Content-Type", "application/json")
        for (name, value) in item.copiedHeaders { headers.set(name, value) }
        let request = ClientRequest(method: "POST", url: item.url, headers: headers, body: .bytes(item.body),
                                    timeouts: ClientTimeouts(connect: min(10_000, settings.attemptTimeoutMs), total: settings.attemptTimeoutMs),
                                    redirects: .none, connectFilter: AddressPolicy.connectFilter)
        var retryAfter: String?
        queue.inFlight = client.start(request, onHead: { head in retryAfter = head.headers["Retry-After"] },
                                      onBody: { _ in .continue },
                                      onComplete: { [weak self, weak queue] result in
            guard let self, let queue else { return }
            queue.inFlight = nil
            self.finished(item, on: queue, result, retryAfter: retryAfter)
        })
    }

    private func finished(_ item: PendingCallback, on queue: TargetQueue, _ result: Result<ClientTransferSummary, HTTPClientError>, retryAfter: String?) {
        switch result {
        case .success(let summary):
            let status = summary.head.status
            if (200...299).contains(status) {
                stats.delivered += 1
                if item.isDone {
                    logger.info("operation's end delivered", fields(item) + [("status", .int(status)), ("attempt", .int(item.attempts))])
                } else {
                    logger.debug("callback delivered", fields(item) + [("status", .int(status)), ("attempt", .int(item.attempts))])
                }
                complete(item, on: queue)
            } else if status == 408 || status == 429 || (500...599).contains(status) {
                retry(item, on: queue, reason: "the receiver answered HTTP \(status)",
                      retryAfter: status == 429 || status == 503 ? retryAfter : nil)
            } else {
                giveUp(item, on: queue, reason: "the receiver answered HTTP \(status), which is not retried")
            }
        case .failure(let error):
            switch error.kind {
            case .cancelled: return
            case .refused, .configuration: giveUp(item, on: queue, reason: Redaction.scrub(error.description))
            default: retry(item, on: queue, reason: Redaction.scrub(error.description), retryAfter: nil)
            }
        }
    }

    private func retry(_ item: PendingCallback, on queue: TargetQueue, reason: String, retryAfter: String?) {
        let elapsedMs = Int((Reactor.now() &- (item.firstAttemptAt ?? Reactor.now())) / 1_000_000)
        guard let delay = schedule.delayMs(afterAttempt: item.attempts, retryAfter: retryAfter) else {
            giveUp(item, on: queue, reason: "\(reason); \(item.attempts) attempts made")
            return
        }
        guard elapsedMs + delay <= settings.giveUpMs else {
            giveUp(item, on: queue, reason: "\(reason); retrying would pass CALLBACK_GIVE_UP_MS (\(settings.giveUpMs) ms)")
            return
        }
        stats.retries += 1
        if case .seconds = RetrySchedule.parseRetryAfter(retryAfter) { stats.retryAfterHonoured += 1 }
        stats.longestRetryDelayMs = max(stats.longestRetryDelayMs, delay)
        logger.warn("callback failed, retrying", fields(item) + [("reason", .string(reason)), ("attempt", .int(item.attempts)),
                                                                 ("retryInMs", .int(delay))])
        queue.retryTimer = reactor.schedule(afterMilliseconds: delay) { [weak self, weak queue] in
            guard let self, let queue else { return }
            queue.retryTimer = nil
            self.pump(queue)
        }
    }

    private func giveUp(_ item: PendingCallback, on queue: TargetQueue?, reason: String) {
        stats.givenUp += 1
        if !item.isDone { undelivered[item.operationId, default: 0] += 1 }
        if item.isDone {
            undelivered[item.operationId] = nil
            refusedResults[item.operationId] = nil
        }
        logger.error("callback given up", fields(item) + [("reason", .string(reason)), ("attempts", .int(item.attempts))])
        complete(item, on: queue)
    }

    /// Takes the head off its queue (delivered or given up) and starts the next.
    private func complete(_ item: PendingCallback, on queue: TargetQueue?) {
        if let queue, let i = queue.items.firstIndex(where: { $0 === item }) { remove(at: i, from: queue) }
        item.delivered?()
        if let queue, abandonedBecause == nil, queues[queue.base] === queue { pump(queue) }
    }

    /// Log fields of a callback: never its body or headers (the connection identifier stays out too).
    private func fields(_ item: PendingCallback) -> [(String, JSON)] {
        var f: [(String, JSON)] = [("operationId", .string(item.operationId)), ("callback", .string(item.isDone ? "done" : "result")),
                                   ("url", .string(item.url))]
        if let image = item.image { f.append(("image", .string(image))) }
        return f
    }
}

/// Carries a value to the reactor's thread in `CallbackSender.onReactor`.
// @unchecked: the value is handed over once and used only on the receiving thread.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
