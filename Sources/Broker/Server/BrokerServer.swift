// The broker server (`broker server`): accepts broker clients' tunnel sockets by token, exposes
// ALL /broker/<token>/* to the outside service (ForwardedRequests), relays the clients' callbacks
// upstream (UpstreamRelay), and answers /healthcheck and /metrics. Follows snyk/broker's
// lib/hybrid-sdk/server/** where our issue is silent.
import Core

// @unchecked: settings are immutable; every mutable part (pool, waiting requests, HTTP client) lives
// on the server's one reactor thread (settings force one), and `server` is set once before `run`.
public final class BrokerServer: @unchecked Sendable {
    public let settings: BrokerServerSettings
    public let logger: Logger
    public let tokens: TokenBook
    public let stats = BrokerServerStats()
    let filter: RequestFilter?
    let pool = ClientPool()
    private(set) var server: HTTPServer?
    lazy var forwarded = ForwardedRequests(broker: self)
    lazy var upstream = UpstreamRelay(broker: self)
    /// Set by SIGTERM: new /broker requests get 503 while the waiting ones finish.
    private(set) var draining = false

    /// `filter`, when given (ACCEPT), decides the callbacks going upstream; without it they go to
    /// BROKER_UPSTREAM_URL.
    public init(settings: BrokerServerSettings, logger: Logger, filter: RequestFilter? = nil) throws(ConfigurationError) {
        self.settings = settings
        self.logger = logger
        self.filter = filter
        self.tokens = try TokenBook(source: settings.tokens)
        let stats = self.stats
        pool.onChange = { stats.setPool($0) }
    }

    /// Performs the WebSocket upgrade of GET /primus/<token>/ for a token already accepted, and hands
    /// the resulting TunnelSocket to `accept`.
    public typealias SocketUpgrade = @Sendable (_ exchange: HTTPExchange, _ token: String) -> Void

    /// The WebSocket upgrade of our own transport: Core's WebSocketConnection carrying a BrokerSocket in
    /// the server's role (engine.io open packet, pings), whose role and client id come from the
    /// upgrade's `x-snyk-broker-client-role` (or `connection_role`) and `x-snyk-broker-client-id`.
    public func webSocketUpgrade() -> SocketUpgrade {
        let accepted = settings.acceptedMessageBytes
        let configuration = WebSocketConfiguration(maxMessageBytes: accepted)
        return { [unowned self] ex, token in
            guard let reactor = ex.reactor else { return }
            let headers = ex.request.headers
            let role = headers["x-snyk-broker-client-role"] ?? Self.queryValue(ex.request.query, "connection_role")
            let clientId = headers["x-snyk-broker-client-id"]
            WebSocketUpgrade.accept(ex, configuration: configuration) { connection in
                let socket = BrokerSocket(channel: connection, role: .server(BrokerSocket.serverHandshake(maxPayload: accepted)),
                                          timers: ReactorTunnelTimers(reactor: reactor))
                socket.start()
                self.accept(socket: socket, token: token, clientId: clientId, role: role)
            }
        }
    }

    static func queryValue(_ query: Substring?, _ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv.first.map(String.init) == name { return kv.count > 1 ? String(kv[1]) : "" }
        }
        return nil
    }

    /// The routes; `upgrade` turns an accepted GET /primus/<token>/ into a tunnel socket.
    public func router(upgrade: SocketUpgrade? = nil) -> Router {
        var r = Router()
        r.add("GET", "/healthcheck") { ex in
            ex.respond(status: 200, json: JSON.object([("ok", .bool(true)), ("version", .string(ProductVersion.current))]).serialized)
        }
        r.add("GET", "/") { ex in
            ex.respond(status: 200, json: JSON.object([("ok", .bool(true)), ("version", .string(ProductVersion.current))]).serialized)
        }
        r.add("GET", "/metrics") { ex in
            let text = ex.metrics?.render() ?? ""
            ex.respond(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4"], body: Array(text.utf8))
        }
        r.add("POST", "/response-data/*", maxBodyBytes: Int.max) { [unowned self] ex in self.forwarded.receiveAnswer(ex) }
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            r.add(method, "/broker/*", maxBodyBytes: settings.maxRequestBodyBytes) { [unowned self] ex in self.forwarded.forward(ex) }
        }
        r.add("GET", "/primus/*") { [unowned self] ex in self.openSocket(ex, upgrade: upgrade) }
        return r
    }

    /// Called once before the server runs: /metrics gains the broker's section, SIGTERM lets waiting
    /// requests finish before the drain, SIGHUP re-reads BROKER_TOKENS_FILE.
    public func attach(_ server: HTTPServer) {
        self.server = server
        let stats = self.stats
        server.metrics.addSection { stats.render() }
        server.onTerminationSignal = { [unowned self] sig in
            self.logger.info("signal received; finishing waiting requests, then draining", [("signal", .int(Int(sig)))])
            self.beginShutdown()
        }
        if case .file = settings.tokens {
            server.onHangupSignal = { [unowned self] in self.reloadTokens() }
        }
    }

    /// The reactor everything runs on.
    var reactor: Reactor? { server?.mainReactor }

    // MARK: tokens

    /// Whether `token` may open a socket (checked at the upgrade, before any WebSocket byte).
    public func acceptsToken(_ token: String) -> Bool { tokens.accepts(token) }

    func reloadTokens() {
        do {
            try tokens.reload()
            logger.info("tokens re-read", [("accepted", .int(tokens.tokens.count))])
            // Sockets of a token no longer listed are closed: revoking a token ends its tunnel.
            for c in pool.all where !tokens.accepts(c.token) {
                logger.info("closing a socket whose token was removed", c.identity.logFields)
                c.socket.close(reason: "token revoked")
            }
        } catch {
            logger.error("cannot re-read the tokens; keeping the previous ones", [("error", .string(error.description))])
        }
    }

    // MARK: sockets

    /// GET /primus/<token>/: an unknown token is refused before any WebSocket byte, as Primus's
    /// authorize hook answers in snyk's server (401, WWW-Authenticate: Bearer, {"error": ...}).
    func openSocket(_ ex: HTTPExchange, upgrade: SocketUpgrade?) {
        guard let (token, _) = ForwardedRequests.split(ex.request.target, prefix: "/primus/"), tokens.accepts(token) else {
            let raw = ex.request.path.dropFirst("/primus/".count).prefix { $0 != "/" }
            logger.warn("rejected broker client websocket connection", TokenIdentity(raw.lowercased()).logFields + [("reason", .string("unknown token"))])
            stats.count(.down, "socket_refused")
            ex.respond(status: 401, json: #"{"error":"unknown broker token"}"#, headers: ["WWW-Authenticate": "Bearer"])
            return
        }
        guard !draining else {
            ex.respond(status: 503, json: #"{"error":"the broker server is shutting down"}"#, headers: ["Retry-After": "1"])
            return
        }
        guard hasRoomForSocket(token: token.lowercased()) else {
            ex.respond(status: 429, json: #"{"error":"this token has as many sockets open as the server allows (BROKER_MAX_SOCKETS_PER_TOKEN)"}"#,
                       headers: ["Retry-After": "5"])
            return
        }
        guard let upgrade else {
            ex.respond(status: 501, json: #"{"error":"this build has no WebSocket transport"}"#)
            return
        }
        upgrade(ex, token.lowercased())
    }

    /// A new tunnel socket on `token`'s path (`/primus/<token>/`), already checked with `acceptsToken`.
    /// The server greets it with `identify` and waits for the client's own.
    public func accept(socket: TunnelSocket, token: String, clientId: String?, role: String?) {
        // Upgrades answered in the same turn all passed openSocket's check: the count is taken again here.
        guard hasRoomForSocket(token: token.lowercased()) else {
            socket.close(reason: "too many sockets for one token")
            return
        }
        let c = ClientConnection(socket: socket, token: token, clientId: clientId, role: role)
        pool.add(c)
        if let reactor {
            let ms = settings.identifyTimeoutMs
            c.identifyTimer = reactor.schedule(afterMilliseconds: ms) { [unowned self, weak c] in
                guard let c, !c.identified else { return }
                c.identifyTimer = nil
                self.stats.count(.down, "socket_identify_timeout")
                self.refuse(c, reason: "no identify within \(ms) ms")
            }
        }
        logger.info("new client connection", c.identity.logFields + [("role", .string(role ?? "")), ("clientId", .string(clientId ?? ""))])
        socket.onEvent = { [unowned self, weak c] event, args, ack in
            guard let c else { return }
            self.onEvent(c, event, args, ack)
        }
        socket.onClose = { [unowned self, weak c] reason in
            guard let c else { return }
            if let t = c.identifyTimer { self.reactor?.cancel(t); c.identifyTimer = nil }
            self.pool.remove(c)
            self.logger.info(c.identified ? "client connection closed" : "client disconnected before identifying itself",
                             c.identity.logFields + [("reason", .string(reason)), ("remaining", .int(self.pool.connections(token: c.token).count))])
            self.forwarded.connectionClosed(c)
        }
        socket.emit("identify", [.object([("capabilities", .array([.string("receive-post-streams"), .string(BrokerClient.chunkAnswersCapability)]))])],
                    ack: nil)
    }

    private func onEvent(_ c: ClientConnection, _ event: String, _ args: [JSON], _ ack: (([JSON]) -> Void)?) {
        switch event {
        case "identify": identify(c, args.first ?? .null)
        case "request":
            guard c.identified else {
                logger.warn("request event before identify; ignored", c.identity.logFields)
                return
            }
            upstream.relay(from: c, payload: args.first ?? .null, ack: ack)
        case "chunk":
            guard c.identified else {
                logger.warn("chunk event before identify; ignored", c.identity.logFields)
                return
            }
            forwarded.receiveChunk(from: c, args)
        default:
            logger.debug("event ignored", c.identity.logFields + [("event", .string(event))])
        }
    }

    /// Whether `token` (lower-cased) may open one more socket; a refusal is logged with the token's
    /// hash and masked form only, and counted.
    private func hasRoomForSocket(token: String) -> Bool {
        let open = pool.connections(token: token).count
        guard open >= settings.maxSocketsPerToken else { return true }
        stats.count(.down, "socket_limit")
        logger.warn("rejected broker client websocket connection", TokenIdentity(token).logFields +
                    [("reason", .string("the token has \(open) sockets open, the most BROKER_MAX_SOCKETS_PER_TOKEN allows"))])
        return false
    }

    /// The client's `identify` (snyk's socketHandlers/identifyHandler.ts): its token must be the one
    /// of the socket's path, its version at least the minimal supported one.
    func identify(_ c: ClientConnection, _ data: JSON) {
        let token: String?
        var metadata: JSON = .null
        if case .string(let s) = data { token = s } else { token = data["token"]?.string; metadata = data["metadata"] ?? .null }
        guard let token, token.lowercased() == c.token else {
            refuse(c, reason: token == nil ? "identified without a token" : "identified with another token than its path's")
            return
        }
        let version = metadata["version"]?.string ?? "pre-4.27"
        if version != "local" {
            guard let v = ClientVersion(version), let min = ClientVersion(settings.minimalClientVersion), !(v < min) else {
                c.socket.emit("notification", [.object([("level", .string("error")),
                    ("message", .string("Broker client version is outdated. Minimal version: \(settings.minimalClientVersion). Please upgrade to latest version."))])], ack: nil)
                refuse(c, reason: "client version \(version) is below the minimal \(settings.minimalClientVersion)")
                return
            }
        }
        c.version = version
        c.capabilities = metadata["capabilities"]?.array?.compactMap { $0.string } ?? []
        if let id = metadata["clientId"]?.string { c.clientId = id }
        if let role = metadata["role"]?.string { c.role = role }
        c.identified = true
        if let t = c.identifyTimer { reactor?.cancel(t); c.identifyTimer = nil }
        pool.identified(c)
        logger.info("client identified", c.identity.logFields + [("clientId", .string(c.clientId ?? "")), ("version", .string(version)),
                                                                ("role", .string(c.role ?? "")), ("capabilities", .array(c.capabilities.map { .string($0) }))])
    }

    private func refuse(_ c: ClientConnection, reason: String) {
        logger.warn("client refused", c.identity.logFields + [("reason", .string(reason))])
        c.socket.close(reason: reason)
    }

    // MARK: shutdown

    /// SIGTERM: new /broker requests get 503; requests still waiting for their answer get until the
    /// drain timeout to start it (else 502); then the HTTP server drains (streams in progress finish)
    /// and the sockets close.
    public func beginShutdown() {
        guard !draining else { return }
        draining = true
        forwarded.whenQuiet(timeoutMilliseconds: settings.server.drainTimeoutMs) { [unowned self] in
            for c in self.pool.all { c.socket.close(reason: "server shutting down") }
            self.server?.beginDrain()
        }
    }

    /// Runs until a drain completes (SIGTERM/SIGINT).
    public func run() throws(SystemError) {
        guard let server else { return }
        try server.run()
    }
}
