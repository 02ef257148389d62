// Pages of a registry's listing for the API: one page from a cursor (/list-paginated,
// /list-with-metadata) or every page up to LIST_MAX_NAMES (/list), over the distribution API, or for a
// type that lists through its vendor's API (ecr), over the type's own listing. Failures are answered
// on the request; `done` runs only with names.
import Core

enum ListingPages {
    struct Page {
        var names: [String]
        var next: ListingCursor?
        /// /list only: more names existed than LIST_MAX_NAMES.
        var truncated = false
        /// Names the registry sent that are no repository name or tag (too long, odd characters): left
        /// out, since they could not be asked for again, and counted here.
        var skipped = 0
        var skippedExample: String?

        init(names: [String], next: ListingCursor?, truncated: Bool = false) {
            self.names = names
            self.next = next
            self.truncated = truncated
        }

        /// The page of `names` as the registry sent them, without those that are no valid name.
        init<C: Collection>(checking names: C, tags: Bool, next: ListingCursor?) where C.Element == String {
            self.init(names: [], next: next)
            self.names.reserveCapacity(names.count)
            for n in names {
                if tags ? ImageReference.isTag(n) : ImageReference.isRepository(n) { self.names.append(n) } else {
                    skipped += 1
                    if skippedExample == nil { skippedExample = UntrustedText.truncated(UntrustedText.terminalSafe(n), maxBytes: 100) }
                }
            }
        }
    }

    /// Registry pages that hold no name left to give, followed before an empty answer is given (a
    /// registry may serve empty pages with a next link).
    static let maxEmptyHops = 10

    /// `limit` names from `cursor` (the first page when nil) of the catalog, or of `repository`'s tags.
    static func page(_ request: ListingRequest, repository: String?, cursor: ListingCursor?, limit: Int, done: @escaping (Page) -> Void) {
        switch route(request, repository: repository) {
        case .refuse(let e): request.fail(e)
        case .vendor:
            var offset = 0
            if let cursor {
                guard case .offset(let o) = cursor else { return request.fail(.badRequest("cursor: not a cursor of this listing")) }
                offset = o
            }
            collectFromType(request, repository: repository, cap: offset + limit + 1) { names, _ in
                let end = min(names.count, offset + limit)
                done(Page(checking: offset < end ? names[offset..<end] : [], tags: repository != nil, next: names.count > end ? .offset(end) : nil))
            }
        case .distribution:
            request.client { client in distributionPage(request, client: client, repository: repository, cursor: cursor, limit: limit, done: done) }
        }
    }

    /// Every name of the catalog or of `repository`'s tags, up to the request's LIST_MAX_NAMES.
    static func all(_ request: ListingRequest, repository: String?, done: @escaping (Page) -> Void) {
        let cap = request.settings.maxNames
        switch route(request, repository: repository) {
        case .refuse(let e): request.fail(e)
        case .vendor:
            collectFromType(request, repository: repository, cap: cap + 1) { names, _ in
                var page = Page(checking: names.prefix(cap), tags: repository != nil, next: nil)
                page.truncated = names.count > cap
                done(page)
            }
        case .distribution:
            request.client { client in
                var all = Page(names: [], next: nil)
                var seen: Set<String> = []
                func more(_ cursor: ListingCursor?) {
                    // Asks pages of collectPageSize but takes all a registry that ignores `n` sends at once, so its
                    // one big answer is fetched once, not once per page.
                    distributionPage(request, client: client, repository: repository, cursor: cursor, limit: cap + 1 - all.names.count,
                                     pageSize: ListingSettings.collectPageSize) { p in
                        all.names += p.names
                        all.skipped += p.skipped
                        all.skippedExample = all.skippedExample ?? p.skippedExample
                        if all.names.count > cap {
                            all.names.removeLast(all.names.count - cap)
                            all.truncated = true
                            return done(all)
                        }
                        guard let next = p.next, seen.insert(next.encoded).inserted, seen.count < RegistryOptions().maxListPages else {
                            return done(all)
                        }
                        more(next)
                    }
                }
                more(nil)
            }
        }
    }

    private enum Route {
        case distribution, vendor
        case refuse(ServiceError)
    }

    private static func route(_ request: ListingRequest, repository: String?) -> Route {
        switch request.access.type?.repositoryListing {
        case .vendorAPI?: return .vendor
        case .notOffered(let why)? where repository == nil:
            return .refuse(ServiceError(status: 400, code: "LISTING_NOT_OFFERED", message:
                "\(request.access.type!.name) lists no repositories: \(why). Name the images to scan, or list one repository's tags with /list/<repository>"))
        default: return .distribution
        }
    }

    /// `limit` names at most; `pageSize` (default `limit`) is the `n` a first page is asked with.
    private static func distributionPage(_ request: ListingRequest, client: RegistryClient, repository: String?, cursor: ListingCursor?,
                                         limit: Int, pageSize: Int? = nil, done: @escaping (Page) -> Void) {
        var url: String, skip = 0, after: String?
        switch cursor {
        case nil:
            let n = pageSize ?? limit
            url = repository.map { client.tagsURL(repository: $0, n: n) } ?? client.catalogURL(n: n)
        case .offset?:
            return request.fail(.badRequest("cursor: not a cursor of this listing"))
        case .registry(let path, let s, let a)?:
            switch ListingCursor.url(path: path, base: client.base, repository: repository) {
            case .failure(let e): return request.fail(e)
            case .success(let u): url = u
            }
            (skip, after) = (s, a)
        }
        fetch(request, client: client, repository: repository, url: url, skip: skip, after: after, limit: limit, hops: 0, done: done)
    }

    /// One registry answer, less the names already given: `after` (the registry ignored `last=`) and
    /// the first `skip` (earlier pages of the same answer, when the registry ignored `n`).
    private static func fetch(_ request: ListingRequest, client: RegistryClient, repository: String?, url: String, skip: Int, after: String?,
                              limit: Int, hops: Int, done: @escaping (Page) -> Void) {
        client.listingPage(url: url, repository: repository) { result in
            guard !request.answered else { return }
            let answer: RegistryClient.ListingPage
            switch result {
            case .failure(let e): return request.fail(e)
            case .success(let a): answer = a
            }
            var names = answer.names[...]
            if let after, let i = names.firstIndex(of: after) { names = names[names.index(after: i)...] }
            let rest = names.dropFirst(skip)
            if rest.count > limit {
                return done(Page(checking: rest.prefix(limit), tags: repository != nil,
                                 next: .registry(path: ListingCursor.path(of: url), skip: skip + limit, after: after)))
            }
            var nextURL = answer.next, nextAfter: String?
            if nextURL == nil, let last = answer.names.last, let n = requestedCount(url), answer.names.count == n {
                // A full page without Link (Nexus groups): the next page is asked for with `last=`.
                nextURL = repository.map { client.tagsURL(repository: $0, n: n, last: last) } ?? client.catalogURL(n: n, last: last)
                nextAfter = last
            }
            if rest.isEmpty, let n = nextURL, n != url, hops < maxEmptyHops {
                return fetch(request, client: client, repository: repository, url: n, skip: 0, after: nextAfter, limit: limit, hops: hops + 1, done: done)
            }
            done(Page(checking: rest, tags: repository != nil,
                      next: nextURL.flatMap { $0 == url ? nil : .registry(path: ListingCursor.path(of: $0), skip: 0, after: nextAfter) }))
        }
    }

    /// The `n=` a listing URL asks for.
    static func requestedCount(_ url: String) -> Int? {
        guard let q = url.firstIndex(of: "?") else { return nil }
        for pair in url[url.index(after: q)...].split(separator: "&") where pair.hasPrefix("n=") {
            return Int(pair.dropFirst(2))
        }
        return nil
    }

    /// The type's own listing (a vendor API), read until `cap` names or its end; `done` once.
    private static func collectFromType(_ request: ListingRequest, repository: String?, cap: Int, done: @escaping ([String], Bool) -> Void) {
        request.access.listing(base: request.base, pageSize: ListingSettings.collectPageSize, session: request.session) { result in
            guard !request.answered else { return }
            let listing: RegistryListing
            switch result {
            case .failure(let f): return request.fail(f)
            case .success(let l): listing = l
            }
            let pages = repository.map { listing.tags($0) } ?? listing.repositories
            var names: [String] = []
            var reported = false
            pages({ page in
                guard !reported, !request.answered else { return }
                names += page
                if names.count >= cap { reported = true; done(names, true) }
            }, { result in
                guard !reported, !request.answered else { return }
                reported = true
                switch result {
                case .failure(let e): request.fail(e)
                case .success: done(names, false)
                }
            })
        }
    }
}
