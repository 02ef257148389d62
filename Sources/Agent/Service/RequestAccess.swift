// The registry access a request brings: its `authorization` header carries the broker's CR_CREDENTIALS
// (raw base64, or `Bearer <base64>`), read by the same credential chain the commands use. Without the
// header, the agent's own CR_* settings apply when set (a standalone agent), else the request is 401.
import Core

enum RequestAccess {
    /// The access for `request`, or a 401/400 whose message never quotes the header's value.
    static func access(for request: HTTPRequestHead, service: AgentService) -> Result<RegistryAccess, ServiceError> {
        let env = service.environment
        var defaultType: (any RegistryType)?
        if let name = env["CR_TYPE"], !name.trimmed(" \t").isEmpty { defaultType = RegistryTypes.named(name) }
        guard var raw = request.headers["authorization"]?.trimmed(" \t"), !raw.isEmpty else {
            if env["CR_CREDENTIALS"] != nil || env["CR_USERNAME"] != nil || env["CR_TOKEN"] != nil || env["CR_ROLE_ARN"] != nil {
                return RegistryAccess.fromEnvironment(env).mapError { .badRequest("the agent's own registry settings: \($0)") }
            }
            return .failure(.unauthorized("no credentials: send the registry's CR_CREDENTIALS (base64 JSON) in the authorization header"))
        }
        if raw.lowercased().hasPrefix("bearer ") { raw = String(raw.dropFirst(7)).trimmed(" \t") }
        Redaction.register(secret: raw, expiresInSeconds: 3600)
        switch RegistryAccess.fromBrokerCredentials(raw, defaultType: defaultType, configuredBase: env["CR_BASE"]) {
        case .success(let a):
            if case .broker(let c, _) = a.source, let password = c.password, !password.isEmpty {
                Redaction.register(secret: password, expiresInSeconds: 3600)
            }
            return .success(a)
        case .failure(let e):
            // The parser's messages name fields, never values; still pass them through the redactor.
            return .failure(.unauthorized("the authorization header is not usable CR_CREDENTIALS: \(Redaction.scrub(e.description))"))
        }
    }
}
