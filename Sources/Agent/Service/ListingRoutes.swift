// The registry reads of the API: /systemcheck, /validate-credentials, /list, /list/<repo>,
// /list-paginated/<...>, /list-with-metadata/<repo>, /get-state-identifier, /image-metadata/<repo>/<ref>.
// Each runs on the reactor serving the request, with the credentials of its `authorization` header,
// under LISTING_TIMEOUT_MS (ListingRequest). Shapes and examples: docs/http-api.md.
import Core

enum ListingRoutes {
    static func add(to r: inout Router, service: AgentService) {
        r.add("GET", "/systemcheck") { ex in ListingRequest.start(ex, service: service) { check($0, validation: false) } }
        r.add("GET", "/validate-credentials") { ex in ListingRequest.start(ex, service: service) { check($0, validation: true) } }
        r.add("GET", "/list") { ex in
            ListingRequest.start(ex, service: service) { request in
                if request.settings.repositoryListingDisabled { return request.respond(.array([])) }
                ListingPages.all(request, repository: nil) { respondNames(request, $0) }
            }
        }
        r.add("GET", "/list/*") { ex in
            guard let repository = repository(in: ex, route: "/list/", allowEmpty: true) else { return }
            ListingRequest.start(ex, service: service) { request in
                if repository.isEmpty && request.settings.repositoryListingDisabled { return request.respond(.array([])) }
                ListingPages.all(request, repository: repository.isEmpty ? nil : repository) { respondNames(request, $0) }
            }
        }
        r.add("GET", "/list-paginated/*") { ex in
            guard let repository = repository(in: ex, route: "/list-paginated/", allowEmpty: true),
                  let (cursor, limit) = paging(ex, service: service, range: ListingSettings.pageSizeRange, default: ListingSettings.defaultPageSize) else { return }
            ListingRequest.start(ex, service: service) { request in
                let key = repository.isEmpty ? "repositories" : "tags"
                if repository.isEmpty && request.settings.repositoryListingDisabled {
                    return request.respond(.object([(key, .array([])), ("next", .null)]))
                }
                ListingPages.page(request, repository: repository.isEmpty ? nil : repository, cursor: cursor, limit: limit) { page in
                    var fields: [(String, JSON)] = repository.isEmpty ? [] : [("repository", .string(repository))]
                    fields += [(key, .array(page.names.map(JSON.string))), ("next", page.next.map { .string($0.encoded) } ?? .null)]
                    request.respond(.object(fields), headers: skippedHeader(request, page))
                }
            }
        }
        r.add("GET", "/list-with-metadata/*") { ex in
            guard let repository = repository(in: ex, route: "/list-with-metadata/", allowEmpty: false),
                  let (cursor, limit) = paging(ex, service: service, range: ListingSettings.metadataPageRange, default: ListingSettings.defaultMetadataPageSize)
            else { return }
            ListingRequest.start(ex, service: service) { request in
                ListingPages.page(request, repository: repository, cursor: cursor, limit: limit) { page in
                    request.client { client in
                        ListingMetadata.tags(request, client: client, repository: repository, tags: page.names) { entries in
                            request.respond(.object([("repository", .string(repository)), ("tags", .array(entries)),
                                                     ("next", page.next.map { .string($0.encoded) } ?? .null)]), headers: skippedHeader(request, page))
                        }
                    }
                }
            }
        }
        r.add("GET", "/get-state-identifier") { ex in
            let query = ListingQuery(ex.request.query)
            guard let image = query["image"], !image.isEmpty else {
                return ex.respond(.badRequest("the image is required: /get-state-identifier?image=<repo>:<tag> or <repo>@sha256:<hex>"))
            }
            ListingRequest.start(ex, service: service) { ListingMetadata.stateIdentifier($0, image: image) }
        }
        r.add("GET", "/image-metadata/*") { ex in
            guard let rest = repository(in: ex, route: "/image-metadata/", allowEmpty: false, validate: false) else { return }
            let reference: ImageReference
            switch imageReference(path: rest) {
            case .failure(let e): return ex.respond(e)
            case .success(let r): reference = r
            }
            var platform = Platform()
            if let raw = ListingQuery(ex.request.query)["platform"] {
                do throws(RegistryError) { platform = try Platform(parsing: raw) } catch { return ex.respond(.badRequest(error.message)) }
            }
            ListingRequest.start(ex, service: service) { ListingMetadata.image($0, reference: reference, platform: platform) }
        }
    }

    /// /systemcheck and /validate-credentials: the registry answers `GET /v2/` with these credentials
    /// (a bearer token is fetched with them when it asks for one). A type that lists only through its
    /// vendor's API and was given no registry is checked by reading its first page of repositories.
    static func check(_ request: ListingRequest, validation: Bool) {
        let registry = JSON.string(request.registryName)
        let type = request.access.type.map { JSON.string($0.name) } ?? .null
        var anonymous = false
        if case .anonymous = request.access.source { anonymous = true }
        let succeed = {
            if validation {
                request.respond(.object([("valid", .bool(true)), ("registry", registry), ("type", type)]))
            } else {
                request.respond(.object([("ok", .bool(true)), ("registry", registry), ("type", type), ("authenticated", .bool(!anonymous))]))
            }
        }
        let failed = { (e: ServiceError) in
            let credentialsRefused = e.status == 401 || e.status == 403
            request.service.logger.info(validation ? "credentials check failed" : "systemcheck failed",
                                        [("registry", registry), ("status", .int(e.status)), ("code", .string(e.code))])
            var fields: [(String, JSON)] = validation ? [("valid", credentialsRefused ? .bool(false) : .null)] : [("ok", .bool(false))]
            fields += [("code", .string(e.code)), ("message", .string(UntrustedText.truncated(e.message, maxBytes: 4096))), ("registry", registry), ("type", type)]
            request.respond(.object(fields), status: e.status)
        }
        // Every failure, the deadline's too, answers in this route's shape.
        request.onFailure = failed
        if request.base == nil {
            return ListingPages.page(request, repository: nil, cursor: nil, limit: 1) { _ in succeed() }
        }
        request.client { client in
            client.ping { result in
                switch result {
                case .success: succeed()
                case .failure(let e): request.fail(e)
                }
            }
        }
    }

    /// The JSON array of /list, with `X-Listing-Truncated` when LIST_MAX_NAMES cut it.
    static func respondNames(_ request: ListingRequest, _ page: ListingPages.Page) {
        var headers = skippedHeader(request, page)
        if page.truncated {
            headers.set("X-Listing-Truncated", "\(request.settings.maxNames)")
            request.service.logger.warn("listing cut", [("route", .string(request.exchange.route)), ("maxNames", .int(request.settings.maxNames))])
        }
        request.respond(.array(page.names.map(JSON.string)), headers: headers)
    }

    /// `X-Listing-Skipped-Names: <n>` and a warning when the registry sent names that are none.
    static func skippedHeader(_ request: ListingRequest, _ page: ListingPages.Page) -> HTTPHeaders {
        var headers = HTTPHeaders()
        guard page.skipped > 0 else { return headers }
        headers.set("X-Listing-Skipped-Names", "\(page.skipped)")
        request.service.logger.warn("registry sent invalid names; left out", [("route", .string(request.exchange.route)), ("registry", .string(request.registryName)),
                                                                              ("count", .int(page.skipped)), ("example", .string(page.skippedExample ?? ""))])
        return headers
    }

    /// The repository after `route` in the request's path (percent-decoded, trailing slash dropped), or
    /// nil after answering 400 when it is not a valid repository name.
    static func repository(in ex: HTTPExchange, route: String, allowEmpty: Bool, validate: Bool = true) -> String? {
        let raw = ex.request.path.count >= route.count ? String(ex.request.path.dropFirst(route.count)) : ""
        guard var name = PercentEncoding.decode(raw) else {
            ex.respond(.badRequest("the path holds a malformed percent escape"))
            return nil
        }
        while name.hasSuffix("/") { name.removeLast() }
        if name.isEmpty {
            if !allowEmpty { ex.respond(.badRequest("a repository is required after \(route)")) }
            return allowEmpty ? "" : nil
        }
        if validate && !ImageReference.isRepository(name) {
            ex.respond(.badRequest("invalid repository name \"\(UntrustedText.truncated(name, maxBytes: 300))\" (lower-case letters, digits, separators . _ - /)"))
            return nil
        }
        return name
    }

    /// `<repo...>/<tag>`, `<repo...>/sha256:<hex>`, `<repo...>:<tag>` or `<repo...>@sha256:<hex>`.
    static func imageReference(path: String) -> Result<ImageReference, ServiceError> {
        var text = path
        if !text.contains("@"), let slash = text.lastIndex(of: "/") {
            let last = text[text.index(after: slash)...]
            if last.hasPrefix("sha256:") { text = text[..<slash] + "@" + last }
            else if !last.contains(":") { text = text[..<slash] + ":" + last }
        }
        do throws(RegistryError) {
            return .success(try ImageReference(parsing: text))
        } catch {
            return .failure(.badRequest("image: \(error.message); the path is /image-metadata/<repository>/<tag or sha256:digest>"))
        }
    }

    /// `?cursor=` and `?limit=` of the paged routes, or nil after answering 400.
    static func paging(_ ex: HTTPExchange, service: AgentService, range: ClosedRange<Int>, default d: Int) -> (ListingCursor?, Int)? {
        let query = ListingQuery(ex.request.query)
        var limit = d
        if let raw = query["limit"] {
            guard let n = Int(raw), range.contains(n) else {
                ex.respond(.badRequest("limit must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(UntrustedText.truncated(raw, maxBytes: 40))\""))
                return nil
            }
            limit = n
        }
        guard let raw = query["cursor"], !raw.isEmpty, raw != "null" else { return (nil, limit) }
        switch ListingCursor.decode(raw, maxSkip: service.settings.listing.maxNames) {
        case .failure(let e): ex.respond(e); return nil
        case .success(let c): return (c, limit)
        }
    }
}
