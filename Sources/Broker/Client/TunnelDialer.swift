// How the client opens one tunnel socket: the URL and handshake headers snyk's client uses (socket.ts),
// handed to a dialer that completes with an open socket (engine.io open packet seen) or why not.
import Core

public struct TunnelDialRequest: Sendable {
    /// `<BROKER_SERVER_URL>/primus/<token>/?EIO=4&transport=websocket&connection_role=<role>`.
    public var url: String
    /// x-snyk-broker-client-id, x-snyk-broker-client-role, x-broker-client-version, snyk-request-id.
    public var headers: HTTPHeaders
    public var role: String

    public init(url: String, headers: HTTPHeaders, role: String) {
        self.url = url
        self.headers = headers
        self.role = role
    }

    static func make(serverURL: String, token: String, role: String, clientId: String, version: String) -> TunnelDialRequest {
        var base = serverURL
        while base.hasSuffix("/") { base.removeLast() }
        let url = "\(base)/primus/\(token)/?EIO=4&transport=websocket&connection_role=\(role)"
        let headers: HTTPHeaders = ["x-snyk-broker-client-id": clientId, "x-snyk-broker-client-role": role,
                                    "x-broker-client-version": version, "snyk-request-id": BrokerClient.newUUID()]
        return TunnelDialRequest(url: url, headers: headers, role: role)
    }
}

public struct TunnelDialFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Opens a socket on `reactor` and calls the completion there, once.
public typealias TunnelDialer = (_ reactor: Reactor, _ request: TunnelDialRequest,
                                 _ completion: @escaping (Result<any TunnelSocket, TunnelDialFailure>) -> Void) -> Void

/// A filter that can show its rules: the client sends them in `identify` (metadata.filters), as snyk's does.
public protocol FilterRulesDocument {
    var rulesDocument: JSON { get }
}
