// The client's local HTTP server on PORT: /healthcheck and /systemcheck as snyk's client answers them
// (routesHandler/healthcheckHandler.ts, systemCheckHandler.ts, utils/credentials.ts), /metrics, and every
// other path as an agent callback sent up the tunnel through the public filter (clientLocalRequests.ts).
import Core

public enum ClientRoutes {
    /// Callback bodies past this are refused with 413 (snyk's webserver: bodyParser.raw limit 10mb).
    public static let maxCallbackBodyBytes = 10 * 1024 * 1024
    /// Callback bodies being received at once, all together (each counted at its Content-Length, or at
    /// the 10 MiB limit when chunked): past it, 503 with Retry-After, which the agent's sender honours.
    /// Without it, many slow uploads on many connections could hold 10 MiB each.
    public static let maxCallbackBytesHeld = 64 * 1024 * 1024
    /// Bytes a tunnel socket may have waiting to be written before a callback is refused 503 (with
    /// Retry-After) instead of being added: a 10 MiB body is ~13.3 MiB once base64'd, so without this many
    /// callbacks to a server that reads slowly would queue without bound (and the heartbeat behind them).
    /// One callback always goes when the queue is empty, so the bound is this or one message
    /// (BROKER_MAX_MESSAGE_BYTES), whichever is larger.
    public static let maxCallbackBytesQueued = 16 * 1024 * 1024
    /// The systemcheck's request to BROKER_CLIENT_VALIDATION_URL (snyk's default 5000 ms, GET).
    static let validationTimeoutMilliseconds = 5000
    static let callbackMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    public static func router(for client: BrokerClient) -> Router {
        var r = Router(caseInsensitive: true)
        r.add("GET", "/healthcheck") { ex in healthcheck(client, ex) }
        r.add("GET", "/systemcheck") { ex in systemcheck(client, ex) }
        r.add("GET", "/metrics") { ex in
            ex.respond(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4"], body: Array((ex.metrics?.render() ?? "").utf8))
        }
        for method in callbackMethods {
            r.add(method, "/*", maxBodyBytes: maxCallbackBodyBytes) { ex in callback(client, ex) }
        }
        return r
    }

    // MARK: /healthcheck

    static func healthcheck(_ client: BrokerClient, _ ex: HTTPExchange) {
        let (status, body) = client.healthcheckAnswer()
        ex.respond(status: status, json: body.serialized)
    }

    // MARK: /systemcheck

    static func systemcheck(_ client: BrokerClient, _ ex: HTTPExchange) {
        client.runSystemCheck { status, body in ex.respond(status: status, json: body.serialized) }
    }

    // MARK: callbacks

    static func callback(_ client: BrokerClient, _ ex: HTTPExchange) {
        var reserve = maxCallbackBodyBytes
        if case .contentLength(let n) = ex.request.framing { reserve = min(n, maxCallbackBodyBytes) }
        if case .none = ex.request.framing { reserve = 0 }
        guard client.callbackBytesHeld + reserve <= maxCallbackBytesHeld else {
            client.metrics.callbacksFailed.bump()
            var headers = HTTPHeaders()
            headers.add("Retry-After", "1")
            ex.respond(status: 503, json: JSON.object([("code", .string("CALLBACKS_BUSY")), ("message",
                .string("the broker client is receiving \(maxCallbackBytesHeld) bytes of callbacks already; retry"))]).serialized,
                       headers: headers)
            return
        }
        client.callbackBytesHeld += reserve
        ex.collectBody(limit: maxCallbackBodyBytes) { result in
            client.callbackBytesHeld -= reserve
            switch result {
            case .failure(let error):
                client.metrics.callbacksFailed.bump()
                ex.respond(error: error)
            case .success(let body):
                client.relayCallback(ex, body: body)
            }
        }
    }
}

extension BrokerClient {
    /// One object per socket (the classic client always has two), 200 when any is open, else 500.
    func healthcheckAnswer() -> (Int, JSON) {
        var base = settings.serverURL
        while base.hasSuffix("/") { base.removeLast() }
        let entries: [JSON] = slots.map { slot in
            .object([("ok", .bool(slot.isOpen)), ("websocketConnectionOpen", .bool(slot.isOpen)),
                     ("brokerServerUrl", .string("\(base)/?connection_role=\(slot.role)")),
                     ("version", .string(settings.clientVersion)), ("transport", .string("websocket"))])
        }
        return (slots.contains(where: \.isOpen) ? 200 : 500, .array(entries))
    }

    /// Calls BROKER_CLIENT_VALIDATION_URL with `authorization: <CR_CREDENTIALS>` and reports as
    /// checkCredentials does; 500 when the check fails.
    func runSystemCheck(_ done: @escaping (Int, JSON) -> Void) {
        let raw = settings.crCredentials
        let masked: JSON = raw.isEmpty ? .null : .string(raw.count <= 6 ? "***" : "\(raw.prefix(3))***\(raw.suffix(3))")
        func report(_ statusCode: Int?, ok: Bool, error: String?) {
            var fields: [(String, JSON)] = [
                ("brokerClientValidationUrl", settings.validationURL.map { .string(Redaction.url($0)) } ?? .null),
                ("brokerClientValidationMethod", .string("GET")),
                ("brokerClientValidationTimeoutMs", .int(ClientRoutes.validationTimeoutMilliseconds)),
            ]
            if let statusCode { fields.append(("brokerClientValidationUrlStatusCode", .int(statusCode))) }
            fields.append(("ok", .bool(ok)))
            if let error { fields.append(("error", .string(error))) }
            fields.append(("maskedCredentials", masked))
            done(ok ? 200 : 500, .array([.object(fields)]))
        }
        guard let url = settings.validationURL else {
            report(nil, ok: false, error: "BROKER_CLIENT_VALIDATION_URL is not set: set it to the agent's URL followed by /systemcheck")
            return
        }
        var headers = HTTPHeaders()
        if !raw.isEmpty { headers.set("authorization", raw) }
        headers.set("user-agent", "Snyk Broker Client \(settings.clientVersion)")
        let request = ClientRequest(method: "GET", url: url, headers: headers,
                                    timeouts: ClientTimeouts(connect: ClientRoutes.validationTimeoutMilliseconds, total: ClientRoutes.validationTimeoutMilliseconds))
        http.fetch(request, maxBodyBytes: 1024 * 1024) { result in
            switch result {
            case .success(let response) where response.status > 300:
                let why = response.status == 401 || response.status == 403 ? "Failed due to invalid credentials" : "Status code is not 2xx"
                report(response.status, ok: false, error: why)
            case .success(let response):
                report(response.status, ok: true, error: nil)
            case .failure(let error):
                // Not error.description, which starts with the request's URL: a validation URL may carry
                // a user and password, and this answer is unauthenticated. libcurl's words, redacted.
                let code = error.curlCodeName.map { " (\($0))" } ?? ""
                report(nil, ok: false, error: Redaction.text("the request to BROKER_CLIENT_VALIDATION_URL failed: \(error.message)\(code)"))
            }
        }
    }

    /// Sends an agent callback up the tunnel (primary socket first) and relays the server's answer.
    func relayCallback(_ ex: HTTPExchange, body: [UInt8]) {
        let head = ex.request
        let target = String(head.target)
        let requestId = head.headers["snyk-request-id"] ?? BrokerClient.newUUID()
        let decision = settings.filter.decide(FilterRequest(method: head.method, url: target, headers: head.headers, body: body),
                                              direction: .publicRules)
        guard case .allowed(_, let allowed) = decision else {
            if case .blocked(let reason) = decision {
                metrics.callbacksBlocked.bump()
                logBlocked(direction: "public", method: head.method, path: target, reason: reason)
                let answer = BrokerAnswer.blocked(reason: reason, url: target)
                ex.respond(status: answer.status, json: answer.body.serialized)
            }
            return
        }
        var headers: [(String, JSON)] = []
        for field in allowed.headers.fields where !field.name.equalsIgnoringASCIICase("snyk-request-id") {
            headers.append((field.name.lowercased(), .string(field.value)))
        }
        headers.append(("snyk-request-id", .string(requestId)))

        var answered = false
        var cancelTimeout: () -> Void = {}
        func finish(_ status: Int, _ headers: HTTPHeaders, _ body: [UInt8]) {
            guard !answered else { return }
            answered = true
            cancelTimeout()
            var h = headers
            h.set("snyk-request-id", requestId)
            ex.respond(status: status, headers: h, body: body)
        }
        func failed(_ status: Int, _ code: String, _ message: String) {
            guard !answered else { return }
            metrics.callbacksFailed.bump()
            logger.warn("callback not relayed", [("requestId", .string(requestId)), ("code", .string(code)), ("error", .string(message))])
            finish(status, ["Content-Type": "application/json"],
                   Array(JSON.object([("code", .string(code)), ("message", .string(message))]).serialized.utf8))
        }
        let open = slots.filter(\.isOpen)
        guard !open.isEmpty else {
            failed(502, "NO_CONNECTION", "no tunnel socket to the broker server is open")
            return
        }
        let estimate = Self.encodedBytesBound(body: allowed.body.count, payload: headers, url: allowed.url)
        guard let slot = open.first(where: { $0.queuedBytes == 0 || $0.queuedBytes + estimate <= ClientRoutes.maxCallbackBytesQueued }) else {
            metrics.callbacksRefusedTunnelBusy.bump()
            let queued = open.map(\.queuedBytes).min() ?? 0
            logger.warn("callback refused: the tunnel is busy", [("requestId", .string(requestId)), ("queuedBytes", .int(queued)), ("bytes", .int(estimate))])
            answered = true
            var retry = HTTPHeaders()
            retry.add("Retry-After", "1")
            retry.add("snyk-request-id", requestId)
            ex.respond(status: 503, json: JSON.object([("code", .string("TUNNEL_BUSY")), ("message", .string(
                "the tunnel to the broker server has \(queued) bytes waiting to be written and this callback would add about \(estimate); retry"))]).serialized,
                       headers: retry)
            return
        }
        // Built only once the socket has room: the base64 of a refused body is never made.
        var payload: [(String, JSON)] = [("url", .string(allowed.url)), ("method", .string(allowed.method))]
        if !allowed.body.isEmpty { payload.append(("body", .object([("$binary", .string(Base64.encode(allowed.body)))]))) }
        payload += [("headers", .object(headers)), ("streamingID", .string("")), ("requestId", .string(requestId))]
        guard let key = slot.emitCallback(.object(payload), answer: { [weak self] args in
            guard !answered else { return }
            self?.metrics.callbacksRelayed.bump()
            let (status, headers, body) = Self.callbackAnswer(args.first ?? .null)
            finish(status, headers, body)
        }, fail: { why in failed(502, "TUNNEL_CLOSED", why) }) else {
            failed(502, "NO_CONNECTION", "no tunnel socket to the broker server is open")
            return
        }
        let queuedNow = slot.queuedBytes
        if queuedNow > metrics.callbackQueuedBytesPeak.load(ordering: .relaxed) { metrics.callbackQueuedBytesPeak.store(queuedNow, ordering: .relaxed) }
        ex.onAbort = { [weak slot] in
            answered = true
            cancelTimeout()
            slot?.forgetCallback(key)
        }
        cancelTimeout = schedule(callbackTimeoutMilliseconds) { [weak slot] in
            slot?.forgetCallback(key)
            failed(504, "UPSTREAM_TIMEOUT", "the broker server did not answer within \(self.callbackTimeoutMilliseconds) ms")
        }
    }

    /// At least the bytes the callback's `request` event takes on the socket: the body base64'd, the
    /// headers and URL each escaped at worst 6 bytes a byte (`\u00XX`), and the packet's framing.
    static func encodedBytesBound(body: Int, payload headers: [(String, JSON)], url: String) -> Int {
        var text = url.utf8.count
        for (name, value) in headers { text += name.utf8.count + (value.string?.utf8.count ?? 0) }
        return (body + 2) / 3 * 4 + 6 * text + 1024
    }

    /// The server's ack `{status, headers, body}` as an HTTP answer (clientRequestHelpers.ts): a string
    /// body as is, an object as JSON, EJSON binary as bytes; framing headers are ours to set.
    static func callbackAnswer(_ value: JSON) -> (Int, HTTPHeaders, [UInt8]) {
        let status = value["status"]?.int.flatMap { (100...599).contains($0) ? $0 : nil } ?? 502
        var headers = HTTPHeaders()
        for (name, v) in value["headers"]?.object ?? [] {
            let lower = name.lowercased()
            if ["content-length", "transfer-encoding", "connection", "keep-alive", "snyk-request-id"].contains(lower) { continue }
            if let s = v.string { headers.add(name, s) } else if let items = v.array { for i in items { if let s = i.string { headers.add(name, s) } } }
            else if let n = v.int { headers.add(name, String(n)) }
        }
        let body = IncomingTunnelRequest.decodeBody(value["body"])
        return (status, headers, body)
    }
}
