// The broker clients connected to the server, by token: each socket (a client has a primary and a
// secondary; a token may have several clients) and whether it has identified itself. Requests are
// spread round robin over the identified sockets of a token. Lives on the server's reactor thread.
import Core

/// One tunnel socket of a client.
final class ClientConnection {
    let socket: TunnelSocket
    /// The token from the socket's path, lower-cased.
    let token: String
    let identity: TokenIdentity
    /// From the upgrade request's x-snyk-broker-client-id / x-snyk-broker-client-role, then identify.
    var clientId: String?
    var role: String?
    var version: String?
    var capabilities: [String] = []
    var identified = false
    /// Closes the socket if it has not identified in time (BROKER_IDENTIFY_TIMEOUT_MS).
    var identifyTimer: TimerID?
    let connectedAt = Reactor.now()

    init(socket: TunnelSocket, token: String, clientId: String?, role: String?) {
        self.socket = socket
        self.token = token.lowercased()
        self.identity = TokenIdentity(self.token)
        self.clientId = clientId
        self.role = role
    }

    /// Whether the client reads answers as POST /response-data streams (else through the emitter ack).
    var streamsAnswers: Bool { capabilities.contains("post-streams") }
}

final class ClientPool {
    enum Pick {
        /// No socket for the token.
        case none
        /// Sockets, but none identified yet.
        case notReady
        /// Identified sockets, none with room for what is to be sent (`hasRoom` refused them all).
        case overloaded
        case ready(ClientConnection)
    }

    private var byToken: [String: [ClientConnection]] = [:]
    private var cursor: [String: Int] = [:]
    /// Called after every change, with a summary for the metrics.
    var onChange: (([String: PoolCounts]) -> Void)?

    struct PoolCounts: Sendable, Equatable {
        var identified = 0
        var pending = 0
        var clients = 0
    }

    func add(_ c: ClientConnection) {
        byToken[c.token, default: []].append(c)
        changed()
    }

    func remove(_ c: ClientConnection) {
        guard var list = byToken[c.token] else { return }
        list.removeAll { $0 === c }
        if list.isEmpty { byToken[c.token] = nil; cursor[c.token] = nil } else { byToken[c.token] = list }
        changed()
    }

    func identified(_ c: ClientConnection) { changed() }

    /// The next identified, open socket for `token` that `hasRoom` accepts, round robin.
    func pick(token: String, hasRoom: ((ClientConnection) -> Bool)? = nil) -> Pick {
        let key = token.lowercasedASCIIIfNeeded
        guard let list = byToken[key], !list.isEmpty else { return .none }
        let start = cursor[key] ?? 0
        var full = false
        for step in 0..<list.count {
            let i = (start + step) % list.count
            if list[i].identified && list[i].socket.isOpen {
                if let hasRoom, !hasRoom(list[i]) { full = true; continue }
                cursor[key] = i + 1
                return .ready(list[i])
            }
        }
        return full ? .overloaded : .notReady
    }

    func connections(token: String) -> [ClientConnection] { byToken[token.lowercased()] ?? [] }
    var all: [ClientConnection] { byToken.values.flatMap { $0 } }

    /// Per token hash: sockets identified and pending, and distinct identified clients.
    func counts() -> [String: PoolCounts] {
        var out: [String: PoolCounts] = [:]
        for (_, list) in byToken {
            guard let first = list.first else { continue }
            var c = PoolCounts()
            var ids = Set<String>()
            for s in list {
                if s.identified { c.identified += 1; ids.insert(s.clientId ?? "socket-\(ObjectIdentifier(s).hashValue)") } else { c.pending += 1 }
            }
            c.clients = ids.count
            out[first.identity.hashed] = c
        }
        return out
    }

    private func changed() { onChange?(counts()) }
}
