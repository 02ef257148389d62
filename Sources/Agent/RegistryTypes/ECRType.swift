// ecr: Amazon ECR. The given credentials are an AWS role (the broker's CR_CREDENTIALS of type ecr, or
// CR_ROLE_ARN / CR_REGION / CR_EXTERNAL_ID) that the agent's own identity assumes with STS; ECR then hands
// out a registry login for its proxyEndpoint, and lists through its API (its registry serves no catalog).
import Core

struct ECRType: RegistryType {
    let name = "ecr"
    let repositoryListing = RepositoryListing.vendorAPI("ECR DescribeRepositories and ListImages")
    /// Where sessions and logins are kept between requests (the process's own; tests give theirs).
    var cache = AWSSessionCache.shared

    /// A failed exchange, as the caller reports it: a chain that found no identity is a configuration
    /// error naming AWS_ACCESS_KEY_ID (exit 2), anything else the exchange's own error.
    static func failure(_ e: RegistryError) -> RegistryAccessFailure {
        if e.code == ECRLoginFlow.noIdentityCode {
            return .configuration(ConfigurationError(variable: "AWS_ACCESS_KEY_ID", message: e.message).description)
        }
        return .registry(e)
    }

    func source(fromBroker given: BrokerCredentials) -> Result<CredentialSource, ConfigurationError> {
        guard let region = given.region, !region.isEmpty else {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "type ecr needs extra.region"))
        }
        let base = given.registryBase?.trimmed(" \t")
        return .success(.awsRole(ECRRole(roleArn: given.roleArn.flatMap { $0.isEmpty ? nil : $0 }, region: region,
                                         externalID: given.externalID.flatMap { $0.isEmpty ? nil : $0 },
                                         registryBase: base.flatMap { $0.isEmpty || $0 == "undefined" || $0 == "null" ? nil : $0 })))
    }

    func source(fromVariables env: Environment) -> Result<CredentialSource?, ConfigurationError> {
        guard let region = env["CR_REGION"] else {
            return .failure(ConfigurationError(variable: "CR_REGION", message: "CR_TYPE=ecr needs the registry's AWS region"))
        }
        return .success(.awsRole(ECRRole(roleArn: env["CR_ROLE_ARN"], region: region, externalID: env["CR_EXTERNAL_ID"])))
    }

    /// The login's credentials, for the registry they belong to (`login(_:session:done:)`): any other
    /// `registry` is refused them.
    func registryCredentials(_ access: RegistryAccess, registry: RegistryBase, session: RegistrySession,
                             done: @escaping (Result<RegistryCredentials, RegistryAccessFailure>) -> Void) {
        login(access, session: session) { result in
            switch result {
            case .failure(let f): done(.failure(f))
            case .success(let (owner, credentials)):
                let wanted = RegistryCredentialSources.canonicalHost(registry.authority)
                guard RegistryCredentialSources.canonicalHost(owner.authority) == wanted else {
                    return done(.failure(.configuration("the ECR login is for \(Redaction.text(String(owner.origin.prefix(200)))) and is not sent to \(registry.authority); name an image on that registry, or set CR_BASE (registryBase) to the registry the login is for")))
                }
                done(.success(credentials))
            }
        }
    }

    /// The ECR login and the registry it belongs to: the credentials' `registryBase`, else CR_BASE as
    /// the operator set it (a pull-through or private endpoint), else the login's `proxyEndpoint`
    /// (`https://<account>.dkr.ecr.<region>.amazonaws.com`). For callers that need the registry of an
    /// ecr credential before naming an image (its repositories are named without a host).
    func login(_ access: RegistryAccess, session: RegistrySession,
               done: @escaping (Result<(registry: RegistryBase, credentials: RegistryCredentials), RegistryAccessFailure>) -> Void) {
        start(access, session: session, done: done) { flow, _, _, finished in
            flow.start { result in
                switch result {
                case .failure(let e): finished(.failure(Self.failure(e)))
                case .success(let login):
                    var given: String?
                    if case .awsRole(let role) = access.source { given = role.registryBase }
                    let named = given ?? access.configuredBase
                    let what = given != nil ? "registryBase" : named != nil ? "CR_BASE" : "the ECR login's proxyEndpoint"
                    guard let owner = try? RegistryBase(parsing: named ?? login.proxyEndpoint) else {
                        return finished(.failure(.configuration("\(what) \(Redaction.text(String((named ?? login.proxyEndpoint).prefix(200)))) is not a registry URL")))
                    }
                    finished(.success((owner, login.credentials)))
                }
            }
        }
    }

    /// ECR's API, signed with the role's credentials (or the agent's own without a role).
    func listing(_ access: RegistryAccess, base: RegistryBase?, pageSize: Int, session: RegistrySession,
                 done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void) {
        start(access, session: session, done: done) { flow, call, aws, finished in
            flow.ecrCredentials { result in
                finished(result.mapError { Self.failure($0) }.map { credentials in
                    let catalog = ECRCatalog(call: call, endpoint: aws.ecrEndpoint, credentials: credentials, pageSize: pageSize)
                    return RegistryListing(repositories: { catalog.listRepositories(onPage: $0, done: $1) },
                                           tags: { repository in { catalog.listTags(repository: repository, onPage: $0, done: $1) } })
                })
            }
        }
    }

    private func start<T>(_ access: RegistryAccess, session: RegistrySession, done: @escaping (Result<T, RegistryAccessFailure>) -> Void,
                          _ body: (ECRLoginFlow, AWSCall, AWSEnvironment, @escaping (Result<T, RegistryAccessFailure>) -> Void) -> Void) {
        guard case .awsRole(let role) = access.source else {
            return done(.failure(.configuration("CR_CREDENTIALS: type ecr needs extra.region (and roleArn), not a user name and password")))
        }
        let aws: AWSEnvironment
        switch AWSEnvironment.from(session.environment, region: role.region) {
        case .success(let a): aws = a
        case .failure(let e): return done(.failure(.configuration(e.description)))
        }
        if case .keys(let keys) = aws.identity {
            Redaction.register(secret: keys.secretAccessKey)
            if let token = keys.sessionToken { Redaction.register(secret: token) }
        }
        let http: HTTPClient
        do { http = try HTTPClient(reactor: session.reactor, configuration: HTTPClientConfiguration(environment: session.environment.values)) } catch {
            return done(.failure(.registry(RegistryError(.network, registry: aws.stsEndpoint, "cannot start the HTTP client: \(error)"))))
        }
        let call = AWSCall(http: http, aws: aws, userAgent: session.userAgent)
        let metadata = AWSMetadataCredentials(http: http, userAgent: session.userAgent)
        // The HTTP client lives as long as the exchange: the callback chain holds it, nothing else does.
        body(ECRLoginFlow(call: call, aws: aws, role: role, metadata: metadata, cache: cache, logger: session.logger), call, aws) { result in
            withExtendedLifetime(http) { done(result) }
        }
    }
}
