// What the API says about images without scanning them: the manifest digest (/get-state-identifier),
// an image's digests, platforms, created time, size and labels (/image-metadata), and the same in short
// for a page of tags (/list-with-metadata). Manifests and configs only: no layer is fetched.
import Core

enum ListingMetadata {
    /// The image `raw` names on the request's registry: `repo[:tag|@digest]`, optionally prefixed with
    /// that registry's host (another host is a 400: the credentials are not sent there); Docker Hub's
    /// one-component names get `library/`.
    static func reference(_ raw: String, request: ListingRequest, base: RegistryBase) -> Result<ImageReference, ServiceError> {
        var rest = Substring(raw.trimmed(" \t"))
        if let r = rest.range(of: "://") { rest = rest[r.upperBound...] }
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" {
                let named = RegistryCredentialSources.canonicalHost(String(first)), own = RegistryCredentialSources.canonicalHost(base.authority)
                guard named == own else {
                    return .failure(.badRequest("image \(UntrustedText.truncated(raw, maxBytes: 300)) is on \(UntrustedText.truncated(named, maxBytes: 200)), not on \(own), the registry of these credentials"))
                }
                rest = rest[rest.index(after: slash)...]
            }
        }
        if !rest.contains("/"), let prefix = request.access.type?.officialImagePrefix { rest = prefix + rest }
        do throws(RegistryError) {
            return .success(try ImageReference(parsing: String(rest)))
        } catch {
            return .failure(.badRequest("image: \(error.message)"))
        }
    }

    /// GET /get-state-identifier?image=: the digest of the manifest (or index) the reference names now.
    static func stateIdentifier(_ request: ListingRequest, image raw: String) {
        request.client { client in
            let image: ImageReference
            switch reference(raw, request: request, base: client.base) {
            case .failure(let e): return request.fail(e)
            case .success(let r): image = r
            }
            client.manifest(repository: image.repository, reference: image.manifestReference) { result in
                switch result {
                case .failure(let e): request.fail(e)
                case .success(let doc):
                    request.respond(.object([("image", .string(image.description)), ("stateIdentifier", .string(doc.digest)),
                                             ("mediaType", .string(doc.mediaType))]))
                }
            }
        }
    }

    /// GET /image-metadata/<repo>/<ref>: digests, platforms, created, size, labels of one image.
    static func image(_ request: ListingRequest, reference: ImageReference, platform: Platform) {
        request.client(adjust: { $0.platform = platform }) { client in
            client.resolve(reference) { result in
                switch result {
                case .failure(let e): request.fail(e)
                case .success(let image): request.respond(describe(image))
                }
            }
        }
    }

    static func describe(_ image: ResolvedImage) -> JSON {
        let config = image.config, manifest = image.manifest
        let platforms: [JSON]
        if let index = image.index {
            platforms = index.imageEntries.map { entry in
                .object([("platform", entry.platform.map { .string($0.description) } ?? .null), ("digest", .string(entry.digest)), ("size", .int(entry.size))])
            }
        } else {
            platforms = [.object([("platform", .string(Platform(os: config.os, architecture: config.architecture, variant: config.variant).description)),
                                  ("digest", .string(manifest.digest)), ("size", .int(manifest.raw.count))])]
        }
        let (size, overflow) = image.compressedSize.addingReportingOverflow(manifest.config.size)
        return .object([
            ("image", .string(image.reference.description)),
            ("digest", .string(image.index?.digest ?? manifest.digest)),
            ("mediaType", .string(image.index?.mediaType ?? manifest.mediaType)),
            ("manifestDigest", .string(manifest.digest)),
            ("configDigest", .string(config.digest)),
            ("platform", .string(Platform(os: config.os, architecture: config.architecture, variant: config.variant).description)),
            ("platforms", .array(platforms)),
            ("created", config.created.map(JSON.string) ?? .null),
            ("size", overflow ? .null : .int(size)),
            ("layers", .int(manifest.layers.count)),
            ("labels", .object(config.labels.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })),
        ])
    }

    /// One entry of /list-with-metadata for each of `tags`, in their order, at most
    /// `metadataConcurrency` manifests in flight. A tag that fails gets nulls and its error.
    static func tags(_ request: ListingRequest, client: RegistryClient, repository: String, tags: [String], done: @escaping ([JSON]) -> Void) {
        var entries = [JSON?](repeating: nil, count: tags.count)
        var nextIndex = 0, finished = 0
        func startNext() {
            guard !request.answered, nextIndex < tags.count else { return }
            let i = nextIndex
            nextIndex += 1
            let tag = tags[i]
            client.resolve(ImageReference(repository: repository, tag: tag)) { result in
                switch result {
                case .success(let image):
                    entries[i] = .object([
                        ("tag", .string(tag)), ("digest", .string(image.index?.digest ?? image.manifest.digest)),
                        ("mediaType", .string(image.index?.mediaType ?? image.manifest.mediaType)),
                        ("created", image.config.created.map(JSON.string) ?? .null), ("pushed", .null), ("error", .null)])
                case .failure(let e):
                    let s = ServiceError.registry(e)
                    entries[i] = .object([("tag", .string(tag)), ("digest", .null), ("mediaType", .null), ("created", .null), ("pushed", .null),
                                          ("error", .object([("code", .string(s.code)), ("message", .string(s.message))]))])
                }
                finished += 1
                if finished == tags.count { return done(entries.map { $0 ?? .null }) }
                startNext()
            }
        }
        if tags.isEmpty { return done([]) }
        for _ in 0..<min(ListingSettings.metadataConcurrency, tags.count) { startNext() }
    }
}

extension ManifestDocument {
    var digest: String {
        switch self {
        case .image(let m): return m.digest
        case .index(let i): return i.digest
        }
    }

    var mediaType: String {
        switch self {
        case .image(let m): return m.mediaType
        case .index(let i): return i.mediaType
        }
    }
}
