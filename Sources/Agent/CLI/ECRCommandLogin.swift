// The ecr registry type for CLI commands: asked for by CR_CREDENTIALS of type `ecr` (the broker's form)
// or by CR_TYPE=ecr with CR_REGION, CR_ROLE_ARN and CR_EXTERNAL_ID; the login runs on the command's
// reactor before the registry client is made.
import Core

enum ECRCommandLogin {
    /// One line for the user, and the exit status: 2 for a configuration error, 1 for a failed login.
    struct Failure: Error {
        let message: String
        let exitCode: Int32
    }

    /// The registry credentials of an ECR login when the environment asks for the ecr type (run on
    /// `reactor`), nil when it does not. They are for the login's `proxyEndpoint`, or for CR_BASE when
    /// the operator set it (a pull-through or private endpoint): any other `registry` is refused them.
    static func credentials(_ env: Environment, reactor: Reactor, registry: RegistryBase) -> Result<RegistryCredentials?, Failure> {
        switch role(env) {
        case .failure(let e): return .failure(Failure(message: e.description, exitCode: 2))
        case .success(nil): return .success(nil)
        case .success(let role?):
            return login(role, env: env, reactor: reactor, userAgent: "cr-agent/\(ProductVersion.current)").flatMap { login in
                if env["CR_BASE"] != nil { return .success(login.credentials) }
                guard let endpoint = try? RegistryBase(parsing: login.proxyEndpoint), endpoint.authority == registry.authority else {
                    return .failure(Failure(message: "the ECR login is for \(Redaction.text(String(login.proxyEndpoint.prefix(200)))) and is not sent to \(registry.authority); name an image on that registry, or set CR_BASE to the registry the login is for", exitCode: 2))
                }
                return .success(login.credentials)
            }
        }
    }

    /// The role to log in with, nil when the environment does not ask for the ecr type.
    static func role(_ env: Environment) -> Result<ECRRole?, ConfigurationError> {
        if let raw = env["CR_CREDENTIALS"] {
            guard let bytes = Base64.decode(raw.trimmingCharactersSpace()), let json = try? JSON.parse(bytes),
                  json["type"]?.string == "ecr" else { return .success(nil) }
            guard let region = json["extra"]?["region"]?.string, !region.isEmpty else {
                return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "type ecr needs extra.region"))
            }
            return .success(ECRRole(roleArn: json["roleArn"]?.string.flatMap { $0.isEmpty ? nil : $0 }, region: region,
                                    externalID: json["extra"]?["externalId"]?.string.flatMap { $0.isEmpty ? nil : $0 }))
        }
        guard env["CR_TYPE"] == "ecr" else { return .success(nil) }
        guard let region = env["CR_REGION"] else {
            return .failure(ConfigurationError(variable: "CR_REGION", message: "CR_TYPE=ecr needs the registry's AWS region"))
        }
        return .success(ECRRole(roleArn: env["CR_ROLE_ARN"], region: region, externalID: env["CR_EXTERNAL_ID"]))
    }

    /// Runs STS and ECR on `reactor` until the login is done.
    static func login(_ role: ECRRole, env: Environment, reactor: Reactor, userAgent: String) -> Result<ECRLogin, Failure> {
        run(role, env: env, reactor: reactor, userAgent: userAgent) { flow, _, _, done in flow.start(done: done) }
    }

    /// ECR's listing with the credentials of the role (or the agent's own), after STS has run on `reactor`.
    static func catalog(_ role: ECRRole, env: Environment, reactor: Reactor, pageSize: Int) -> Result<ECRCatalog, Failure> {
        run(role, env: env, reactor: reactor, userAgent: "cr-agent/\(ProductVersion.current)") { flow, call, aws, done in
            flow.ecrCredentials { result in
                done(result.map { ECRCatalog(call: call, endpoint: aws.ecrEndpoint, credentials: $0, pageSize: pageSize) })
            }
        }
    }

    private static func run<T>(_ role: ECRRole, env: Environment, reactor: Reactor, userAgent: String,
                               _ body: (ECRLoginFlow, AWSCall, AWSEnvironment, @escaping (Result<T, RegistryError>) -> Void) -> Void) -> Result<T, Failure> {
        let aws: AWSEnvironment
        switch AWSEnvironment.from(env, region: role.region) {
        case .success(let a): aws = a
        case .failure(let e): return .failure(Failure(message: e.description, exitCode: 2))
        }
        if case .keys(let keys) = aws.identity {
            Redaction.register(secret: keys.secretAccessKey)
            if let token = keys.sessionToken { Redaction.register(secret: token) }
        }
        let http: HTTPClient
        do { http = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(environment: env.values)) } catch {
            return .failure(Failure(message: "cannot start the HTTP client: \(error)", exitCode: 1))
        }
        let call = AWSCall(http: http, aws: aws, userAgent: userAgent)
        var outcome: Result<T, RegistryError>?
        body(ECRLoginFlow(call: call, aws: aws, role: role), call, aws) { result in
            outcome = result
            reactor.stop()
        }
        reactor.run()
        switch outcome {
        case .success(let value)?: return .success(value)
        case .failure(let e)?: return .failure(Failure(message: e.description, exitCode: 1))
        case nil: return .failure(Failure(message: "the event loop stopped before the ECR login finished", exitCode: 1))
        }
    }
}
