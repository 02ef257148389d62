// The one credential chain, for every command and for requests: CR_CREDENTIALS (the broker's base64
// JSON, from the environment or a request's `authorization` header), else the CR_* variables as the
// type reads them (CR_USERNAME/CR_PASSWORD/CR_TOKEN; ecr: CR_ROLE_ARN/CR_REGION/CR_EXTERNAL_ID), else the
// Docker config file's `auths` entry for the registry, else anonymous. Credentials are scoped: the
// broker's go only to their `registryBase` (or their type's own registry), a Docker config entry only to
// its host, CR_USERNAME/CR_PASSWORD to the registry the command names.
import Core

/// What the chain found, and the type it is for (nil: CR_TYPE unset, any distribution registry).
struct RegistryAccess: Sendable {
    let type: (any RegistryType)?
    let source: CredentialSource
    /// CR_BASE as the operator set it (ecr: the registry a login is sent to in place of its proxyEndpoint).
    let configuredBase: String?

    /// The chain over the environment of a command.
    static func fromEnvironment(_ env: Environment) -> Result<RegistryAccess, ConfigurationError> {
        var type: (any RegistryType)?
        if let name = env["CR_TYPE"], !name.trimmed(" \t").isEmpty {
            switch RegistryTypes.lookup(name, variable: "CR_TYPE") {
            case .failure(let e): return .failure(e)
            case .success(let t): type = t
            }
        }
        if let raw = env["CR_CREDENTIALS"] {
            return fromBrokerCredentials(raw, defaultType: type, configuredBase: env["CR_BASE"])
        }
        let variables = type.map { $0.source(fromVariables: env) } ?? DistributionAccess.source(fromVariables: env)
        switch variables {
        case .failure(let e): return .failure(e)
        case .success(let s?): return .success(RegistryAccess(type: type, source: s, configuredBase: env["CR_BASE"]))
        case .success(nil): break
        }
        let dir = env["DOCKER_CONFIG"] ?? env["HOME"].map { "\($0)/.docker" }
        return .success(RegistryAccess(type: type, source: dir.map { .dockerConfig(directory: $0) } ?? .anonymous, configuredBase: env["CR_BASE"]))
    }

    /// The broker's CR_CREDENTIALS alone (a request's `authorization` header, or the variable); its
    /// `type` wins over `defaultType` (CR_TYPE).
    static func fromBrokerCredentials(_ raw: String, defaultType: (any RegistryType)? = nil, configuredBase: String? = nil) -> Result<RegistryAccess, ConfigurationError> {
        let given: BrokerCredentials
        switch BrokerCredentials.parse(raw) {
        case .failure(let e): return .failure(e)
        case .success(let g): given = g
        }
        var type = defaultType
        if let name = given.type, !name.trimmed(" \t").isEmpty {
            switch RegistryTypes.lookup(name, variable: "CR_CREDENTIALS") {
            case .failure(let e): return .failure(e)
            case .success(let t): type = t
            }
        }
        let source = type.map { $0.source(fromBroker: given) } ?? DistributionAccess.source(fromBroker: given)
        return source.map { RegistryAccess(type: type, source: $0, configuredBase: configuredBase) }
    }

    /// Registry credentials for `registry`, exchanged as the type needs, on `session.reactor`.
    func registryCredentials(for registry: RegistryBase, session: RegistrySession,
                             done: @escaping (Result<RegistryCredentials, RegistryAccessFailure>) -> Void) {
        if let type { return type.registryCredentials(self, registry: registry, session: session, done: done) }
        done(source.credentials(for: registry.authority, type: nil).mapError { .configuration($0.description) })
    }

    /// The listings of `base`, as the type lists, on `session.reactor`.
    func listing(base: RegistryBase?, pageSize: Int, session: RegistrySession,
                 done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void) {
        if let type { return type.listing(self, base: base, pageSize: pageSize, session: session, done: done) }
        DistributionAccess.listing(self, type: nil, base: base, pageSize: pageSize, session: session, done: done)
    }
}

/// Where the chain's credentials came from; each knows the registry it may go to.
enum CredentialSource: Sendable {
    /// CR_CREDENTIALS' user name and password, for their `registryBase` (or their type's registry).
    case broker(RegistryCredentials, registryBase: String?)
    /// CR_USERNAME with CR_PASSWORD, or CR_TOKEN: for the registry the command names.
    case variables(RegistryCredentials)
    /// The `auths` entries of `<directory>/config.json`, each for its own host.
    case dockerConfig(directory: String)
    /// An AWS role to assume for an ECR login (the ecr type exchanges it).
    case awsRole(ECRRole)
    case anonymous

    /// The user name and password this source gives `registryHost` (`host[:port]`).
    func credentials(for registryHost: String, type: (any RegistryType)?) -> Result<RegistryCredentials, ConfigurationError> {
        switch self {
        case .anonymous: return .success(.anonymous)
        case .variables(let c): return .success(c)
        case .dockerConfig(let dir):
            return .success(RegistryCredentialSources.fromDockerConfig(directory: dir, host: RegistryCredentialSources.canonicalHost(registryHost)) ?? .anonymous)
        case .awsRole:
            return .failure(ConfigurationError(variable: "CR_TYPE", message: "an AWS role gives registry credentials through the ecr type's login only"))
        case .broker(let c, let registryBase):
            let owner: String
            switch Self.brokerRegistry(type: type, registryBase: registryBase) {
            case .failure(let e): return .failure(e)
            case .success(let o): owner = o
            }
            let wanted = RegistryCredentialSources.canonicalHost(registryHost)
            guard owner == wanted else {
                return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message:
                    "its credentials are for \(owner) and are not sent to \(wanted), the registry this command names; name an image on \(owner), or give credentials for \(wanted)"))
            }
            return .success(c)
        }
    }

    /// The registry (`host[:port]`) broker credentials belong to: their `registryBase`, or when that is
    /// empty or `undefined` (snyk's plugin writes that) the type's own registry.
    static func brokerRegistry(type: (any RegistryType)?, registryBase: String?) -> Result<String, ConfigurationError> {
        let written = registryBase?.trimmed(" \t") ?? ""
        if written.isEmpty || written == "undefined" || written == "null" {
            guard let host = type?.defaultRegistry else {
                return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message:
                    "registryBase is empty and type \(type?.name ?? "(none)") has no registry of its own; set registryBase (CR_BASE) to the registry the credentials are for"))
            }
            return .success(host)
        }
        do {
            return .success(RegistryCredentialSources.canonicalHost(try RegistryBase(parsing: written).authority))
        } catch {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "registryBase: \(error.message)"))
        }
    }
}

/// What the distribution API types share: user name and password as given, and the catalog.
enum DistributionAccess {
    static func source(fromBroker given: BrokerCredentials) -> Result<CredentialSource, ConfigurationError> {
        if given.username == nil && given.password == nil {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "the JSON has no username or password (type \(given.type ?? "?") needs its own flow)"))
        }
        return .success(.broker(RegistryCredentials(username: given.username, password: given.password), registryBase: given.registryBase))
    }

    /// CR_USERNAME with CR_PASSWORD (or CR_TOKEN as the password); CR_TOKEN alone is both user name and
    /// password (digitalocean-cr); nothing set: nil (the chain goes on).
    static func source(fromVariables env: Environment) -> Result<CredentialSource?, ConfigurationError> {
        let user = env["CR_USERNAME"], password = env["CR_PASSWORD"], token = env["CR_TOKEN"]
        switch (user, password ?? token) {
        case (nil, nil): return .success(nil)
        case (let u?, let p?): return .success(.variables(RegistryCredentials(username: u, password: p)))
        case (nil, _?) where password == nil: return .success(.variables(RegistryCredentials(username: token, password: token)))
        case (nil, _?): return .failure(ConfigurationError(variable: "CR_USERNAME", message: "CR_PASSWORD is set but CR_USERNAME is not; set both (or only CR_TOKEN)"))
        case (_?, nil): return .failure(ConfigurationError(variable: "CR_PASSWORD", message: "CR_USERNAME is set but neither CR_PASSWORD nor CR_TOKEN is"))
        }
    }

    static func listing(_ access: RegistryAccess, type: (any RegistryType)?, base: RegistryBase?, pageSize: Int, session: RegistrySession,
                        done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void) {
        guard let base else {
            return done(.failure(.configuration("no registry named; give host[:port][/repository] or set CR_BASE")))
        }
        client(access, type: type, base: base, pageSize: pageSize, session: session) { result in
            done(result.map { client in
                let repositories: RegistryListing.Pages
                if case .notOffered(let why)? = type?.repositoryListing {
                    repositories = { _, finished in
                        finished(.failure(RegistryError(.unsupported, registry: base.origin,
                            "\(type!.name) lists no repositories: \(why); images must be named: scan <registry>/<repository>:<tag>, or list a repository's tags (cr-agent list <registry>/<repository>)")))
                    }
                } else {
                    repositories = { client.listRepositories(onPage: $0, done: $1) }
                }
                return RegistryListing(repositories: repositories, tags: { repository in
                    { client.listTags(repository: repository, onPage: $0, done: $1) }
                })
            })
        }
    }

    /// A registry client for `base` with the access's credentials for it, as the type sets it up (its
    /// tag-listing scope, its page size).
    static func client(_ access: RegistryAccess, type: (any RegistryType)?, base: RegistryBase, pageSize: Int, session: RegistrySession,
                       done: @escaping (Result<RegistryClient, RegistryAccessFailure>) -> Void) {
        access.registryCredentials(for: base, session: session) { result in
            switch result {
            case .failure(let f): done(.failure(f))
            case .success(let credentials):
                do {
                    done(.success(try RegistryTarget.client(for: base, on: session.reactor, environment: session.environment,
                                                            credentials: credentials, logger: session.logger) { options in
                        options.pageSize = pageSize
                        if let actions = type?.tagListActions { options.tagListActions = actions }
                    }))
                } catch {
                    done(.failure(.configuration("\(error)")))
                }
            }
        }
    }
}
