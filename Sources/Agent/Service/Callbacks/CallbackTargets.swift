// Where an operation's callbacks go, fixed when its request is accepted: the base, the headers copied
// from the request, and the path of each kind of callback under the base.
import Core

extension CallbackSender {
    /// Headers copied from the triggering request onto every callback.
    static let copiedHeaderNames = ["snyk-broker-connection-identifier", "snyk-request-id"]
    /// A copied header longer than this is left out rather than cut (a cut id would name nothing).
    static let maxCopiedHeaderBytes = 1024

    /// Where the callbacks of a request go: BROKER_CLIENT_URL when set, else its `x-broker-client-url`
    /// header; a body `callbackUrl` only when its origin equals that base. None: 400.
    static func target(for request: HTTPRequestHead, bodyCallbackURL: String?, environment: Environment) -> Result<CallbackTarget, ServiceError> {
        let base: CallbackURL
        if let configured = environment["BROKER_CLIENT_URL"] {
            switch CallbackURL.parse(configured) {
            case .success(let u): base = u
            case .failure(let e): return .failure(.badRequest("the agent's BROKER_CLIENT_URL \(e.reason); fix the agent's setting"))
            }
        } else if let header = request.headers["x-broker-client-url"], !header.trimmed(" \t").isEmpty {
            switch CallbackURL.parse(header) {
            case .success(let u): base = u
            case .failure(let e): return .failure(.badRequest("the x-broker-client-url header \(e.reason)"))
            }
        } else {
            return .failure(.badRequest("no callback base: set BROKER_CLIENT_URL on the agent, or send the x-broker-client-url header (the broker client adds it)"))
        }
        var chosen = base
        if let body = bodyCallbackURL, !body.trimmed(" \t").isEmpty {
            switch CallbackURL.parse(body) {
            case .failure(let e): return .failure(.badRequest("callbackUrl \(e.reason)"))
            case .success(let u):
                guard u.origin == base.origin else {
                    return .failure(.badRequest("callbackUrl's origin \(u.origin) is not the callback base's origin \(base.origin); results go only to the broker client"))
                }
                chosen = u
            }
        }
        var copied: [(String, String)] = []
        for name in copiedHeaderNames {
            if let v = request.headers[name], !v.isEmpty, v.utf8.count <= maxCopiedHeaderBytes { copied.append((name, v)) }
        }
        return .success(CallbackTarget(base: chosen.base, copiedHeaders: copied))
    }

    /// `{` ... `}` around optional whitespace: a cheap check that an embedded result cannot break its body.
    static func looksLikeJSONObject(_ bytes: [UInt8]) -> Bool {
        let space: Set<UInt8> = [0x20, 0x0A, 0x0D, 0x09]
        guard let first = bytes.firstIndex(where: { !space.contains($0) }),
              let last = bytes.lastIndex(where: { !space.contains($0) }), first < last else { return false }
        return bytes[first] == UInt8(ascii: "{") && bytes[last] == UInt8(ascii: "}")
    }

    /// The path a callback of `kind` goes to under its target's base.
    static func resultPath(_ kind: OperationKind) -> String {
        switch kind {
        case .scan: return "/api/v2/import/result"
        case .discover: return "/api/v1/recurring-tests/dependencies"
        }
    }

    /// Both kinds end at import/done: the broker's default accept rules have no discover-specific end.
    static let donePath = "/api/v2/import/done"
}
