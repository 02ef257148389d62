// `broker client`: two tunnel sockets to the server, the requests they bring carried to the agent, and
// the local server on PORT (the agent's callbacks, /healthcheck, /systemcheck, /metrics). Everything runs
// on one reactor: the local HTTP server's (one thread), where the sockets and the libcurl client live too.
import Core

// @unchecked: all mutable state is touched only on `reactor`'s thread (the local server runs one thread,
// and every socket, timer and HTTP completion is delivered there); `attach` runs before that thread starts.
public final class BrokerClient: @unchecked Sendable {
    public let settings: BrokerClientSettings
    /// CR_AGENT_URL's scheme, host and port, parsed once: the one origin that gets CR_CREDENTIALS.
    private(set) lazy var agentOrigin = OriginIdentity(url: settings.agentURL)
    public let logger: Logger
    public let metrics = ClientMetrics()
    /// One id per process, sent on both sockets (x-snyk-broker-client-id, identify's clientId).
    public let clientId = BrokerClient.newUUID()
    let dialer: TunnelDialer
    /// Wait before retrying a failed request to the agent (snyk: 500 ms); tests shorten it.
    public var downstreamRetryDelayMilliseconds = 500
    /// How long an agent callback waits for the server's answer (snyk's client: 600 s).
    public var callbackTimeoutMilliseconds = 600_000
    /// Callback body bytes being received now (ClientRoutes.maxCallbackBytesHeld bounds it); reactor only.
    public internal(set) var callbackBytesHeld = 0
    /// Runs a closure after a delay on the reactor; tests replace it to fire reconnects without sleeping.
    public var scheduler: ((Int, @escaping () -> Void) -> Void)?
    /// The jitter source of the reconnect backoff (0..<1).
    public var random: () -> Double = { Double.random(in: 0..<1) }

    private(set) var reactor: Reactor!
    private(set) var http: HTTPClient!
    private(set) var slots: [TunnelSlot] = []
    private var calls: [ObjectIdentifier: DownstreamCall] = [:]
    /// Requests past settings.maxConcurrentRequests, in arrival order (`queueHead` is the next to run).
    private var queued: [DownstreamCall] = []
    private var queueHead = 0
    private var queuedBodyBytes = 0

    public init(settings: BrokerClientSettings, logger: Logger, dialer: @escaping TunnelDialer) {
        self.settings = settings
        self.logger = logger
        self.dialer = dialer
        BrokerClient.registerSecrets(settings)
    }

    /// Takes the reactor the client runs on and opens both sockets (call on that reactor's thread, or
    /// before it runs).
    public func attach(reactor: Reactor, httpConfiguration: HTTPClientConfiguration) throws(HTTPClientError) {
        self.reactor = reactor
        // Every running request may end with an idle connection to the agent and one to the server (an
        // upload): keep them all, or most requests pay a connect and a close (the default keeps 16).
        var configuration = httpConfiguration
        configuration.maxCachedConnections = max(configuration.maxCachedConnections, 2 * settings.maxConcurrentRequests + 4)
        // libcurl allocates its receive buffer per transfer; glibc consolidates its free lists whenever a
        // chunk of 64 KiB or more is freed (malloc_consolidate showed at every small request): stay below.
        configuration.receiveBufferSize = min(configuration.receiveBufferSize, 60 * 1024)
        http = try HTTPClient(reactor: reactor, configuration: configuration)
        slots = [TunnelSlot(role: "primary", owner: self), TunnelSlot(role: "secondary", owner: self)]
        for slot in slots { slot.start() }
    }

    /// Closes the sockets and abandons requests in flight (on the reactor's thread).
    public func stop() {
        for slot in slots { slot.stop() }
        for call in Array(calls.values) { call.cancel() }
        queued = []
        queueHead = 0
        queuedBodyBytes = 0
        metrics.requestsQueued.store(0, ordering: .relaxed)
    }

    /// The outbound HTTP client's counters (pauses, buffered bytes), on the reactor's thread.
    public var httpStats: HTTPClientStats { http.stats }

    /// Whether any socket is open (for tests and /healthcheck).
    public var openSocketCount: Int { slots.filter(\.isOpen).count }

    /// Runs `body` later on the reactor; the returned closure cancels it (a no-op under a test scheduler).
    @discardableResult
    func schedule(_ milliseconds: Int, _ body: @escaping () -> Void) -> () -> Void {
        if let scheduler {
            scheduler(milliseconds, body)
            return {}
        }
        let id = reactor.schedule(afterMilliseconds: milliseconds, body)
        return { [reactor] in reactor?.cancel(id) }
    }

    // MARK: requests coming down

    func received(_ payload: JSON, role: String, ack: (([JSON]) -> Void)?) {
        switch IncomingTunnelRequest.decode(payload) {
        case .failure(let why):
            metrics.requestsInvalid.bump()
            logger.warn("request event ignored", [("role", .string(role)), ("error", .string(why.description))])
            ack?([.object([("status", .int(400)), ("body", .object([("code", .string("INVALID_REQUEST")), ("message", .string(why.description))]))])])
        case .success(let request) where request.streamingID == nil && ack == nil:
            // Neither a stream to answer on nor an ack: no answer could ever leave, so the request is not
            // run (it would hold a place among the running calls, and its body, for nothing).
            metrics.requestsInvalid.bump()
            logger.warn("request event ignored", [("role", .string(role)), ("requestId", .string(UntrustedText.truncated(request.requestId ?? "", maxBytes: 128))),
                                                  ("error", .string("the request has neither a streamingID nor an ack id, so it cannot be answered"))])
        case .success(let request):
            let call = DownstreamCall(owner: self, request: request, role: role, ack: ack)
            logger.debug("request from the server", [("requestId", .string(call.requestId)), ("method", .string(request.method)),
                                                     ("path", .string(Redaction.url(request.url)))])
            if calls.count < settings.maxConcurrentRequests && queueHead == queued.count {
                run(call)
            } else if queued.count - queueHead < settings.maxQueuedRequests && queuedBodyBytes + request.body.count <= settings.maxQueuedBodyBytes {
                queued.append(call)
                queuedBodyBytes += request.body.count
                metrics.requestsQueued.bump()
            } else {
                metrics.requestsRefusedBusy.bump()
                logger.warn("request refused: too many at once", [("requestId", .string(call.requestId)), ("running", .int(calls.count)),
                                                                  ("queued", .int(queued.count - queueHead))])
                call.refuse(.busy(running: calls.count, queued: queued.count - queueHead))
            }
        }
    }

    private func run(_ call: DownstreamCall) {
        calls[ObjectIdentifier(call)] = call
        metrics.inFlight.bump()
        if calls.count > metrics.inFlightPeak.load(ordering: .relaxed) { metrics.inFlightPeak.store(calls.count, ordering: .relaxed) }
        call.start()
    }

    func callFinished(_ call: DownstreamCall) {
        guard calls.removeValue(forKey: ObjectIdentifier(call)) != nil else { return }
        metrics.inFlight.bump(-1)
        while calls.count < settings.maxConcurrentRequests && queueHead < queued.count {
            let next = queued[queueHead]
            queueHead += 1
            queuedBodyBytes -= next.bodyCount
            metrics.requestsQueued.bump(-1)
            if queueHead >= 64 && queueHead * 2 >= queued.count {
                queued.removeFirst(queueHead)
                queueHead = 0
            }
            // Past the server's own wait its caller has had a 504 already: running the request now would
            // only load the agent for no one.
            let waited = Int((Reactor.now() &- next.receivedAt) / 1_000_000)
            if waited > settings.queuedRequestMaxAgeMilliseconds {
                metrics.requestsExpiredInQueue.bump()
                logger.warn("request dropped: it waited too long in the queue", [("requestId", .string(next.requestId)), ("waitedMs", .int(waited))])
                next.drop(.expiredInQueue(waitedMilliseconds: waited, limitMilliseconds: settings.queuedRequestMaxAgeMilliseconds))
                continue
            }
            run(next)
        }
    }

    var inFlightCalls: Int { calls.count }
    /// Answer bytes all uploads hold now, waiting for libcurl (each upload bounds its own; the cap on
    /// requests at once bounds their number).
    public private(set) var uploadBytesHeld = 0

    func makeUpload(streamingID: String, role: String, requestId: String, preamble: JSON) -> ResponseDataUpload {
        var base = settings.serverURL
        while base.hasSuffix("/") { base.removeLast() }
        let url = "\(base)/response-data/\(settings.brokerToken)/\(streamingID)?connection_role=\(role)"
        let headers: HTTPHeaders = ["Snyk-Request-Id": requestId, "Content-Type": ResponseDataUpload.contentType,
                                    "user-agent": "Snyk Broker client \(settings.clientVersion)", "x-broker-client-version": settings.clientVersion]
        let upload = ResponseDataUpload(client: http, url: url, headers: headers, preamble: preamble,
                                        retryDelayMilliseconds: downstreamRetryDelayMilliseconds,
                                        idleTimeoutMilliseconds: settings.uploadIdleTimeoutMilliseconds)
        upload.onHeldChange = { [unowned self] delta in
            uploadBytesHeld += delta
            if uploadBytesHeld > metrics.uploadBytesHeldPeak.load(ordering: .relaxed) { metrics.uploadBytesHeldPeak.store(uploadBytesHeld, ordering: .relaxed) }
        }
        upload.reportInitialHeld()
        let peak = metrics
        upload.onBuffered = { n in
            var seen = peak.uploadPeakBufferedBytes.load(ordering: .relaxed)
            while n > seen {
                let (exchanged, original) = peak.uploadPeakBufferedBytes.compareExchange(expected: seen, desired: n, ordering: .relaxed)
                if exchanged { break }
                seen = original
            }
        }
        return upload
    }

    /// The capability a server announces in its `identify` when it takes a whole small answer as one
    /// `chunk` event (streamingID, body, true, {status, headers}); ours does, snyk's handles the event too.
    public static let chunkAnswersCapability = "receive-chunk-answers"

    /// The open socket of `role` when its server takes small answers as `chunk` events.
    func chunkAnswerSocket(role: String) -> (any TunnelSocket)? {
        guard let slot = slots.first(where: { $0.role == role }), slot.serverCapabilities.contains(Self.chunkAnswersCapability) else { return nil }
        return slot.socket
    }

    /// The audit trail: every blocked request, once, at info.
    func logBlocked(direction: String, method: String, path: String, reason: String) {
        logger.info("request blocked", [("direction", .string(direction)), ("method", .string(method)),
                                        ("path", .string(UntrustedText.truncated(Redaction.url(path), maxBytes: 2048))),
                                        ("reason", .string(reason))])
    }

    // MARK: identify

    func identifyPayload(role: String) -> JSON {
        let filters = (settings.filter as? any FilterRulesDocument)?.rulesDocument ?? .object([])
        let metadata: JSON = .object([
            ("capabilities", .array([.string("post-streams")])),
            ("clientId", .string(clientId)),
            ("identifier", .string(SHA256.digest(Array(settings.brokerToken.utf8)))),
            ("preflightChecks", .null),
            ("version", .string(settings.clientVersion)),
            ("filters", filters),
            ("role", .string(role)),
        ])
        return .object([("token", .string(settings.brokerToken)), ("metadata", metadata)])
    }

    // MARK: secrets

    /// The token, CR_CREDENTIALS, the registry password and token as given and as decoded from the
    /// credentials: none may reach a log line.
    static func registerSecrets(_ settings: BrokerClientSettings) {
        var secrets = [settings.brokerToken, settings.crCredentials]
        for name in ["CR_PASSWORD", "CR_TOKEN", "CR_CREDENTIALS", "BROKER_TOKEN", "CR_EXTERNAL_ID"] {
            if let v = settings.environment[name] { secrets.append(v) }
        }
        if let decoded = Base64.decode(settings.crCredentials) {
            let text = String(decoding: decoded, as: UTF8.self)
            secrets.append(text.trimmingSuffixNewlines)
            if let password = positionalPassword(in: text) { secrets.append(password) }
        }
        for secret in secrets where secret.utf8.count >= 4 { Redaction.register(secret: secret) }
    }

    /// The password of a CR_CREDENTIALS line, read as a tolerant agent reads it: between `"password":"`
    /// and the last `", "registryBase":"` (the value is not JSON-escaped, so it may hold quotes).
    static func positionalPassword(in text: String) -> String? {
        guard let start = text.firstRange(of: "\"password\":\"") else { return nil }
        let rest = text[start.upperBound...]
        if let end = rest.ranges(of: "\", \"registryBase\":\"").last { return String(rest[..<end.lowerBound]) }
        if let end = rest.firstIndex(of: "\"") { return String(rest[..<end]) }
        return nil
    }

    /// A version-4 UUID.
    static func newUUID() -> String { RandomUUID.make() }
}

extension String {
    var trimmingSuffixNewlines: String {
        var s = Substring(self)
        while s.hasSuffix("\n") { s = s.dropLast() }
        return String(s)
    }
}
