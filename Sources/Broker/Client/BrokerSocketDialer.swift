// The product's tunnel dialer: a WebSocket connection (Core) to the broker server carrying a BrokerSocket
// in the client role (engine.io + Primus + primus-emitter); it completes once engine.io's open packet is in.
import Core

public enum BrokerSocketDialer {
    /// `configuration` carries BROKER_MAX_MESSAGE_BYTES, CA_CERT and the proxies (HTTPS_PROXY with CONNECT).
    public static func make(configuration: WebSocketConfiguration) -> TunnelDialer {
        { reactor, request, done in
            var finished = false
            func finish(_ result: Result<any TunnelSocket, TunnelDialFailure>) {
                guard !finished else { return }
                finished = true
                done(result)
            }
            WebSocketConnection.connect(url: request.url, headers: request.headers, reactor: reactor, configuration: configuration) { result in
                switch result {
                case .failure(let error):
                    finish(.failure(TunnelDialFailure(error.description)))
                case .success(let connection):
                    let socket = BrokerSocket(channel: connection, role: .client(BrokerSocket.ClientHeartbeat()), timers: ReactorTunnelTimers(reactor: reactor))
                    // The closures hold the socket until it opens or fails; then they are cleared (no cycle
                    // outlives the dial), and the slot that takes the socket holds it.
                    socket.onOpen = { [socket] in
                        socket.onOpen = nil
                        socket.onClose = nil
                        finish(.success(socket))
                    }
                    socket.onClose = { [socket] why in
                        socket.onOpen = nil
                        socket.onClose = nil
                        finish(.failure(TunnelDialFailure("the server closed the socket before engine.io's open packet: \(why)")))
                    }
                    socket.start()
                }
            }
        }
    }
}
