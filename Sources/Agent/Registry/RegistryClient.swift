// The distribution (OCI) API of one registry, over the reactor's HTTP client: ping, paged listings,
// manifests with platform choice, configs, and verified blob streams. Use on the reactor's thread.
import Core

public final class RegistryClient {
    public let base: RegistryBase
    public let options: RegistryOptions
    let http: HTTPClient
    let auth: RegistryAuth
    let retrySchedule: RetrySchedule
    /// Checks names that only a proxy would otherwise resolve.
    let nameCheck: ProxiedNameCheck
    /// Called before each retry with what, the attempt that failed and the delay (for logs and tests).
    public var onRetry: ((String, Int, Int) -> Void)?
    /// Requests in flight per registry host, process-wide (REGISTRY_MAX_CONCURRENCY); tests may give their own.
    var hostLimiter = HostLimiter.shared
    /// Where configs are kept by digest (the scan cache); a kept config that matches its digest is not
    /// fetched again.
    public var configStore: (any ConfigStore)?

    public init(base: RegistryBase, credentials: RegistryCredentials, http: HTTPClient, options: RegistryOptions = RegistryOptions()) {
        self.base = base
        self.options = options
        self.http = http
        let nameCheck = ProxiedNameCheck(http: http, connectTimeoutMs: options.connectTimeoutMs)
        self.nameCheck = nameCheck
        self.auth = RegistryAuth(registry: base.origin, credentials: credentials, http: http, options: options, nameCheck: nameCheck)
        self.retrySchedule = RetrySchedule(maxAttempts: max(1, options.maxAttempts), baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.maxRetryDelayMs)
        for secret in [credentials.password, credentials.basicAuthorization].compactMap({ $0 }) { Redaction.register(secret: secret) }
    }

    /// A client whose HTTP client comes from `trust`: it trusts `base`'s certs.d CAs (per
    /// `options.certsDirectories`) besides the system's and `CA_CERT`, and nothing another host's.
    public convenience init(base: RegistryBase, credentials: RegistryCredentials, trust: RegistryTrust,
                            options: RegistryOptions = RegistryOptions()) throws(RegistryError) {
        let http = try trust.httpClient(for: base, certsDirectories: options.certsDirectories)
        self.init(base: base, credentials: credentials, http: http, options: options)
    }

    /// Token requests made so far (for tests of the token cache).
    public var tokenRequestCount: Int { auth.tokenRequests }

    /// Redirects are followed at most `maxRedirects` times, never to a refused address, never from
    /// https down to http, and without Authorization once they leave the registry's origin. Through a
    /// proxy, a target whose name has not been checked yet is not followed: `unchecked` gets it, and the
    /// caller checks it (`nameCheck`) and asks again.
    func redirectPolicy(unchecked: @escaping (String) -> Void) -> RedirectPolicy {
        .custom(max: options.maxRedirects) { [options, nameCheck] redirect in
            if Self.refusal(url: redirect.target, allowedHosts: options.allowedHosts) != nil { return nil }
            if redirect.request.url.hasPrefix("https://") && !redirect.target.hasPrefix("https://") { return nil }
            guard nameCheck.verdictNow(redirect.target) == .allowed else {
                unchecked(redirect.target)
                return nil
            }
            return RedirectPolicy.standardNextRequest(redirect)
        }
    }

    /// Why a request to `url` is refused before any connection: its host is a refused literal (or a
    /// metadata name), or outside `REGISTRY_ALLOWED_HOSTS`. nil allows it (the connect filter still
    /// checks what a name resolves to).
    func refusal(url: String) -> String? { Self.refusal(url: url, allowedHosts: options.allowedHosts) }

    static func refusal(url: String, allowedHosts: [String]?) -> String? {
        if let why = AddressPolicy.refusal(url: url) { return why }
        if let host = URLParts.host(url), AddressPolicy.outsideAllowList(host: host, allowed: allowedHosts) {
            return "not in REGISTRY_ALLOWED_HOSTS"
        }
        return nil
    }

    /// Whether `url` is on the registry's own origin (scheme, host and port), the only place its
    /// credentials and its challenges may come from.
    func isRegistryOrigin(_ url: String) -> Bool { Origin(url) == Origin(base.origin + "/") }

    // MARK: ping

    /// `GET /v2/`: checks that the registry answers and that the credentials are accepted.
    public func ping(_ done: @escaping (Result<Void, RegistryError>) -> Void) {
        RegistryCall(client: self, url: base.url("/v2/"), scopes: [], what: "GET /v2/", mode: .collect(maxBytes: 64 * 1024)) { r in
            done(r.map { _ in () })
        }.start()
    }

    // MARK: listings

    /// Streams the repository names of `/v2/_catalog`, page by page, following `Link` (or `last=`
    /// where a registry omits Link on a full page). `done` gets the total count.
    public func listRepositories(onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        let first = base.url("/v2/_catalog?n=\(options.pageSize)")
        listPages(url: first, key: "repositories", scopes: ["registry:catalog:*"], what: "repository catalog",
                  fallback: { last in self.base.url("/v2/_catalog?n=\(self.options.pageSize)&last=\(PercentEncoding.encode(last))") },
                  onPage: onPage, seen: [], total: 0, fellBackFrom: nil, done: done)
    }

    /// Streams the tags of `repository`, page by page.
    public func listTags(repository: String, onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        guard ImageReference.isRepository(repository) else {
            return done(.failure(RegistryError(.invalidInput, registry: base.origin, "invalid repository name \"\(repository)\"")))
        }
        let first = base.url("/v2/\(repository)/tags/list?n=\(options.pageSize)")
        listPages(url: first, key: "tags", scopes: ["repository:\(repository):\(options.tagListActions.joined(separator: ","))"], what: "tags of \(repository)",
                  fallback: { last in self.base.url("/v2/\(repository)/tags/list?n=\(self.options.pageSize)&last=\(PercentEncoding.encode(last))") },
                  onPage: onPage, seen: [], total: 0, fellBackFrom: nil, done: done)
    }

    /// `fellBackFrom`: the names of the page before, when this page was asked for with `last=`. A registry
    /// that ignores `n` (docker-registry 2.8's tags/list does) answers more than a page, which is then
    /// all there is; one that also ignores `last` answers the same names again, which are not repeated.
    private func listPages(url: String, key: String, scopes: [String], what: String, fallback: @escaping (String) -> String,
                           onPage: @escaping ([String]) -> Void, seen: Set<String>, total: Int, fellBackFrom: [String]?,
                           done: @escaping (Result<Int, RegistryError>) -> Void) {
        RegistryCall(client: self, url: url, scopes: scopes, what: what, mode: .collect(maxBytes: 32 << 20)) { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let o):
                guard let json = try? JSON.parse(o.body) else {
                    return done(.failure(RegistryError(.registry, registry: base.origin, "\(what): answer is not JSON")))
                }
                let names = json[key]?.array?.compactMap(\.string) ?? []
                if let before = fellBackFrom, let first = names.first, Set(before).contains(first) { return done(.success(total)) }
                if !names.isEmpty { onPage(names) }
                let count = total + names.count
                var next: String?
                var fellBack = false
                if let link = LinkHeader.next(o.head.headers.values("Link")) {
                    // Against the URL asked for (on the registry's origin), never a redirect's target.
                    guard let resolved = LinkHeader.resolve(link, against: url), isRegistryOrigin(resolved) else {
                        return done(.failure(RegistryError(.refused, registry: base.origin,
                            "\(what): next-page link \(Redaction.text(String(link.prefix(200)))) leaves the registry's origin \(base.origin); not followed")))
                    }
                    next = resolved
                } else if names.count == options.pageSize, let last = names.last {
                    next = fallback(last)
                    fellBack = true
                }
                guard let n = next, !names.isEmpty, !seen.contains(n) else { return done(.success(count)) }
                guard seen.count + 1 < options.maxListPages else {
                    return done(.failure(RegistryError(.registry, registry: base.origin,
                        "\(what): the registry still had more after \(options.maxListPages) pages (\(count) names); the listing is stopped there")))
                }
                listPages(url: n, key: key, scopes: scopes, what: what, fallback: fallback, onPage: onPage,
                          seen: seen.union([n]), total: count, fellBackFrom: fellBack ? names : nil, done: done)
            }
        }.start()
    }

    /// One page of a listing, for callers that page themselves (the API's cursors): the names the
    /// answer at `url` holds (all of them, even when the registry ignored `n`), the next-page URL its
    /// `Link` gives (on the registry's origin, else a `.refused` failure).
    public struct ListingPage: Sendable {
        public let names: [String]
        public let next: String?
    }

    /// The URL of the catalog's first page of `n` names, or of the page after `last`.
    public func catalogURL(n: Int, last: String? = nil) -> String {
        base.url("/v2/_catalog?n=\(n)" + (last.map { "&last=\(PercentEncoding.encode($0))" } ?? ""))
    }

    /// The URL of `repository`'s first page of `n` tags, or of the page after `last`.
    public func tagsURL(repository: String, n: Int, last: String? = nil) -> String {
        base.url("/v2/\(repository)/tags/list?n=\(n)" + (last.map { "&last=\(PercentEncoding.encode($0))" } ?? ""))
    }

    /// Fetches one listing page at `url` (a catalog URL when `repository` is nil, else a tags URL of it).
    public func listingPage(url: String, repository: String?, done: @escaping (Result<ListingPage, RegistryError>) -> Void) {
        if let repository, !ImageReference.isRepository(repository) {
            return done(.failure(RegistryError(.invalidInput, registry: base.origin, "invalid repository name \"\(repository)\"")))
        }
        let key = repository == nil ? "repositories" : "tags"
        let scopes = repository.map { ["repository:\($0):pull"] } ?? ["registry:catalog:*"]
        let what = repository.map { "tags of \($0)" } ?? "repository catalog"
        RegistryCall(client: self, url: url, scopes: scopes, what: what, mode: .collect(maxBytes: 32 << 20)) { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let o):
                guard let json = try? JSON.parse(o.body), json.object != nil else {
                    return done(.failure(RegistryError(.registry, registry: base.origin, "\(what): answer is not a JSON object")))
                }
                let names = json[key]?.array?.compactMap(\.string) ?? []
                var next: String?
                if let link = LinkHeader.next(o.head.headers.values("Link")) {
                    guard let resolved = LinkHeader.resolve(link, against: url), isRegistryOrigin(resolved) else {
                        return done(.failure(RegistryError(.refused, registry: base.origin,
                            "\(what): next-page link \(Redaction.text(String(link.prefix(200)))) leaves the registry's origin \(base.origin); not followed")))
                    }
                    next = resolved
                }
                done(.success(ListingPage(names: names, next: next)))
            }
        }.start()
    }

    // MARK: manifests

    /// Fetches the manifest or index `reference` names, verifying its digest when pulled by digest.
    public func manifest(repository: String, reference: String, done: @escaping (Result<ManifestDocument, RegistryError>) -> Void) {
        var headers = HTTPHeaders()
        headers.set("Accept", MediaType.manifestAccept)
        let what = "manifest \(repository):\(reference)"
        RegistryCall(client: self, url: base.url("/v2/\(repository)/manifests/\(reference)"), headers: headers,
                     scopes: ["repository:\(repository):pull"], what: what, mode: .collect(maxBytes: options.maxManifestBytes)) { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let o):
                let digest = SHA256.digest(o.body)
                if ImageReference.isDigest(reference) && digest != reference {
                    return done(.failure(RegistryError(.integrity, registry: base.origin, "\(what): the registry sent a manifest whose digest is \(digest)")))
                }
                done(Result { () throws(RegistryError) in
                    try ManifestParser.parse(o.body, digest: digest, contentType: o.head.headers["Content-Type"], registry: base.origin)
                })
            }
        }.start()
    }

    /// Resolves `reference` to one image for the configured platform: the manifest (through an
    /// index when there is one), its config, and its layers. What is not a container image for that
    /// platform fails with `.unsupported` and a reason.
    public func resolve(_ reference: ImageReference, done: @escaping (Result<ResolvedImage, RegistryError>) -> Void) {
        if let tag = reference.tag, ResolvedImage.isSignatureTag(tag) {
            return done(.failure(RegistryError(.unsupported, registry: base.origin, "\(reference) is a cosign signature, attestation or SBOM tag, not an image")))
        }
        manifest(repository: reference.repository, reference: reference.manifestReference) { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(.image(let m)): finishResolve(reference, manifest: m, index: nil, done: done)
            case .success(.index(let index)):
                guard let entry = index.entry(for: options.platform) else {
                    let available = index.imageEntries.compactMap { $0.platform?.description }
                    return done(.failure(RegistryError(.notFound, registry: base.origin,
                        "\(reference) has no image for \(options.platform) (it has: \(available.isEmpty ? "none" : available.joined(separator: ", ")))")))
                }
                manifest(repository: reference.repository, reference: entry.digest) { [self] inner in
                    switch inner {
                    case .failure(let e): done(.failure(e))
                    case .success(.index): done(.failure(RegistryError(.unsupported, registry: base.origin, "\(reference): nested indexes are not supported")))
                    case .success(.image(let m)): finishResolve(reference, manifest: m, index: index, done: done)
                    }
                }
            }
        }
    }

    private func finishResolve(_ reference: ImageReference, manifest m: ImageManifest, index: ImageIndex?,
                               done: @escaping (Result<ResolvedImage, RegistryError>) -> Void) {
        guard MediaType.isImageConfig(m.config.mediaType) else {
            return done(.failure(RegistryError(.unsupported, registry: base.origin,
                "\(reference) is an OCI artifact, not a container image (config media type \(m.config.mediaType))")))
        }
        guard m.config.size <= options.maxConfigBytes else {
            return done(.failure(RegistryError(.tooLarge, registry: base.origin, "\(reference): image config is \(m.config.size) bytes, over the \(options.maxConfigBytes)-byte limit")))
        }
        let finish = { [self] (body: [UInt8]) in
            do throws(RegistryError) {
                let config = try ImageConfig(digest: m.config.digest, raw: body, registry: base.origin)
                if config.os == "windows" {
                    return done(.failure(RegistryError(.unsupported, registry: base.origin, "\(reference) is a Windows image; only Linux images are scanned")))
                }
                done(.success(ResolvedImage(reference: reference, manifest: m, index: index, config: config)))
            } catch {
                done(.failure(error))
            }
        }
        if let kept = configStore?.config(m.config.digest, maxBytes: m.config.size), kept.count == m.config.size,
           SHA256.digest(kept) == m.config.digest {
            return finish(kept)
        }
        var body: [UInt8] = []
        streamBlob(repository: reference.repository, descriptor: m.config, onChunk: { body.append(contentsOf: $0); return .continue }) { [self] r in
            switch r {
            case .failure(let e): done(.failure(e))
            case .success:
                configStore?.keep(config: body, digest: m.config.digest)
                finish(body)
            }
        }
    }

    // MARK: blobs

    /// Streams a blob to `onChunk` with backpressure (return `.pause`, then call `resume()` on the
    /// returned download). The sha256 and size are checked as bytes pass; `done` reports the outcome,
    /// so a consumer must treat the bytes as unverified until it succeeds. `hashOffThread` as
    /// `PipelinedSHA256(offThread:)` takes it (nil: on the hashing thread when two CPUs are available).
    @discardableResult
    public func streamBlob(repository: String, descriptor: Descriptor, hashOffThread: Bool? = nil,
                           onChunk: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition,
                           done: @escaping (Result<Int, RegistryError>) -> Void) -> BlobDownload {
        let download = BlobDownload()
        if MediaType.isForeignLayer(descriptor.mediaType) {
            done(.failure(RegistryError(.unsupported, registry: base.origin, "blob \(descriptor.digest) is a foreign (non-distributable) layer; it is not pulled")))
            return download
        }
        let hasher = PipelinedSHA256(offThread: hashOffThread)
        var received = 0
        var overflow = false
        let what = "blob \(repository)@\(descriptor.digest)"
        let call = RegistryCall(client: self, url: base.url("/v2/\(repository)/blobs/\(descriptor.digest)"), scopes: ["repository:\(repository):pull"],
                                what: what, mode: .stream(onChunk: { chunk in
            if overflow { return .continue }
            received += chunk.count
            if received > descriptor.size { overflow = true; download.call?.cancelQuietly(); return .continue }
            hasher.update(chunk)
            return onChunk(chunk)
        })) { [self] result in
            switch result {
            case .failure(let e) where overflow:
                _ = e
                done(.failure(RegistryError(.integrity, registry: base.origin, "\(what): more bytes than the \(descriptor.size) the manifest declares")))
            case .failure(let e): done(.failure(e))
            case .success:
                if overflow {
                    return done(.failure(RegistryError(.integrity, registry: base.origin, "\(what): more bytes than the \(descriptor.size) the manifest declares")))
                }
                let digest = "sha256:" + hasher.finalizeHex()
                guard received == descriptor.size else {
                    return done(.failure(RegistryError(.integrity, registry: base.origin, "\(what): got \(received) bytes, the manifest declares \(descriptor.size)")))
                }
                guard digest == descriptor.digest else {
                    return done(.failure(RegistryError(.integrity, registry: base.origin, "\(what): content digest is \(digest); the blob is corrupt or was tampered with")))
                }
                done(.success(received))
            }
        }
        download.call = call
        call.start()
        return download
    }
}

/// A blob being streamed; lets a paused consumer resume.
public final class BlobDownload {
    var call: RegistryCall?
    public func resume() { call?.resume() }
    public func cancel() { call?.cancel() }
}

/// An image resolved for one platform.
public struct ResolvedImage: Sendable {
    public let reference: ImageReference
    public let manifest: ImageManifest
    public let index: ImageIndex?
    public let config: ImageConfig

    /// Layers to pull, base first; foreign layers are left out (see `foreignLayers`).
    public var layers: [Descriptor] { manifest.layers.filter { !MediaType.isForeignLayer($0.mediaType) } }
    public var foreignLayers: [Descriptor] { manifest.layers.filter { MediaType.isForeignLayer($0.mediaType) } }
    /// Total compressed size of the layers to pull.
    /// Saturates at `Int.max` (each size is range-checked when parsed, their sum is not bounded).
    public var compressedSize: Int {
        layers.reduce(0) { sum, layer in
            let (total, overflow) = sum.addingReportingOverflow(layer.size)
            return overflow ? Int.max : total
        }
    }

    /// cosign's `sha256-<hex>.sig|.att|.sbom` tags.
    static func isSignatureTag(_ tag: String) -> Bool {
        guard tag.hasPrefix("sha256-") else { return false }
        return tag.hasSuffix(".sig") || tag.hasSuffix(".att") || tag.hasSuffix(".sbom")
    }
}

