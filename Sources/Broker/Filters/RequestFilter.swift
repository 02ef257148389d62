// The accept filter as the client and server use it: one decision per request, made by the first
// matching rule of snyk/broker's filter format (Filters/AcceptFilter.swift implements it).
import Core

/// Which list of rules a request is checked against: `private` for requests coming down the tunnel
/// to the agent, `public` for requests going up (the agent's callbacks).
public enum FilterDirection: String, Sendable {
    case privateRules = "private"
    case publicRules = "public"
}

/// A request as the filter sees it. `url` is the path with its query, exactly as received (the
/// filter itself normalises and compares).
public struct FilterRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, url: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public enum FilterDecision: Sendable {
    /// Allowed by a rule: where to send it (the rule's origin with `${VAR}` filled, nil for public
    /// rules without an origin), and the request after variable substitution (headers and body).
    case allowed(origin: String?, request: FilterRequest)
    /// No rule matched, or the request's path is not in normal form: why (for the audit log and the
    /// 401 `FILTER_BLOCKED` body).
    case blocked(reason: String)
}

public protocol RequestFilter: Sendable {
    func decide(_ request: FilterRequest, direction: FilterDirection) -> FilterDecision
}
