// The server side of the opening handshake (RFC 6455 §4.2): checks an HTTP request that asks for an
// upgrade, answers 101 with the accept key and hands the socket to a new WebSocketConnection on the
// same reactor; a request that is not a valid handshake gets a clear 400 (426 for another version).
import CEpoll

public enum WebSocketUpgrade {
    /// Why a request is not a WebSocket handshake: the status to answer and a message naming the problem.
    public struct Refusal: Equatable, Sendable {
        public let status: Int
        public let message: String
    }

    /// The check alone (a pure function of the request head): nil when it is a valid handshake.
    public static func refusal(for head: HTTPRequestHead) -> Refusal? {
        guard head.method == "GET" else {
            return Refusal(status: 400, message: "a WebSocket handshake must be a GET, not \(head.method)")
        }
        guard head.versionMinor >= 1 else { return Refusal(status: 400, message: "a WebSocket handshake needs HTTP/1.1") }
        guard head.headers.values("Upgrade").contains(where: { $0.commaSeparatedTokens().contains { String($0).equalsIgnoringASCIICase("websocket") } }) else {
            return Refusal(status: 400, message: "the Upgrade header must name websocket")
        }
        guard head.headers.values("Connection").contains(where: { $0.commaSeparatedTokens().contains { String($0).equalsIgnoringASCIICase("upgrade") } }) else {
            return Refusal(status: 400, message: "the Connection header must contain upgrade")
        }
        guard head.framing == .none || head.framing == .contentLength(0) else {
            return Refusal(status: 400, message: "a WebSocket handshake carries no body")
        }
        guard let version = head.headers["Sec-WebSocket-Version"] else {
            return Refusal(status: 426, message: "Sec-WebSocket-Version is missing; this server speaks version 13")
        }
        guard version.trimmed(" \t") == "13" else {
            return Refusal(status: 426, message: "Sec-WebSocket-Version \(version) is not supported; this server speaks version 13")
        }
        let keys = head.headers.values("Sec-WebSocket-Key")
        guard keys.count == 1 else {
            return Refusal(status: 400, message: keys.isEmpty ? "Sec-WebSocket-Key is missing" : "more than one Sec-WebSocket-Key")
        }
        guard WebSocketHandshake.isValidKey(String(keys[0].trimmed(" \t"))) else {
            return Refusal(status: 400, message: "Sec-WebSocket-Key must be the base64 of 16 bytes")
        }
        return nil
    }

    /// Answers `exchange`: a 101 and then `onOpen` with the connection (on the exchange's reactor), or
    /// the refusal. Returns whether the handshake was accepted. `headers` go on the 101.
    @discardableResult
    public static func accept(_ exchange: HTTPExchange, configuration: WebSocketConfiguration, headers extra: HTTPHeaders = HTTPHeaders(),
                              onOpen: @escaping (WebSocketConnection) -> Void) -> Bool {
        if let r = refusal(for: exchange.request) {
            var h = HTTPHeaders()
            if r.status == 426 { h.set("Sec-WebSocket-Version", "13"); h.set("Upgrade", "websocket") }
            exchange.respond(status: r.status, json: HTTPError(r.status, r.message).jsonBody, headers: h)
            return false
        }
        guard let reactor = exchange.reactor else { return false }
        let key = String(exchange.request.headers["Sec-WebSocket-Key"]!.trimmed(" \t"))
        exchange.handOver { socket in
            do {
                onOpen(try WebSocketConnection(handedOver: socket, reactor: reactor, configuration: configuration))
            } catch {
                if let ssl = socket.tlsSession { cep_tls_free(ssl) }
                _ = cep_close(socket.fd)
            }
        }
        var h = extra
        h.set("Upgrade", "websocket")
        h.set("Connection", "Upgrade")
        h.set("Sec-WebSocket-Accept", WebSocketHandshake.accept(forKey: key))
        exchange.respond(status: 101, headers: h)
        return true
    }
}
