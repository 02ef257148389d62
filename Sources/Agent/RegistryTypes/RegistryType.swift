// A registry type (CR_TYPE): what one kind of registry needs beyond the distribution API (its own
// registry host, how it lists repositories, how given credentials become registry credentials) and the
// one table of the types the agent knows. To add a type: one file with its `RegistryType`, one line in
// `RegistryTypes.all`.
import Core

/// How a type lists a registry's repositories.
enum RepositoryListing: Sendable, Equatable {
    /// The distribution API's `/v2/_catalog`, following Link (or `last=`).
    case catalog
    /// A vendor API in place of the catalog (named here).
    case vendorAPI(String)
    /// None: the registry serves no usable catalog, so the caller names the repositories. The text says why.
    case notOffered(String)
}

/// Where a command's or a request's registry work runs: its reactor and settings.
struct RegistrySession {
    let reactor: Reactor
    let environment: Environment
    let logger: Logger
    var userAgent: String { "cr-agent/\(ProductVersion.current)" }
}

/// Why a type could not give access: a configuration error (the caller's to fix: exit 2, HTTP 400/401)
/// or a failed exchange with the registry or its vendor's API (exit 1, the registry's error kept).
enum RegistryAccessFailure: Error, CustomStringConvertible {
    case configuration(String)
    case registry(RegistryError)

    var description: String {
        switch self {
        case .configuration(let m): return m
        case .registry(let e): return e.description
        }
    }
}

/// The listings of one registry: repositories, and the tags of one repository, page by page.
struct RegistryListing {
    typealias Pages = (_ onPage: @escaping ([String]) -> Void, _ done: @escaping (Result<Int, RegistryError>) -> Void) -> Void
    let repositories: Pages
    let tags: (_ repository: String) -> Pages
}

protocol RegistryType: Sendable {
    /// The CR_TYPE value, as snyk names it.
    var name: String { get }
    /// Other spellings accepted for it.
    var aliases: [String] { get }
    /// The registry (`host[:port]`) of a hosted type, used when credentials name none; nil for a
    /// self-hosted product, whose CR_BASE / registryBase is required.
    var defaultRegistry: String? { get }
    var repositoryListing: RepositoryListing { get }
    /// Prefix of a one-component repository name (Docker Hub's official images live under `library/`).
    var officialImagePrefix: String? { get }
    /// Whether the registry base commonly carries a path before `/v2/` (Artifactory, Nexus).
    var pathPrefixedBase: Bool { get }
    /// The scope actions a token for `tags/list` asks for (ACR wants `metadata_read` besides `pull`).
    var tagListActions: [String] { get }

    /// The credentials the broker's CR_CREDENTIALS describe, for this type.
    func source(fromBroker given: BrokerCredentials) -> Result<CredentialSource, ConfigurationError>
    /// The credentials the CR_* variables describe, for this type; nil when they describe none.
    func source(fromVariables env: Environment) -> Result<CredentialSource?, ConfigurationError>
    /// The registry credentials for `registry`, exchanged as the type needs (ECR's login), on `session.reactor`.
    func registryCredentials(_ access: RegistryAccess, registry: RegistryBase, session: RegistrySession,
                             done: @escaping (Result<RegistryCredentials, RegistryAccessFailure>) -> Void)
    /// The listings of `base` (nil when the type needs none, as ECR), on `session.reactor`.
    func listing(_ access: RegistryAccess, base: RegistryBase?, pageSize: Int, session: RegistrySession,
                 done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void)
}

/// The distribution API with given user name and password: what most types are.
extension RegistryType {
    var aliases: [String] { [] }
    var defaultRegistry: String? { nil }
    var repositoryListing: RepositoryListing { .catalog }
    var officialImagePrefix: String? { nil }
    var pathPrefixedBase: Bool { false }
    var tagListActions: [String] { ["pull"] }

    func source(fromBroker given: BrokerCredentials) -> Result<CredentialSource, ConfigurationError> {
        DistributionAccess.source(fromBroker: given)
    }

    func source(fromVariables env: Environment) -> Result<CredentialSource?, ConfigurationError> {
        DistributionAccess.source(fromVariables: env)
    }

    func registryCredentials(_ access: RegistryAccess, registry: RegistryBase, session: RegistrySession,
                             done: @escaping (Result<RegistryCredentials, RegistryAccessFailure>) -> Void) {
        done(access.source.credentials(for: registry.authority, type: self).mapError { .configuration($0.description) })
    }

    func listing(_ access: RegistryAccess, base: RegistryBase?, pageSize: Int, session: RegistrySession,
                 done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void) {
        DistributionAccess.listing(access, type: self, base: base, pageSize: pageSize, session: session, done: done)
    }
}

/// The table of CR_TYPE values.
enum RegistryTypes {
    static let all: [any RegistryType] = [
        DockerHubType(), ArtifactoryType(), HarborType(), QuayType(), GitHubType(), NexusType(),
        DigitalOceanType(), GitLabType(), AzureType(), GoogleArtifactType(), GCRType(), ECRType(),
    ]

    /// The type named `name` (a CR_TYPE value or an alias, any case), nil when unknown.
    static func named(_ name: String) -> (any RegistryType)? {
        let n = name.trimmed(" \t").lowercased()
        return all.first { $0.name == n || $0.aliases.contains(n) }
    }

    /// The type named in `variable`, or a configuration error naming it and listing the known types.
    static func lookup(_ name: String, variable: String) -> Result<any RegistryType, ConfigurationError> {
        if let t = named(name) { return .success(t) }
        let shown = UntrustedText.truncated(UntrustedText.terminalSafe(name), maxBytes: 100)
        return .failure(ConfigurationError(variable: variable, message:
            "unknown registry type \"\(shown)\"; known types: \(all.map(\.name).joined(separator: ", "))"))
    }
}
