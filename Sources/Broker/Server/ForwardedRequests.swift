// ALL /broker/<token>/*: each request goes down a client's socket as a `request` event and waits for
// its answer, streamed back through POST /response-data/<token>/<streamingID> (relayed to the caller
// as it arrives, the upload paused while the caller is slow) or, for clients without `post-streams`,
// through the emitter ack. Follows snyk's routesHandlers/httpRequestHandler.ts, clientRequestHelpers.ts
// and postResponseHandler.ts. Lives on the server's reactor thread.
import Core

/// One /broker request waiting for, or receiving, its answer.
final class ForwardedRequest {
    enum Phase { case waiting, streaming, done }

    let streamingID: String
    let requestId: String
    let exchange: HTTPExchange
    weak var connection: ClientConnection?
    let token: String
    var timer: TimerID?
    var phase = Phase.waiting
    /// The POST /response-data exchange feeding this answer, while it streams.
    var source: HTTPExchange?
    /// The caller went away: what still arrives is read and dropped.
    var callerGone = false
    /// The answer streams as `chunk` events on the socket (not through /response-data).
    var chunked = false

    init(streamingID: String, requestId: String, exchange: HTTPExchange, connection: ClientConnection) {
        self.streamingID = streamingID
        self.requestId = requestId
        self.exchange = exchange
        self.connection = connection
        self.token = connection.token
    }
}

final class ForwardedRequests {
    unowned let broker: BrokerServer
    private var waiting: [String: ForwardedRequest] = [:]
    private var onQuiet: (() -> Void)?

    init(broker: BrokerServer) { self.broker = broker }

    var logger: Logger { broker.logger }
    var stats: BrokerServerStats { broker.stats }
    /// Requests forwarded and not yet answered in full (for tests and the shutdown).
    var inFlight: Int { waiting.count }

    // MARK: the caller's side

    func forward(_ ex: HTTPExchange) {
        guard let (token, rest) = Self.split(ex.request.target, prefix: "/broker/") else {
            ex.respond(status: 404, json: #"{"ok":false}"#, headers: ["x-broker-failure": "no-connection"])
            return
        }
        let requestId = Self.requestId(ex.request.headers)
        var answerHeaders: HTTPHeaders = ["snyk-request-id": requestId]
        if broker.draining {
            stats.count(.down, "shutting_down")
            answerHeaders.set("Retry-After", "1")
            answerHeaders.set("x-broker-failure", "shutting-down")
            ex.respond(status: 503, json: #"{"ok":false,"message":"the broker server is shutting down"}"#, headers: answerHeaders)
            return
        }
        guard refuseUnlessReady(ex, token: token, requestId: requestId) else { return }
        ex.collectBody(limit: broker.settings.maxRequestBodyBytes) { [unowned self] result in
            switch result {
            case .failure(let e):
                self.stats.count(.down, "bad_request")
                ex.respond(error: e)
            case .success(let body):
                guard self.allowedByPublicRules(ex, rest: rest, body: body, token: token, requestId: requestId) else { return }
                // The socket picked before the body may have gone meanwhile: pick again, one with room.
                let bytes = Self.queuedBytesEstimate(bodyBytes: body.count)
                switch self.broker.pool.pick(token: token, hasRoom: { self.hasRoom($0, forBytes: bytes) }) {
                case .ready(let c): self.send(ex, body: body, rest: rest, to: c, requestId: requestId)
                case .overloaded: self.refuseOverloaded(ex, token: token, requestId: requestId)
                case .none, .notReady: _ = self.refuseUnlessReady(ex, token: token, requestId: requestId)
                }
            }
        }
    }

    /// With ACCEPT, its public rules decide which calls go down at all (snyk's server filters /broker
    /// requests with them: requestFiltering.ts `filterClientRequest`); a refusal is logged once at info.
    private func allowedByPublicRules(_ ex: HTTPExchange, rest: String, body: [UInt8], token: String, requestId: String) -> Bool {
        guard let filter = broker.filter,
              case .blocked(let reason) = filter.decide(FilterRequest(method: ex.request.method, url: rest, headers: ex.request.headers, body: body),
                                                        direction: .publicRules) else { return true }
        stats.count(.down, "blocked")
        logger.info("request blocked", TokenIdentity(token.lowercased()).logFields + [("method", .string(ex.request.method)), ("path", .string(String(rest.prefix { $0 != "?" }))),
                                                             ("reason", .string(reason)), ("requestId", .string(requestId))])
        ex.respond(status: AcceptFilter.blockedStatus, headers: ["Content-Type": "application/json", "snyk-request-id": requestId],
                   body: AcceptFilter.blockedBody(reason: reason, url: rest))
        return false
    }

    /// Answers 404 no-connection or 503 connection-not-ready as snyk's server does; true when a socket is ready.
    private func refuseUnlessReady(_ ex: HTTPExchange, token: String, requestId: String) -> Bool {
        switch broker.pool.pick(token: token) {
        case .ready, .overloaded: return true
        case .none:
            stats.count(.down, "no_connection")
            logger.warn("no matching connection found", TokenIdentity(token.lowercased()).logFields + [("requestId", .string(requestId))])
            ex.respond(status: 404, json: #"{"ok":false}"#, headers: ["x-broker-failure": "no-connection", "snyk-request-id": requestId])
        case .notReady:
            stats.count(.down, "not_ready")
            logger.warn("no identified connection yet", TokenIdentity(token.lowercased()).logFields + [("requestId", .string(requestId))])
            ex.respond(status: 503, json: #"{"ok":false}"#,
                       headers: ["x-broker-failure": "connection-not-ready", "Retry-After": "1", "snyk-request-id": requestId])
        }
        return false
    }

    // MARK: the queue towards a client

    /// What a request adds to its socket's queue, at most: the body as base64, plus 64 KiB for the rest
    /// of the event (the request's head is at most 16 KiB, twice that once JSON-escaped).
    static func queuedBytesEstimate(bodyBytes: Int) -> Int { (bodyBytes + 2) / 3 * 4 + 64 * 1024 }

    /// Whether `c`'s socket may take `bytes` more and stay within BROKER_MAX_QUEUED_BYTES_PER_SOCKET. An
    /// empty queue takes any one request, so a cap below the largest request never refuses it for good.
    private func hasRoom(_ c: ClientConnection, forBytes bytes: Int) -> Bool {
        let queued = c.socket.bufferedBytes
        return queued == 0 || queued + bytes <= broker.settings.maxQueuedBytesPerSocket
    }

    /// Every socket of the token has as much queued as the cap allows (a client that does not read, or
    /// reads slowly): the caller is told to come back rather than queued without bound.
    private func refuseOverloaded(_ ex: HTTPExchange, token: String, requestId: String) {
        stats.count(.down, "overloaded")
        logger.warn("every connection of the token has its queue full; request refused",
                    TokenIdentity(token.lowercased()).logFields + [("requestId", .string(requestId)),
                                                                   ("maxQueuedBytes", .int(broker.settings.maxQueuedBytesPerSocket))])
        let body = JSON.object([("ok", .bool(false)), ("code", .string("CONNECTION_OVERLOADED")),
                                ("message", .string("the broker client is not reading its requests fast enough; retry later"))]).serialized
        ex.respond(status: 503, headers: ["Content-Type": "application/json", "x-broker-failure": "connection-overloaded",
                                          "Retry-After": "1", "snyk-request-id": requestId], body: Array(body.utf8))
    }

    /// The most bytes seen queued on one socket right after a request was emitted (for tests).
    private(set) var peakQueuedBytes = 0

    private func send(_ ex: HTTPExchange, body: [UInt8], rest: String, to c: ClientConnection, requestId: String) {
        let streamingID = Self.newUUID()
        var (url, contextId) = Self.clientURL(rest)
        var extra: [(String, String)] = [("snyk-request-id", requestId)]
        if let contextId { extra.append(("x-snyk-broker-context-id", contextId)) }
        if url.isEmpty { url = "/" }
        var payload: [(String, JSON)] = [("url", .string(url)), ("method", .string(ex.request.method))]
        if !body.isEmpty { payload.append(("body", .object([("$binary", .string(Base64.encode(body)))]))) }
        payload += [("headers", RelayHeaders.toJSON(ex.request.headers, adding: extra)),
                    ("streamingID", .string(c.streamsAnswers ? streamingID : "")), ("requestId", .string(requestId))]
        stats.addBytes("from_caller", body.count)
        let f = ForwardedRequest(streamingID: streamingID, requestId: requestId, exchange: ex, connection: c)
        waiting[streamingID] = f
        ex.onAbort = { [unowned self, weak f] in if let f { self.callerGone(f) } }
        if let reactor = broker.reactor ?? ex.reactor {
            f.timer = reactor.schedule(afterMilliseconds: broker.settings.requestTimeoutMs) { [unowned self, weak f] in
                guard let f, f.phase == .waiting else { return }
                f.timer = nil
                self.logger.warn("no answer from the client in time", c.identity.logFields + [("requestId", .string(requestId)),
                                                                                           ("timeoutMs", .int(self.broker.settings.requestTimeoutMs))])
                self.fail(f, status: 504, code: "CLIENT_TIMEOUT", outcome: "timeout",
                          message: "the broker client did not answer within \(self.broker.settings.requestTimeoutMs) ms")
            }
        }
        logger.debug("request sent down", c.identity.logFields + [("requestId", .string(requestId)), ("method", .string(ex.request.method)), ("url", .string(url))])
        let payloadJSON = JSON.object(payload)
        if c.streamsAnswers {
            c.socket.emit("request", [payloadJSON], ack: nil)
        } else {
            c.socket.emit("request", [payloadJSON]) { [unowned self, weak f] args in
                if let f { self.answeredByAck(f, args.first ?? .null) }
            }
        }
        peakQueuedBytes = max(peakQueuedBytes, c.socket.bufferedBytes)
    }

    /// The caller went away: a waiting request is forgotten; a streaming one reads the rest of its
    /// upload and drops it.
    private func callerGone(_ f: ForwardedRequest) {
        guard f.phase != .done else { return }
        f.callerGone = true
        stats.count(.down, "caller_gone")
        if f.phase == .waiting { finish(f) } else { f.source?.pauseBody(false) }
        if f.chunked {
            (f.connection?.socket as? BrokerSocket)?.setReading(true)
            armChunkStall(f)   // writeChunk stopped it while the caller was slow: the rest must still come
        }
    }

    /// A socket closed: requests it still owed an answer to get 502 now (not a timeout later). Those
    /// already streaming go on: their answer comes over its own HTTP connection.
    func connectionClosed(_ c: ClientConnection) {
        for f in Array(waiting.values) where f.phase == .waiting && (f.connection === c || f.connection == nil) {
            fail(f, status: 502, code: "CLIENT_DISCONNECTED", outcome: "client_gone",
                 message: "the broker client's connection closed before it answered")
        }
        // An answer coming as `chunk` events on that socket can no longer end: the caller gets a cut.
        for f in Array(waiting.values) where f.chunked && f.phase == .streaming && (f.connection === c || f.connection == nil) {
            chunkedEnd(f, ok: false)
        }
    }

    private func fail(_ f: ForwardedRequest, status: Int, code: String, outcome: String, message: String) {
        guard f.phase == .waiting else { return }
        stats.count(.down, outcome)
        let body = JSON.object([("ok", .bool(false)), ("code", .string(code)), ("message", .string(message))]).serialized
        var h: HTTPHeaders = ["snyk-request-id": f.requestId, "x-broker-failure": String(code.lowercased().map { $0 == "_" ? "-" : $0 })]
        h.set("Content-Type", "application/json")
        finish(f)
        f.exchange.respond(status: status, headers: h, body: Array(body.utf8))
    }

    private func finish(_ f: ForwardedRequest) {
        f.phase = .done
        if let t = f.timer, let r = broker.reactor ?? f.exchange.reactor { r.cancel(t) }
        f.timer = nil
        f.exchange.onAbort = nil
        f.exchange.onWritable = nil
        f.source = nil
        waiting[f.streamingID] = nil
        stats.observe(seconds: Double(Reactor.now() - f.exchange.startedAt) / 1e9)
        if waiting.isEmpty, let quiet = onQuiet { onQuiet = nil; quiet() }
    }

    // MARK: the answer, streamed

    /// POST /response-data/<token>/<streamingID>.
    func receiveAnswer(_ data: HTTPExchange) {
        guard let (token, rest) = Self.split(data.request.target, prefix: "/response-data/") else {
            data.respond(status: 404, json: #"{"message":"Unable to find request matching streaming id."}"#)
            return
        }
        let streamingID = String(rest.dropFirst().prefix { $0 != "/" && $0 != "?" })
        guard let f = waiting[streamingID], f.phase == .waiting, f.token == token.lowercased() else {
            logger.error("unable to find request matching streaming id", TokenIdentity(token.lowercased()).logFields + [("streamingID", .string(streamingID))])
            data.respond(status: 500, json: #"{"message":"Unable to find request matching streaming id."}"#)
            return
        }
        f.phase = .streaming
        f.source = data
        if let t = f.timer, let r = broker.reactor ?? data.reactor { r.cancel(t) }
        f.timer = nil
        let caller = f.exchange
        caller.onWritable = { [weak data] in data?.pauseBody(false) }
        var decoder = ResponseDataDecoder()
        var failure: String?
        data.readBody(onChunk: { [unowned self] chunk in
            guard failure == nil else { return }
            if decoder.headComplete {
                // Past the head every byte is the answer's: straight to the caller, no copy into an array.
                guard !chunk.isEmpty, !f.callerGone else { return }
                self.stats.addBytes("to_caller", chunk.count)
                if !caller.write(chunk) && !f.callerGone { data.pauseBody(true) }
                return
            }
            let out: ResponseDataOutput
            do throws(BrokerProtocolError) { out = try decoder.feed(Array(chunk)[...]) } catch { failure = "\(error)"; return }
            if let head = out.head, !f.callerGone {
                var h = RelayHeaders.forwarded(HTTPHeaders(head.headers))
                h.set("snyk-request-id", f.requestId)
                let length = head.headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) }.flatMap { $0 >= 0 ? $0 : nil }
                caller.startResponse(status: head.status, headers: h, contentLength: length)
            }
            guard !out.body.isEmpty, !f.callerGone else { return }
            self.stats.addBytes("to_caller", out.body.count)
            // A failed write may have found the caller gone (and closed it): then nothing waits to resume us.
            let below = out.body.withUnsafeBytes { caller.write($0) }
            if !below && !f.callerGone { data.pauseBody(true) }
        }, onEnd: { [unowned self] error in
            if let error {
                // The client's upload broke off: a caller mid-answer gets a cut connection, never a complete-looking one.
                self.logger.warn("answer upload failed", [("requestId", .string(f.requestId)), ("error", .string(error.message))])
                self.endStream(f, ok: false, message: error.message)
                return
            }
            if failure == nil { do throws(BrokerProtocolError) { try decoder.finish() } catch { failure = "\(error)" } }
            if let failure {
                self.logger.warn("malformed answer from the client", [("requestId", .string(f.requestId)), ("error", .string(failure))])
                data.respond(status: 400, json: JSON.object([("message", .string(failure))]).serialized)
                self.endStream(f, ok: false, message: failure)
                return
            }
            data.respond(status: 200, json: "{}")
            self.endStream(f, ok: true, message: "")
        })
    }

    private func endStream(_ f: ForwardedRequest, ok: Bool, message: String) {
        guard f.phase == .streaming else { return }
        let caller = f.exchange
        let gone = f.callerGone
        finish(f)
        if gone { return }
        if ok {
            stats.count(.down, "answered")
            caller.finish()
        } else if !caller.responseStarted {
            stats.count(.down, "bad_answer")
            let body = JSON.object([("ok", .bool(false)), ("code", .string("BAD_CLIENT_ANSWER")), ("message", .string(message))]).serialized
            caller.respond(status: 502, headers: ["snyk-request-id": f.requestId, "Content-Type": "application/json", "x-broker-failure": "bad-client-answer"],
                           body: Array(body.utf8))
        } else {
            stats.count(.down, "cut")
            caller.abort()
        }
    }

    // MARK: the answer, as `chunk` events

    /// `chunk(streamingID, data, finished, {status, headers}?)` as snyk's LegacyStreamResponseHandler.ts
    /// takes it: the status and headers start the caller's answer, the data is written, `finished` ends
    /// it. Our client sends a small, complete answer as one such event; a whole one is answered in one
    /// write. A longer stream of events to a slow caller stops the socket's reads until the caller drains.
    func receiveChunk(from c: ClientConnection, _ args: [JSON]) {
        // Only the socket the request went down may answer it: that socket's close is what ends an
        // answer in progress (connectionClosed), so a chunk from another could outlive it.
        guard let streamingID = args.first?.string, let f = waiting[streamingID], f.connection === c, f.source == nil,
              f.phase == .waiting || f.chunked else {
            logger.warn("chunk for no waiting request; dropped", c.identity.logFields + [("streamingID", .string(args.first?.string ?? ""))])
            return
        }
        guard let data = EJSONBody.bytes(args.count > 1 ? args[1] : nil) else {
            if f.phase == .waiting {
                fail(f, status: 502, code: "BAD_CLIENT_ANSWER", outcome: "bad_answer", message: "the chunk data is not a string, object or binary")
            } else {
                chunkedEnd(f, ok: false)
            }
            return
        }
        let finished = args.count > 2 && args[2].bool == true
        let caller = f.exchange
        if f.phase == .waiting {
            let head = args.count > 3 ? args[3] : JSON.null
            let status = head["status"]?.int ?? 200
            guard (100...999).contains(status) else {
                fail(f, status: 502, code: "BAD_CLIENT_ANSWER", outcome: "bad_answer", message: "the client's answer has an invalid status")
                return
            }
            var h = RelayHeaders.forwarded(RelayHeaders.fromJSON(head["headers"]))
            h.set("snyk-request-id", f.requestId)
            if finished {
                stats.count(.down, "answered")
                stats.addBytes("to_caller", data.count)
                finish(f)
                caller.respond(status: status, headers: h, body: data)
                return
            }
            f.phase = .streaming
            f.chunked = true
            if let t = f.timer, let r = broker.reactor ?? caller.reactor { r.cancel(t) }
            f.timer = nil
            let length = head["headers"]?["content-length"]?.string.flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
            caller.startResponse(status: status, headers: h, contentLength: length)
            let socket = c.socket as? BrokerSocket
            caller.onWritable = { [weak self, weak socket, weak f] in
                socket?.setReading(true)
                if let self, let f { self.armChunkStall(f) }
            }
        }
        writeChunk(data, of: f, from: c, more: !finished)
        if finished { chunkedEnd(f, ok: true) }
    }

    /// Writes a chunk's data to the caller. While the caller is slow the socket is not read, and the
    /// stall timer waits for the caller, not the client: it runs again once the caller drains. `more`:
    /// further chunks are to come (a final chunk arms no timer: the answer ends right after).
    private func writeChunk(_ data: [UInt8], of f: ForwardedRequest, from c: ClientConnection, more: Bool) {
        if !data.isEmpty && !f.callerGone {
            stats.addBytes("to_caller", data.count)
            if !f.exchange.write(data), !f.callerGone {
                (c.socket as? BrokerSocket)?.setReading(false)
                cancelTimer(f)
                return
            }
        }
        if more { armChunkStall(f) }
    }

    /// An answer coming as `chunk` events must keep coming: a client silent for longer than an answer
    /// upload may stall (HTTP_BODY_TIMEOUT_MS, the limit a /response-data body has: the same answer
    /// by another road) cuts the caller's answer, and the request stops waiting.
    private func armChunkStall(_ f: ForwardedRequest) {
        guard f.phase == .streaming, f.chunked, let reactor = broker.reactor ?? f.exchange.reactor else { return }
        cancelTimer(f)
        let ms = broker.settings.server.bodyTimeoutMs
        f.timer = reactor.schedule(afterMilliseconds: ms) { [weak self, weak f] in
            guard let self, let f, f.phase == .streaming, f.chunked else { return }
            f.timer = nil
            self.logger.warn("the client's chunked answer stalled; caller's answer cut",
                             TokenIdentity(f.token).logFields + [("requestId", .string(f.requestId)), ("stallMs", .int(ms))])
            self.chunkedEnd(f, ok: false, outcome: "stalled")
        }
    }

    private func cancelTimer(_ f: ForwardedRequest) {
        if let t = f.timer, let r = broker.reactor ?? f.exchange.reactor { r.cancel(t) }
        f.timer = nil
    }

    private func chunkedEnd(_ f: ForwardedRequest, ok: Bool, outcome: String? = nil) {
        guard f.phase == .streaming, f.chunked else { return }
        let caller = f.exchange
        let gone = f.callerGone
        finish(f)
        // The socket may have been paused for this caller (writeChunk), and finish took away the
        // caller's onWritable that would resume it: it reads again now, or it would stay paused for good.
        (f.connection?.socket as? BrokerSocket)?.setReading(true)
        if gone { return }
        stats.count(.down, outcome ?? (ok ? "answered" : "cut"))
        if ok { caller.finish() } else { caller.abort() }
    }

    // MARK: the answer, through the ack (clients without post-streams)

    private func answeredByAck(_ f: ForwardedRequest, _ answer: JSON) {
        guard f.phase == .waiting else { return }
        guard let status = answer["status"]?.int, (100...999).contains(status) else {
            fail(f, status: 502, code: "BAD_CLIENT_ANSWER", outcome: "bad_answer", message: "the client's answer has no status")
            return
        }
        guard let body = EJSONBody.bytes(answer["body"]) else {
            fail(f, status: 502, code: "BAD_CLIENT_ANSWER", outcome: "bad_answer", message: "the client's answer body is not a string, object or binary")
            return
        }
        guard body.count <= broker.settings.maxAckResponseBytes else {
            fail(f, status: 502, code: "BODY_TOO_LARGE", outcome: "bad_answer",
                 message: "body size of \(body.count) is greater than max allowed of \(broker.settings.maxAckResponseBytes) bytes")
            return
        }
        var h = RelayHeaders.forwarded(RelayHeaders.fromJSON(answer["headers"]))
        h.set("snyk-request-id", f.requestId)
        let caller = f.exchange
        stats.count(.down, "answered")
        stats.addBytes("to_caller", body.count)
        finish(f)
        caller.respond(status: status, headers: h, body: body)
    }

    // MARK: shutdown

    /// Calls `done` once no request waits for its answer to start, or after `timeoutMilliseconds`
    /// (those still waiting then get 502).
    func whenQuiet(timeoutMilliseconds: Int, _ done: @escaping () -> Void) {
        if waiting.values.allSatisfy({ $0.phase != .waiting }) { done(); return }
        var fired = false
        let once = { if !fired { fired = true; done() } }
        onQuiet = once
        broker.reactor?.schedule(afterMilliseconds: timeoutMilliseconds) { [weak self] in
            guard let self, !fired else { return }
            for f in Array(self.waiting.values) where f.phase == .waiting {
                self.fail(f, status: 502, code: "SHUTTING_DOWN", outcome: "shutting_down", message: "the broker server shut down before the client answered")
            }
            self.onQuiet = nil
            once()
        }
    }

    // MARK: pieces

    /// `/broker/<token>/<rest>` -> (token, "/<rest>"), nil without a token followed by a slash (snyk's
    /// route `/broker/:token/*` needs both).
    static func split(_ target: String, prefix: String) -> (String, String)? {
        let bytes = target.utf8, prefixBytes = prefix.utf8
        guard bytes.starts(with: prefixBytes) else { return nil }
        let after = bytes.index(bytes.startIndex, offsetBy: prefixBytes.count)
        guard let slash = bytes[after...].firstIndex(of: UInt8(ascii: "/")), slash != after,
              !bytes[after..<slash].contains(UInt8(ascii: "?")) else { return nil }
        return (String(target[after..<slash]), String(target[slash...]))
    }

    /// The URL the client receives: the path after the token with its query, without snyk's
    /// `connection_role` parameter; a leading `/ctx/<id>` is taken out and returned as the context id.
    static func clientURL(_ rest: String) -> (String, String?) {
        var path = rest
        var query: String?
        if let q = rest.firstIndex(of: "?") { path = String(rest[..<q]); query = String(rest[rest.index(after: q)...]) }
        var context: String?
        if path.hasPrefix("/ctx/") {
            let after = path.dropFirst(5)
            if let slash = after.firstIndex(of: "/"), slash != after.startIndex {
                context = String(after[..<slash])
                path = String(after[slash...])
            }
        }
        if let q = query {
            let kept = q.split(separator: "&", omittingEmptySubsequences: false).filter { !($0 == "connection_role" || $0.hasPrefix("connection_role=")) }
            query = kept.isEmpty ? nil : kept.joined(separator: "&")
        }
        return (query.map { path + "?" + $0 } ?? path, context)
    }

    /// The first UUID among x-akamai-request-id, x-request-id, snyk-request-id (snyk's middleware/requestId.ts), else a new one.
    static func requestId(_ headers: HTTPHeaders) -> String {
        for name in ["x-akamai-request-id", "x-request-id", "snyk-request-id"] {
            if let v = headers[name], isUUID(v) { return v }
        }
        return newUUID()
    }

    static func isUUID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 36 else { return false }
        for (i, c) in u.enumerated() {
            if [8, 13, 18, 23].contains(i) { if c != UInt8(ascii: "-") { return false }; continue }
            let hex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
            if !hex { return false }
        }
        return s != "00000000-0000-0000-0000-000000000000"
    }

    static func newUUID() -> String { RandomUUID.make() }
}

/// A body as the wire protocol carries it in a JSON value: EJSON binary `{"$binary":"<base64>"}`, a
/// Node Buffer's JSON `{"type":"Buffer","data":[...]}`, a string (UTF-8), another JSON value
/// (serialized, as JSON.stringify would), or nothing.
enum EJSONBody {
    static func bytes(_ value: JSON?) -> [UInt8]? {
        guard let value else { return [] }
        switch value {
        case .null: return []
        case .string(let s): return Array(s.utf8)
        case .object(let pairs):
            if pairs.count == 1, pairs[0].0 == "$binary" {
                guard case .string(let b64) = pairs[0].1 else { return nil }
                return Base64.decode(b64)
            }
            if value["type"]?.string == "Buffer", let data = value["data"]?.array {
                var out: [UInt8] = []
                out.reserveCapacity(data.count)
                for d in data { guard let v = d.int, (0...255).contains(v) else { return nil }; out.append(UInt8(v)) }
                return out
            }
            return Array(value.serialized.utf8)
        default: return Array(value.serialized.utf8)
        }
    }

    /// A body for a JSON value: a string when it is UTF-8, else EJSON binary.
    static func json(_ bytes: [UInt8]) -> JSON {
        if let s = String(validating: bytes, as: UTF8.self) { return .string(s) }
        return .object([("$binary", .string(Base64.encode(bytes)))])
    }
}
