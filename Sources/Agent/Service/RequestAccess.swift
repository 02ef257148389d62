// The registry access a request brings: its `authorization` header carries the broker's CR_CREDENTIALS
// (raw base64, or `Bearer <base64>`), read by the same credential chain the commands use. Without the
// header, the agent's own CR_* settings apply when set (a standalone agent), else the request is 401.
import Core

enum RequestAccess {
    /// How long a request's secrets stay masked after it arrived (the longest a request's work lasts,
    /// with a wide margin); then they leave the bounded secret set.
    static let secretLifetime = 3600

    /// The request's CR_CREDENTIALS as sent (without a `Bearer ` scheme); nil: none (the agent's own settings).
    static func rawCredentials(_ request: HTTPRequestHead) -> String? {
        guard var raw = request.headers["authorization"]?.trimmed(" \t"), !raw.isEmpty else { return nil }
        if raw.lowercased().hasPrefix("bearer ") { raw = String(raw.dropFirst(7)).trimmed(" \t") }
        return raw.isEmpty ? nil : raw
    }

    /// The access for `request`, or a 401/400 whose message never quotes the header's value.
    static func access(for request: HTTPRequestHead, service: AgentService) -> Result<RegistryAccess, ServiceError> {
        let env = service.environment
        var defaultType: (any RegistryType)?
        if let name = env["CR_TYPE"], !name.trimmed(" \t").isEmpty { defaultType = RegistryTypes.named(name) }
        guard let raw = rawCredentials(request) else {
            if env["CR_CREDENTIALS"] != nil || env["CR_USERNAME"] != nil || env["CR_TOKEN"] != nil || env["CR_ROLE_ARN"] != nil {
                return RegistryAccess.fromEnvironment(env).mapError { .badRequest("the agent's own registry settings: \($0)") }
            }
            return .failure(.unauthorized("no credentials: send the registry's CR_CREDENTIALS (base64 JSON) in the authorization header"))
        }
        // The value, its decoded JSON line and the secrets in it are masked wherever they might be
        // logged: a registry's error text or a debug line may quote any of them.
        Redaction.register(secret: raw, expiresInSeconds: secretLifetime)
        if let decoded = Base64.decode(raw) {
            Redaction.register(secret: String(decoding: decoded, as: UTF8.self).trimmed(" \t\r\n"), expiresInSeconds: secretLifetime)
        }
        switch RegistryAccess.fromBrokerCredentials(raw, defaultType: defaultType, configuredBase: env["CR_BASE"]) {
        case .success(let a):
            switch a.source {
            case .broker(let c, _):
                if let password = c.password, !password.isEmpty { Redaction.register(secret: password, expiresInSeconds: secretLifetime) }
            case .awsRole(let role):
                if let id = role.externalID, !id.isEmpty { Redaction.register(secret: id, expiresInSeconds: secretLifetime) }
            default: break
            }
            return .success(a)
        case .failure(let e):
            // The parser's messages name fields, never values; still pass them through the redactor.
            return .failure(.unauthorized("the authorization header is not usable CR_CREDENTIALS: \(Redaction.scrub(e.description))"))
        }
    }
}
