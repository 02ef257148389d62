// Requests coming up from a client (the agent's callbacks, as `request` events) relayed to
// BROKER_UPSTREAM_URL, or where the ACCEPT filter's matching rule points, with the same path, method,
// headers (less hop-by-hop) and body; the answer goes back through the emitter ack as snyk's server
// sends it (broker-workload/websocketRequests.ts, responseSenders.ts: {status, headers, body}).
import Core

final class UpstreamRelay {
    unowned let broker: BrokerServer
    private var client: HTTPClient?
    /// Callbacks relayed and not yet answered, by token: each holds an outbound connection and its
    /// answer (up to 20 MiB), so one token's burst must not take the server's descriptors or memory.
    private var inFlight: [String: Int] = [:]

    init(broker: BrokerServer) { self.broker = broker }

    var logger: Logger { broker.logger }

    func relay(from c: ClientConnection, payload: JSON, ack: (([JSON]) -> Void)?) {
        let stats = broker.stats
        let requestId = payload["headers"]?["snyk-request-id"]?.string.flatMap { ForwardedRequests.isUUID($0) ? $0 : nil } ?? ForwardedRequests.newUUID()
        let streamingID = payload["streamingID"]?.string ?? ""
        let answer: (Int, HTTPHeaders, JSON) -> Void = { [weak c] status, headers, body in
            var h = RelayHeaders.toJSON(headers, adding: [("snyk-request-id", requestId), ("x-broker-ws-response", "true")])
            if case .object = h {} else { h = .object([]) }
            let response = JSON.object([("status", .int(status)), ("headers", h), ("body", body)])
            if let ack { ack([response]); return }
            // No ack asked for: snyk's legacy `chunk` events carry the answer to the streaming id.
            guard let c, !streamingID.isEmpty else { return }
            c.socket.emit("chunk", [.string(streamingID), .string(""), .bool(false), .object([("status", .int(status)), ("headers", h)])], ack: nil)
            c.socket.emit("chunk", [.string(streamingID), .string(body.string ?? body.serialized), .bool(true)], ack: nil)
        }
        let errorAnswer = { (status: Int, code: String, message: String) in
            answer(status, HTTPHeaders(), .object([("code", .string(code)), ("message", .string(message))]))
        }
        guard let method = payload["method"]?.string, RelayHeaders.isToken(method), let url = payload["url"]?.string, url.hasPrefix("/") else {
            stats.count(.up, "bad_request")
            errorAnswer(400, "BAD_REQUEST", "a request event needs a method and a url starting with /")
            return
        }
        guard let body = EJSONBody.bytes(payload["body"]) else {
            stats.count(.up, "bad_request")
            errorAnswer(400, "BAD_REQUEST", "the request body is not a string, object or binary")
            return
        }
        guard body.count <= broker.settings.maxRequestBodyBytes else {
            stats.count(.up, "bad_request")
            errorAnswer(413, "BODY_TOO_LARGE", "request body of \(body.count) bytes is over the \(broker.settings.maxRequestBodyBytes) allowed")
            return
        }
        guard inFlight[c.token, default: 0] < broker.settings.maxCallbacksInFlightPerToken else {
            stats.count(.up, "too_many")
            logger.warn("callback refused: too many in flight for the token", c.identity.logFields +
                        [("requestId", .string(requestId)), ("limit", .int(broker.settings.maxCallbacksInFlightPerToken))])
            errorAnswer(429, "TOO_MANY_CALLBACKS",
                        "more than \(broker.settings.maxCallbacksInFlightPerToken) callbacks of this token wait for the upstream; retry later")
            return
        }
        let headers = RelayHeaders.fromJSON(payload["headers"])
        var target: String
        var sentHeaders = headers
        if let filter = broker.filter {
            switch filter.decide(FilterRequest(method: method, url: url, headers: headers, body: body), direction: .privateRules) {
            case .blocked(let reason):
                stats.count(.up, "blocked")
                logger.info("callback blocked", c.identity.logFields + [("method", .string(method)), ("path", .string(Self.pathOnly(url))),
                                                                       ("reason", .string(reason)), ("requestId", .string(requestId))])
                answer(401, HTTPHeaders(), .object([("code", .string("FILTER_BLOCKED")), ("message", .string("blocked")),
                                                    ("reason", .string(reason)), ("url", .string(url))]))
                return
            case .allowed(let origin, let request):
                guard let origin = origin ?? broker.settings.upstreamURL else {
                    stats.count(.up, "blocked")
                    errorAnswer(502, "DOWNSTREAM_ERROR", "the matching rule has no origin and BROKER_UPSTREAM_URL is not set")
                    return
                }
                target = Self.join(origin, request.url)
                sentHeaders = request.headers
                return send(c, method: method, url: target, headers: sentHeaders, body: request.body, requestId: requestId, answer: answer, errorAnswer: errorAnswer)
            }
        }
        guard let upstream = broker.settings.upstreamURL else {
            stats.count(.up, "blocked")
            logger.info("callback blocked", c.identity.logFields + [("method", .string(method)), ("path", .string(Self.pathOnly(url))),
                                                                   ("reason", .string("neither BROKER_UPSTREAM_URL nor ACCEPT is set")), ("requestId", .string(requestId))])
            answer(401, HTTPHeaders(), .object([("code", .string("FILTER_BLOCKED")), ("message", .string("blocked")),
                                                ("reason", .string("the broker server relays callbacks only with BROKER_UPSTREAM_URL or ACCEPT")), ("url", .string(url))]))
            return
        }
        target = Self.join(upstream, url)
        send(c, method: method, url: target, headers: sentHeaders, body: body, requestId: requestId, answer: answer, errorAnswer: errorAnswer)
    }

    private func send(_ c: ClientConnection, method: String, url: String, headers: HTTPHeaders, body: [UInt8], requestId: String,
                      answer: @escaping (Int, HTTPHeaders, JSON) -> Void, errorAnswer: @escaping (Int, String, String) -> Void) {
        guard let client = httpClient() else {
            errorAnswer(502, "DOWNSTREAM_ERROR", "the server's HTTP client could not start")
            return
        }
        let stats = broker.stats
        var h = RelayHeaders.forwarded(headers, dropping: ["host", "x-broker-ws-response"])
        h.set("snyk-request-id", requestId)
        h.set("x-snyk-broker", c.identity.masked)
        let request = ClientRequest(method: method, url: url, headers: h, body: body.isEmpty && (method == "GET" || method == "HEAD") ? nil : .bytes(body),
                                    timeouts: ClientTimeouts(connect: 30_000, total: broker.settings.requestTimeoutMs))
        stats.addBytes("to_upstream", body.count)
        let max = broker.settings.maxAckResponseBytes
        let logger = self.logger
        let identity = c.identity
        let token = c.token
        inFlight[token, default: 0] += 1
        client.fetch(request, maxBodyBytes: max) { [weak self] result in
            if let self {
                let left = self.inFlight[token, default: 1] - 1
                self.inFlight[token] = left > 0 ? left : nil
            }
            switch result {
            case .success(let response):
                stats.count(.up, "relayed")
                stats.addBytes("from_upstream", response.body.count)
                answer(response.status, RelayHeaders.forwarded(response.head.headers), EJSONBody.json(response.body))
            case .failure(let e):
                let (status, code): (Int, String)
                switch e.kind {
                case .bodyTooLarge: (status, code) = (502, "BODY_TOO_LARGE")
                case .transport where e.curlCodeName == "CURLE_OPERATION_TIMEDOUT": (status, code) = (504, "DOWNSTREAM_TIMEOUT")
                case .transport where ["CURLE_COULDNT_CONNECT", "CURLE_COULDNT_RESOLVE_HOST"].contains(e.curlCodeName ?? ""): (status, code) = (502, "DOWNSTREAM_UNREACHABLE")
                default: (status, code) = (502, "DOWNSTREAM_ERROR")
                }
                stats.count(.up, "failed")
                logger.warn("callback relay failed", identity.logFields + [("requestId", .string(requestId)), ("code", .string(code)), ("error", .string(e.description))])
                errorAnswer(status, code, e.message)
            }
        }
    }

    /// Callbacks of `token` waiting for the upstream (for tests).
    func callbacksInFlight(token: String) -> Int { inFlight[token.lowercased()] ?? 0 }

    private func httpClient() -> HTTPClient? {
        if let client { return client }
        guard let reactor = broker.reactor else { return nil }
        client = try? HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(environment: Environment.process().values, userAgent: "broker-server/\(ProductVersion.current)"))
        return client
    }

    static func join(_ origin: String, _ url: String) -> String {
        (origin.hasSuffix("/") ? String(origin.dropLast()) : origin) + url
    }

    static func pathOnly(_ url: String) -> String { String(url.prefix { $0 != "?" }) }
}
