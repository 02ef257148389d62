// One `request` event from the server, carried to the agent and answered: the private filter, the
// prepared request, network errors retried (3 times, 500 ms apart, the same request id), and the answer
// streamed up through /response-data, or returned through the emitter ack when the server asked for one
// (snyk's legacy path, whole bodies up to 20 MiB). A small answer that is complete before
// `smallAnswerBytes` goes up the socket as one `chunk` event instead of a second HTTP transfer, when the
// server announced `receive-chunk-answers` (the event snyk's server takes for a streaming id:
// LegacyStreamResponseHandler.ts, registered in identifyHandler.ts; snyk's client sends its own answers
// that way: responseSenders.ts websocketDataResponseHandler; snyk marks it deprecated, hence only on
// the server's word). Lives on the client's reactor.
import Core

final class DownstreamCall {
    /// Bodies answered through the ack are held whole; snyk's client refuses past this (sendDataResponse).
    static let maxAckBodyBytes = 20 * 1024 * 1024
    static let maxRetries = 3
    /// Answers up to this size, complete, go up as one `chunk` event; larger ones stream through
    /// /response-data (the socket is shared: a big body on it would hold up every other answer).
    static let smallAnswerBytes = 64 * 1024

    private unowned let owner: BrokerClient
    private let request: IncomingTunnelRequest
    private let role: String
    private let ack: (([JSON]) -> Void)?
    let requestId: String
    /// When the request arrived (Reactor.now(), ns): a queued call older than the downstream timeout is not run.
    let receivedAt = Reactor.now()
    private var retriesLeft = DownstreamCall.maxRetries
    private var agentTask: ClientTask?
    private var upload: ResponseDataUpload?
    /// The whole body while it may still go up through the ack or as a `chunk` event.
    private var ackBody: [UInt8] = []
    private var ackTooLarge = false
    private var finished = false

    init(owner: BrokerClient, request: IncomingTunnelRequest, role: String, ack: (([JSON]) -> Void)?) {
        self.owner = owner
        self.request = request
        self.role = role
        self.ack = ack
        self.requestId = request.requestId ?? request.headers["snyk-request-id"] ?? BrokerClient.newUUID()
    }

    /// Answers through /response-data when the server named a stream and asked for no ack.
    private var streamsUp: Bool { request.streamingID != nil && ack == nil }
    /// The agent's head, while its body is held to see whether the whole answer is small.
    private var heldPreamble: JSON?

    func start() {
        let path = DownstreamPreparation.strippingContextPrefix(request.url)
        // The caller's own authorization is taken out before the filter sees the request: what the filter
        // then puts there is the matching rule's `auth`, and nothing the caller sent can pass as that (a
        // rule whose `valid` wants a caller's authorization therefore never matches: it fails closed).
        var callerHeaders = request.headers
        callerHeaders.remove("authorization")
        let asked = FilterRequest(method: request.method, url: path, headers: callerHeaders, body: request.body)
        // A path must start with `/` once the context is out, or it would extend the origin's host.
        let decision: FilterDecision = path.hasPrefix("/")
            ? owner.settings.filter.decide(asked, direction: .privateRules)
            : .blocked(reason: "the URL does not start with / once its /ctx/<id> prefix is taken out")
        switch decision {
        case .blocked(let reason):
            owner.metrics.requestsBlocked.bump()
            owner.logBlocked(direction: "private", method: request.method, path: path, reason: reason)
            answer(.blocked(reason: reason, url: path))
        case .allowed(let origin, let allowed):
            guard let url = DownstreamPreparation.downstreamURL(origin: origin ?? owner.settings.agentURL, path: allowed.url) else {
                let reason = "the URL would leave the origin's host"
                owner.metrics.requestsBlocked.bump()
                owner.logBlocked(direction: "private", method: request.method, path: path, reason: reason)
                answer(.blocked(reason: reason, url: path))
                return
            }
            // CR_CREDENTIALS to the agent only (scheme, host and port of CR_AGENT_URL), else the rule's auth
            // (DownstreamPreparation.authorization); where to call back is the agent's business only, so
            // another origin does not learn the client's address either.
            let toAgent = OriginIdentity(url: url).map { $0 == owner.agentOrigin } ?? false
            let authorization = toAgent ? owner.settings.crCredentials : allowed.headers["authorization"]
            let headers = DownstreamPreparation.headers(from: allowed.headers, requestId: requestId, clientVersion: owner.settings.clientVersion,
                                                        authorization: authorization, clientURL: toAgent ? owner.settings.clientURL : nil)
            let body: ClientRequestBody? = allowed.body.isEmpty && (request.method == "GET" || request.method == "HEAD") ? nil : .bytes(allowed.body)
            // 64 KiB held for a paused consumer before libcurl itself is paused: the upload's own buffer
            // is the one that absorbs a slow server.
            var outgoing = ClientRequest(method: allowed.method, url: url, headers: headers, body: body, bodyBufferLimit: 64 * 1024)
            // snyk sets no limit here; ours: a hung agent must give its running place back, and after the
            // server's own timeout no one waits for the answer.
            let settings = owner.settings
            outgoing.timeouts = ClientTimeouts(connect: 30_000, total: settings.downstreamTimeoutMilliseconds > 0 ? settings.downstreamTimeoutMilliseconds : nil,
                                               lowSpeed: ClientTimeouts.stallRule(milliseconds: settings.downstreamIdleTimeoutMilliseconds))
            attempt(outgoing)
        }
    }

    private func attempt(_ outgoing: ClientRequest) {
        var headReceived = false
        agentTask = owner.http.start(outgoing, onHead: { [weak self] head in
            headReceived = true
            self?.agentAnswered(head)
        }, onBody: { [weak self] chunk in
            self?.agentBody(chunk) ?? .continue
        }, onComplete: { [weak self] result in
            guard let self else { return }
            self.agentTask = nil
            switch result {
            case .success:
                self.owner.metrics.requestsForwarded.bump()
                self.agentDone()
            case .failure(let error) where !headReceived:
                // A timeout is not retried: the time allowed is spent (the agent may be hung). A connect
                // that timed out is a network error like any other, retried as snyk retries them.
                if self.retriesLeft > 0, error.kind == .transport || error.kind == .refused, !self.finished,
                   BrokerAnswer.classify(error) != .downstreamTimeout || BrokerAnswer.isConnectTimeout(error) {
                    self.retriesLeft -= 1
                    self.owner.metrics.downstreamRetries.bump()
                    self.owner.logger.warn("request to the agent failed; retrying", [("requestId", .string(self.requestId)),
                                                                                  ("error", .string(error.description))])
                    self.owner.reactor.schedule(afterMilliseconds: self.owner.downstreamRetryDelayMilliseconds) { [weak self] in
                        guard let self, !self.finished else { return }
                        self.attempt(outgoing)
                    }
                    return
                }
                let failure = BrokerAnswer.downstream(error)
                switch failure.code {
                case .downstreamUnreachable: self.owner.metrics.requestsUnreachable.bump()
                case .downstreamTimeout: self.owner.metrics.requestsTimedOut.bump()
                default: self.owner.metrics.requestsFailed.bump()
                }
                self.owner.logger.warn("request to the agent failed", [("requestId", .string(self.requestId)), ("code", .string(failure.code.rawValue)),
                                                                       ("error", .string(error.description))])
                self.answer(failure)
            case .failure(let error):
                self.owner.metrics.requestsFailed.bump()
                self.owner.logger.warn("the agent's answer broke off", [("requestId", .string(self.requestId)), ("error", .string(error.description))])
                self.agentFailedMidway(error.description)
            }
        })
    }

    // MARK: the agent's answer

    private func agentAnswered(_ head: ClientResponseHead) {
        lastStatus = head.status
        lastHeaders = Self.headersObject(head.headers)
        guard streamsUp else { return }
        var preamble: [(String, JSON)] = [("status", .int(head.status)), ("headers", lastHeaders)]
        if let errorType = Self.errorType(forStatus: head.status) { preamble.append(("errorType", .string(errorType))) }
        // Held until it is known to be small (a body without a length is held until it outgrows that),
        // when the server takes small answers as `chunk` events.
        let length = head.headers["content-length"].flatMap { Int($0) }
        if owner.chunkAnswerSocket(role: role) != nil, (length ?? 0) <= Self.smallAnswerBytes {
            heldPreamble = .object(preamble)
        } else {
            openUpload(preamble: .object(preamble))
        }
    }

    private func agentBody(_ chunk: UnsafeRawBufferPointer) -> ClientBodyDisposition {
        if let upload {
            owner.metrics.bytesUp.bump(chunk.count)
            return upload.append(chunk) ? .continue : .pause
        }
        if let preamble = heldPreamble {
            if ackBody.count + chunk.count <= Self.smallAnswerBytes {
                ackBody.append(contentsOf: chunk)
                return .continue
            }
            // Larger than a small answer after all: what is held goes first, the rest streams.
            heldPreamble = nil
            openUpload(preamble: preamble)
            let held = ackBody
            ackBody = []
            owner.metrics.bytesUp.bump(held.count + chunk.count)
            upload?.append(held)
            return upload?.append(chunk) ?? true ? .continue : .pause
        }
        if ackBody.count + chunk.count > Self.maxAckBodyBytes { ackTooLarge = true; agentTask?.cancel(); return .continue }
        ackBody.append(contentsOf: chunk)
        return .continue
    }

    private func agentDone() {
        if let upload { upload.finish(); return }
        if let preamble = heldPreamble {
            heldPreamble = nil
            sendSmallAnswer(preamble: preamble)
            return
        }
        guard !finished else { return }
        finished = true
        // Without an ack there is no one to answer (the decode refuses such a request); the call still
        // ends here, so its place among the running calls is given back whatever arrives.
        ack?([.object([("status", .int(lastStatus)), ("headers", lastHeaders), ("body", .string(String(decoding: ackBody, as: UTF8.self)))])])
        owner.callFinished(self)
    }

    private var lastStatus = 0
    private var lastHeaders: JSON = .object([])

    /// The whole answer as one `chunk` event: (streamingID, body, finished, {status, headers}); through
    /// /response-data when the socket it came on has closed meanwhile.
    private func sendSmallAnswer(preamble: JSON) {
        guard !finished, let streamingID = request.streamingID else { return }
        guard let socket = owner.chunkAnswerSocket(role: role) else {
            openUpload(preamble: preamble)
            upload?.append(ackBody)
            upload?.finish()
            ackBody = []
            return
        }
        finished = true
        owner.metrics.bytesUp.bump(ackBody.count)
        owner.metrics.answersOverSocket.bump()
        socket.emit("chunk", [.string(streamingID), EJSONBody.json(ackBody), .bool(true), preamble], ack: nil)
        ackBody = []
        owner.callFinished(self)
    }

    private func agentFailedMidway(_ reason: String) {
        if let upload { upload.fail("the agent's answer broke off: \(reason)"); return }
        if ackTooLarge { answer(.tooLarge("body size is greater than max allowed of \(Self.maxAckBodyBytes) bytes")); return }
        answer(.downstream(HTTPClientError(.transport, reason)))
    }

    // MARK: answers made here

    /// Sends an answer the client made itself (blocked, unreachable, ...).
    private func answer(_ answer: BrokerAnswer) {
        guard !finished else { return }
        if streamsUp, upload == nil {
            openUpload(preamble: answer.preamble)
            upload?.append(Array(answer.body.serialized.utf8))
            upload?.finish()
            return
        }
        finished = true
        upload?.fail("superseded")
        ack?([.object([("status", .int(answer.status)), ("errorType", .string(answer.code.rawValue)), ("body", answer.body)])])
        owner.callFinished(self)
    }

    private func openUpload(preamble: JSON) {
        guard let streamingID = request.streamingID else { return }
        let up = owner.makeUpload(streamingID: streamingID, role: role, requestId: requestId, preamble: preamble)
        up.onDrained = { [weak self] in self?.agentTask?.resumeBody() }
        up.onComplete = { [weak self] result in
            guard let self else { return }
            if case .success(let status) = result, status == 200 {
                self.owner.logger.debug("answer sent up", [("requestId", .string(self.requestId)), ("agentStatus", .int(self.lastStatus)),
                                                           ("bytes", .int(up.bodyBytesQueued))])
            } else {
                self.owner.metrics.uploadsFailed.bump()
                let why: String
                switch result {
                case .success(let status): why = "the server answered \(status)"
                case .failure(let error): why = error.description
                }
                self.owner.logger.warn("sending the answer up failed", [("requestId", .string(self.requestId)), ("error", .string(why))])
                self.agentTask?.cancel()
            }
            self.finished = true
            self.upload = nil
            self.owner.callFinished(self)
        }
        upload = up
        up.start()
    }

    /// Body bytes of the request (what a queued call holds).
    var bodyCount: Int { request.body.count }

    /// Answers without calling the agent (the client is too busy to take the request).
    func refuse(_ answer: BrokerAnswer) { self.answer(answer) }

    /// A request that waited in the queue past the server's own wait: its caller has had a 504, so it is
    /// answered only where that costs nothing (an ack on the socket); an answer stream would open a
    /// connection to the server per dropped request, for a stream the server no longer expects.
    func drop(_ answer: BrokerAnswer) {
        guard !finished else { return }
        if streamsUp { finished = true } else { self.answer(answer) }
    }

    /// Stops the call at once (shutdown).
    func cancel() {
        agentTask?.cancel()
        upload?.cancel()
    }

    // MARK: pure helpers

    /// Response headers as Node's IncomingMessage.headers gives them: lower-case names, repeats joined
    /// by ", " (set-cookie kept as an array).
    static func headersObject(_ headers: HTTPHeaders) -> JSON {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for field in headers.fields {
            let name = field.name.lowercased()
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(field.value)
        }
        return .object(order.map { name in
            let v = values[name]!
            if name == "set-cookie" { return (name, .array(v.map { .string($0) })) }
            return (name, .string(v.joined(separator: ", ")))
        })
    }

    /// classifyDownstreamStatus in snyk's telemetry.ts: the error type a status is labelled with.
    static func errorType(forStatus status: Int) -> String? {
        switch status {
        case 401: return "DOWNSTREAM_UNAUTHORIZED"
        case 403: return "DOWNSTREAM_FORBIDDEN"
        case 429: return "DOWNSTREAM_RATE_LIMITED"
        case 500...599: return "DOWNSTREAM_SERVER_ERROR"
        case 400...: return status == 404 ? nil : "DOWNSTREAM_UNEXPECTED"
        default: return nil
        }
    }
}
