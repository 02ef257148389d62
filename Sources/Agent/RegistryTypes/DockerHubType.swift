// docker-hub: Docker Hub. Images come from its registry (registry-1.docker.io, token from auth.docker.io as
// its challenge names); official images live under library/. The registry serves no catalog, so the
// repositories of a namespace come from the hub API (Docker Hub API reference: POST /v2/auth/token
// {"identifier","secret"} -> {"access_token"}, GET /v2/namespaces/{namespace}/repositories with
// page_size <= 100 and a `next` URL). The namespace is the user name unless DOCKER_HUB_NAMESPACE names
// another (an organisation); DOCKER_HUB_API_URL moves the hub API (default https://hub.docker.com).
import Core

struct DockerHubType: RegistryType {
    let name = "docker-hub"
    let defaultRegistry: String? = "registry-1.docker.io"
    let officialImagePrefix: String? = "library/"
    let repositoryListing = RepositoryListing.vendorAPI("Docker Hub's API (DOCKER_HUB_API_URL)")
    static let defaultHubAPI = "https://hub.docker.com"
    /// The hub API answers at most this many repositories per page.
    static let maxAPIPageSize = 100

    func listing(_ access: RegistryAccess, base: RegistryBase?, pageSize: Int, session: RegistrySession,
                 done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void) {
        let registry: RegistryBase, hub: RegistryBase
        do throws(RegistryError) {
            if let base { registry = base } else { registry = try RegistryBase(parsing: access.configuredBase ?? "https://" + defaultRegistry!) }
        } catch {
            return done(.failure(.configuration("CR_BASE: \(error.message)")))
        }
        do throws(RegistryError) {
            hub = try RegistryBase(parsing: session.environment["DOCKER_HUB_API_URL"] ?? Self.defaultHubAPI)
        } catch {
            return done(.failure(.configuration("DOCKER_HUB_API_URL: \(error.message)")))
        }
        DistributionAccess.client(access, type: self, base: registry, pageSize: pageSize, session: session) { result in
            switch result {
            case .failure(let f): done(.failure(f))
            case .success(let client):
                let credentials = client.auth.credentials
                let namespace = session.environment["DOCKER_HUB_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? credentials.username
                let http: HTTPClient
                do throws(RegistryError) {
                    http = try RegistryTrust(reactor: session.reactor, configuration: HTTPClientConfiguration(environment: session.environment.values))
                        .httpClient(for: hub, certsDirectories: client.options.certsDirectories)
                } catch {
                    return done(.failure(.registry(error)))
                }
                let api = VendorAPI(http: http, origin: hub.origin, options: client.options)
                done(.success(RegistryListing(repositories: { onPage, finished in
                    guard let namespace, !namespace.isEmpty else {
                        return finished(.failure(RegistryError(.invalidInput, registry: hub.origin,
                            "docker-hub lists the repositories of a namespace: give the Docker Hub user name (CR_USERNAME) or set DOCKER_HUB_NAMESPACE")))
                    }
                    // The HTTP client lives as long as the listing: this chain holds it, nothing else does.
                    Self.repositories(api: api, hubPath: hub.pathPrefix, namespace: namespace, credentials: credentials,
                                      pageSize: min(max(pageSize, 1), Self.maxAPIPageSize), onPage: onPage) { r in
                        withExtendedLifetime(http) { finished(r) }
                    }
                }, tags: { repository in
                    let name = Self.repository(repository, officialImagePrefix: officialImagePrefix!)
                    return { client.listTags(repository: name, onPage: $0, done: $1) }
                })))
            }
        }
    }

    /// A repository as Docker writes it: without the `docker.io/` it may start with, and a one-word name
    /// as an official image (`alpine` -> `library/alpine`).
    static func repository(_ written: String, officialImagePrefix: String) -> String {
        var name = Substring(written)
        if let slash = name.firstIndex(of: "/"), ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(name[..<slash].lowercased()) {
            name = name[name.index(after: slash)...]
        }
        return name.contains("/") ? String(name) : officialImagePrefix + name
    }

    /// Signs in (when there are credentials), then pages through the namespace's repositories as
    /// `<namespace>/<name>`.
    static func repositories(api: VendorAPI, hubPath: String, namespace: String, credentials: RegistryCredentials, pageSize: Int,
                             onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        let list = {
            api.pages(from: api.origin + hubPath + "/v2/namespaces/\(PercentEncoding.encode(namespace))/repositories?page_size=\(pageSize)",
                      what: "Docker Hub repositories of \(namespace)",
                      read: { json, _, _ in
                          guard let results = json["results"]?.array else { return nil }
                          let names = results.compactMap { r in r["name"]?.string.map { "\(r["namespace"]?.string ?? namespace)/\($0)" } }
                          return (names, json["next"]?.string)
                      }, onPage: onPage, done: done)
        }
        guard let user = credentials.username, let secret = credentials.password else { return list() }
        api.call(method: "POST", api.origin + hubPath + "/v2/auth/token", json: .object([("identifier", .string(user)), ("secret", .string(secret))]),
                 what: "Docker Hub sign-in") { result in
            switch result {
            case .failure(let e):
                let kind: RegistryError.Kind = e.status == 401 || e.status == 403 ? .authentication : e.kind
                done(.failure(RegistryError(kind, registry: e.registry, "\(e.message); the hub API refused the credentials", status: e.status, code: e.code)))
            case .success(let r):
                guard let json = try? JSON.parse(r.body), let token = json["access_token"]?.string ?? json["token"]?.string, !token.isEmpty else {
                    return done(.failure(RegistryError(.authentication, registry: api.origin, "Docker Hub sign-in answered without an access_token")))
                }
                // The hub's JWTs live minutes; masked for an hour from here.
                Redaction.register(secret: token, expiresInSeconds: 3600)
                api.authorization = "Bearer " + token
                list()
            }
        }
    }
}
