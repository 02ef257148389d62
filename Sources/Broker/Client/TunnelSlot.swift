// One of the client's two tunnel sockets (primary or secondary): dials, identifies itself as snyk's
// client does (openHandler.ts), takes `request` events and the server's `identify`, and dials again with
// backoff when the socket is lost. Lives on the client's reactor.
import Core

final class TunnelSlot {
    enum State {
        case idle
        case dialing
        case open(any TunnelSocket)
        case waiting(seconds: Double)
        case stopped
    }

    let role: String
    private unowned let owner: BrokerClient
    private(set) var state: State = .idle
    /// What the server said it can do in its `identify` (e.g. receive-post-streams).
    private(set) var serverCapabilities: [String] = []
    private var backoff = ReconnectBackoff()
    /// Callback exchanges waiting for the server's ack on this socket, by sequence number.
    private var waitingCallbacks: [Int: (String) -> Void] = [:]
    private var nextCallback = 0
    /// Each dial's generation: a completion from an abandoned dial is ignored.
    private var generation = 0

    init(role: String, owner: BrokerClient) {
        self.role = role
        self.owner = owner
    }

    var socket: (any TunnelSocket)? {
        if case .open(let s) = state, s.isOpen { return s }
        return nil
    }

    var isOpen: Bool { socket != nil }

    /// Bytes the open socket has waiting to be written: what a callback checks before it adds more, so
    /// the agent's callbacks cannot queue on the tunnel without bound.
    var queuedBytes: Int { socket?.bufferedBytes ?? 0 }

    func start() {
        guard case .idle = state else { return }
        dial()
    }

    private func dial() {
        generation += 1
        let mine = generation
        state = .dialing
        owner.metrics.dials.bump()
        let request = TunnelDialRequest.make(serverURL: owner.settings.serverURL, token: owner.settings.brokerToken, role: role,
                                             clientId: owner.clientId, version: owner.settings.clientVersion)
        owner.dialer(owner.reactor, request) { [weak self] result in
            guard let self, self.generation == mine else {
                if case .success(let s) = result { s.close(reason: "no longer wanted") }
                return
            }
            if case .stopped = self.state {
                if case .success(let s) = result { s.close(reason: "client stopping") }
                return
            }
            switch result {
            case .success(let socket): self.opened(socket)
            case .failure(let why):
                self.owner.logger.warn("cannot open the tunnel socket", [("role", .string(self.role)), ("error", .string(why.description))])
                self.scheduleDial()
            }
        }
    }

    private func opened(_ socket: any TunnelSocket) {
        state = .open(socket)
        backoff.reset()
        owner.metrics.socketsOpen.bump()
        let mine = generation
        socket.onEvent = { [weak self] event, args, ack in self?.event(event, args, ack) }
        socket.onClose = { [weak self] why in
            guard let self, self.generation == mine else { return }
            self.lost(why)
        }
        owner.logger.info("tunnel socket open", [("role", .string(role)), ("server", .string(owner.settings.serverURL))])
        socket.emit("identify", [owner.identifyPayload(role: role)], ack: nil)
    }

    private func lost(_ why: String) {
        owner.metrics.socketsOpen.bump(-1)
        owner.metrics.socketsLost.bump()
        serverCapabilities = []
        let waiting = waitingCallbacks
        waitingCallbacks = [:]
        for (_, fail) in waiting.sorted(by: { $0.key < $1.key }) { fail("the tunnel socket closed before the server answered: \(why)") }
        if case .stopped = state { return }
        owner.logger.warn("tunnel socket lost", [("role", .string(role)), ("reason", .string(why))])
        scheduleDial()
    }

    private func scheduleDial() {
        let delay = backoff.nextDelay(random: owner.random())
        state = .waiting(seconds: Double(delay) / 1000)
        let mine = generation
        owner.schedule(delay) { [weak self] in
            guard let self, self.generation == mine, case .waiting = self.state else { return }
            self.dial()
        }
    }

    private func event(_ name: String, _ args: [JSON], _ ack: (([JSON]) -> Void)?) {
        switch name {
        case "identify":
            serverCapabilities = args.first?["capabilities"]?.array?.compactMap(\.string) ?? []
        case "request":
            owner.received(args.first ?? .null, role: role, ack: ack)
        default:
            owner.logger.debug("event ignored", [("event", .string(name)), ("role", .string(role))])
        }
    }

    /// Emits a callback `request` up this socket; `fail` runs if the socket closes before the ack. Returns
    /// the callback's key (for `forgetCallback`), nil when the socket is not open.
    func emitCallback(_ payload: JSON, answer: @escaping ([JSON]) -> Void, fail: @escaping (String) -> Void) -> Int? {
        guard let socket else { return nil }
        nextCallback += 1
        let key = nextCallback
        waitingCallbacks[key] = fail
        socket.emit("request", [payload]) { [weak self] args in
            guard let self, self.waitingCallbacks.removeValue(forKey: key) != nil else { return }
            answer(args)
        }
        return key
    }

    /// Callbacks emitted on this socket and waiting for the server's ack.
    var waitingCallbackCount: Int { waitingCallbacks.count }

    /// The caller stopped waiting (timeout): a late ack is then ignored and nothing is kept for it.
    func forgetCallback(_ key: Int) { waitingCallbacks[key] = nil }

    func stop() {
        let wasOpen = socket
        generation += 1
        state = .stopped
        let waiting = waitingCallbacks
        waitingCallbacks = [:]
        for (_, fail) in waiting.sorted(by: { $0.key < $1.key }) { fail("the client is shutting down") }
        if let wasOpen {
            owner.metrics.socketsOpen.bump(-1)
            wasOpen.close(reason: "client stopping")
        }
    }
}
