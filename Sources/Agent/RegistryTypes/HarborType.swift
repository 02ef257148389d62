// harbor-cr: Harbor. Its /v2/_catalog answers only a system admin; for anyone else the repositories are
// listed through Harbor's API (v2.0 swagger: GET /api/v2.0/projects, GET /api/v2.0/projects/{project_name}/repositories,
// `page` from 1 and `page_size` at most 100, a Link rel="next" and X-Total-Count), with Basic auth on
// the registry's own origin. Tags come from the registry's tags/list, which a project member may read.
import Core

struct HarborType: RegistryType {
    let name = "harbor-cr"
    /// Harbor's API refuses a larger page_size.
    static let maxAPIPageSize = 100

    func listing(_ access: RegistryAccess, base: RegistryBase?, pageSize: Int, session: RegistrySession,
                 done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void) {
        guard let base else {
            return done(.failure(.configuration("harbor-cr needs its registry: set CR_BASE (registryBase) to the Harbor host")))
        }
        DistributionAccess.client(access, type: self, base: base, pageSize: pageSize, session: session) { result in
            done(result.map { client in
                let api = VendorAPI(http: client.http, origin: base.origin, options: client.options,
                                    authorization: client.auth.credentials.basicAuthorization)
                return RegistryListing(repositories: { onPage, finished in
                    Self.repositories(client: client, api: api, pageSize: pageSize, logger: session.logger, onPage: onPage, done: finished)
                }, tags: { repository in { client.listTags(repository: repository, onPage: $0, done: $1) } })
            })
        }
    }

    /// The catalog first (an admin's credentials list everything at once); when Harbor refuses it to
    /// accepted credentials before any name came, or answers it empty to a signed-in user (versions that hide it from non-admins),
    /// the projects the credentials can see, and each project's repositories.
    static func repositories(client: RegistryClient, api: VendorAPI, pageSize: Int, logger: Logger,
                             onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        var delivered = 0
        client.listRepositories(onPage: { names in delivered += names.count; onPage(names) }) { result in
            let signedIn = !client.auth.credentials.isAnonymous
            if case .success(0) = result, signedIn {
                logger.info("the catalog is empty to this user; listing through the project API", [("registry", .string(client.base.origin))])
                return projectRepositories(api: api, pageSize: min(max(pageSize, 1), maxAPIPageSize), onPage: onPage, done: done)
            }
            // A permission failure is Harbor refusing the catalog to the credentials it just accepted (or
            // issued a token for); credentials it rejects fail here, not again at the API.
            guard case .failure(let e) = result, delivered == 0, e.kind == .permission || (e.kind == .authentication && !signedIn) else { return done(result) }
            guard signedIn else {
                return done(.failure(RegistryError(e.kind, registry: e.registry,
                    "\(e.message); Harbor lists repositories to a signed-in user: set CR_USERNAME and CR_PASSWORD (a robot account with project read)", status: e.status, code: e.code)))
            }
            logger.info("the catalog needs a Harbor admin; listing through the project API", [("registry", .string(client.base.origin))])
            projectRepositories(api: api, pageSize: min(max(pageSize, 1), maxAPIPageSize), onPage: onPage, done: done)
        }
    }

    static func projectRepositories(api: VendorAPI, pageSize: Int, onPage: @escaping ([String]) -> Void,
                                    done: @escaping (Result<Int, RegistryError>) -> Void) {
        var projects: [String] = []
        api.pages(from: api.origin + "/api/v2.0/projects?page=1&page_size=\(pageSize)", what: "Harbor projects",
                  read: { json, head, url in page(json, head, url, pageSize: pageSize) },
                  onPage: { projects += $0 }) { result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success: repositories(of: projects[...], api: api, pageSize: pageSize, total: 0, onPage: onPage, done: done)
            }
        }
    }

    private static func repositories(of projects: ArraySlice<String>, api: VendorAPI, pageSize: Int, total: Int,
                                     onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        guard let project = projects.first else { return done(.success(total)) }
        api.pages(from: api.origin + "/api/v2.0/projects/\(PercentEncoding.encode(project))/repositories?page=1&page_size=\(pageSize)",
                  what: "repositories of Harbor project \(project)",
                  read: { json, head, url in page(json, head, url, pageSize: pageSize) }, onPage: onPage) { result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let n): repositories(of: projects.dropFirst(), api: api, pageSize: pageSize, total: total + n, onPage: onPage, done: done)
            }
        }
    }

    /// One page of Harbor's API: an array of objects with a `name`, and the next page's URL.
    static func page(_ json: JSON, _ head: ClientResponseHead, _ url: String, pageSize: Int) -> (names: [String], next: String?)? {
        guard let items = json.array else { return nil }
        return (items.compactMap { $0["name"]?.string },
                next(after: url, link: LinkHeader.next(head.headers.values("Link")), totalCount: head.headers["X-Total-Count"].flatMap(Int.init),
                     count: items.count, pageSize: pageSize))
    }

    /// Most pages followed by number (100 names each: ten million repositories).
    static let maxPageNumber = 100_000

    /// The next page: from Link, else from X-Total-Count, else the next page number while pages come full.
    /// A page number the server wrote (through a Link) past `maxPageNumber` ends the listing: no overflow.
    static func next(after url: String, link: String?, totalCount: Int?, count: Int, pageSize: Int) -> String? {
        if let link { return link }
        let number = pageNumber(url)
        guard (1..<maxPageNumber).contains(number), (1...1000).contains(pageSize) else { return nil }
        if let totalCount { return number * pageSize < totalCount ? withPage(url, number + 1) : nil }
        return count >= pageSize ? withPage(url, number + 1) : nil
    }

    static func pageNumber(_ url: String) -> Int {
        for part in (url.split(separator: "?", maxSplits: 1).last ?? "").split(separator: "&") where part.hasPrefix("page=") {
            return Int(part.dropFirst(5)) ?? 1
        }
        return 1
    }

    static func withPage(_ url: String, _ n: Int) -> String {
        guard let q = url.firstIndex(of: "?") else { return url + "?page=\(n)" }
        let parts = url[url.index(after: q)...].split(separator: "&").filter { !$0.hasPrefix("page=") }
        return String(url[..<q]) + "?" + (["page=\(n)"] + parts.map(String.init)).joined(separator: "&")
    }
}
