// An image in a `docker save` tarball (`docker-archive:<file>[:name:tag]`): the legacy layout
// (manifest.json, <id>.json config, <id>/layer.tar) and the OCI layout newer Docker writes inside it.
// The archive is indexed in one pass (small JSON files kept, layers located by offset), then layers
// stream straight from the file.
import Core

public final class DockerArchiveSource: ImageSource {
    public let path: String
    public let name: String?
    public let displayName: String
    private let reactor: Reactor
    private var members: [String: (offset: Int, size: Int)] = [:]
    private var small: [String: [UInt8]] = [:]

    public init(path: String, name: String?, reactor: Reactor) {
        self.path = path
        self.name = name
        self.reactor = reactor
        displayName = "docker-archive:\(path)" + (name.map { ":\($0)" } ?? "")
    }

    /// Members the index remembers, and bytes of small (JSON) members it keeps, in one archive: a
    /// `docker save` of one image has a few per layer; past these the archive is refused.
    static let maxMembers = 100_000
    static let maxSmallBytes = 64 << 20

    public func resolve(_ done: @escaping (Result<ResolvedImage, ScanFailure>) -> Void) {
        var indexer = ArchiveIndexer()
        let reader = TarReader()
        var failure: ScanFailure?
        var offset = 0
        _ = LocalFileStream(path: path, count: nil, reactor: reactor, onChunk: { chunk in
            guard failure == nil else { return .continue }
            indexer.chunkBase = chunk.baseAddress
            indexer.chunkOffset = offset
            do throws(StreamError) { try reader.feed(chunk, to: &indexer) } catch {
                failure = error.kind == .limit
                    ? .scan(ScanError(.limit, "\(self.path): \(error.message)"))
                    : .scan(ScanError(.corrupt, "\(self.path) is not a readable tar archive: \(error.message)"))
            }
            offset += chunk.count
            return .continue
        }) { [self] result in
            if let failure { return done(.failure(failure)) }
            if case .failure(let e) = result { return done(.failure(e)) }
            do throws(StreamError) { try reader.finish(&indexer) } catch {
                return done(.failure(.scan(ScanError(.corrupt, "\(path): \(error.message)"))))
            }
            members = indexer.members
            small = indexer.small
            done(Result { () throws(ScanFailure) -> ResolvedImage in try build() })
        }
    }

    private func json(_ member: String) throws(ScanFailure) -> JSON {
        guard let bytes = small[member] else { throw .source("\(displayName): the archive has no \(member)") }
        do { return try JSON.parse(bytes) } catch { throw .source("\(displayName): \(member) is not JSON: \(error)") }
    }

    private func build() throws(ScanFailure) -> ResolvedImage {
        let manifests = try json("manifest.json").array ?? []
        guard !manifests.isEmpty else { throw .source("\(displayName): manifest.json lists no image") }
        let entry: JSON
        if let name {
            guard let m = manifests.first(where: { ($0["RepoTags"]?.array ?? []).contains { $0.string == name || $0.string == "\(name):latest" } }) else {
                let tags = manifests.flatMap { $0["RepoTags"]?.array?.compactMap(\.string) ?? [] }
                throw .source("\(displayName): no image named \(name) (it has: \(UntrustedText.truncated(tags.joined(separator: ", "), maxBytes: 1024)))")
            }
            entry = m
        } else {
            guard manifests.count == 1 else { throw .source("\(displayName) holds \(manifests.count) images; name one as docker-archive:\(path):<name:tag>") }
            entry = manifests[0]
        }
        guard let configMember = entry["Config"]?.string, let configBytes = small[configMember] else {
            throw .source("\(displayName): the image's config is missing from the archive")
        }
        let configDigest = SHA256.digest(configBytes)
        let config: ImageConfig
        do { config = try ImageConfig(digest: configDigest, raw: configBytes, registry: displayName) } catch { throw .registry(error) }
        let layerMembers = entry["Layers"]?.array?.compactMap(\.string) ?? []
        guard layerMembers.count == config.diffIDs.count else {
            throw .source("\(displayName): manifest.json lists \(layerMembers.count) layers, the config \(config.diffIDs.count)")
        }
        var layers: [JSON] = []
        for (i, member) in layerMembers.enumerated() {
            guard let m = members[member] else { throw .source("\(displayName): layer \(UntrustedText.truncated(member, maxBytes: 256)) is missing from the archive") }
            // OCI-style members are named by their digest; a legacy layer.tar is the uncompressed tar itself.
            let digest: String
            if member.hasPrefix("blobs/sha256/") {
                digest = "sha256:" + member.dropFirst("blobs/sha256/".count)
            } else {
                digest = config.diffIDs[i]
            }
            memberOf[digest] = member
            layers.append(.object([("mediaType", .string("application/vnd.oci.image.layer.v1.tar")), ("digest", .string(digest)), ("size", .int(m.size))]))
        }
        let manifestJSON = JSON.object([("schemaVersion", .int(2)), ("mediaType", .string(MediaType.ociManifest)),
                                        ("config", .object([("mediaType", .string(MediaType.ociConfig)), ("digest", .string(configDigest)), ("size", .int(configBytes.count))])),
                                        ("layers", .array(layers))])
        let raw = manifestJSON.serializedBytes
        guard case .image(let manifest)? = try? ManifestParser.parse(raw, digest: SHA256.digest(raw), contentType: nil, registry: displayName) else {
            throw .source("\(displayName): cannot describe the image")
        }
        let tag = entry["RepoTags"]?.array?.first?.string
        return ResolvedImage(reference: ImageReference(repository: "local", tag: tag), manifest: manifest, index: nil, config: config)
    }

    private var memberOf: [String: String] = [:]

    public func streamLayer(_ layer: Descriptor, onChunk: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition,
                            done: @escaping (Result<Int, ScanFailure>) -> Void) -> LayerStream {
        let m = memberOf[layer.digest].flatMap { members[$0] } ?? (offset: 0, size: 0)
        return LocalFileStream(path: path, offset: m.offset, count: m.size, reactor: reactor, onChunk: onChunk, done: done)
    }
}

/// Records where each regular member's data starts, and keeps the small JSON members.
private struct ArchiveIndexer: TarEventHandler {
    var members: [String: (offset: Int, size: Int)] = [:]
    var small: [String: [UInt8]] = [:]
    var chunkBase: UnsafeRawPointer?
    var chunkOffset = 0
    private var current: String?
    private var keep = false
    private var located = false
    private var size = 0
    private var smallBytes = 0

    mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition {
        guard entry.kind == .file else { return .skip }
        guard members.count < DockerArchiveSource.maxMembers else {
            throw StreamError(.limit, "the archive has more than \(DockerArchiveSource.maxMembers) files; a docker-archive of one image has a few per layer")
        }
        current = String(entry.path.dropFirst())          // members are named relative to the archive
        size = entry.size
        keep = entry.size <= 8 << 20 && (entry.path.hasSuffix(".json") || !entry.path.hasSuffix(".tar") && entry.size <= 64 * 1024)
        located = false
        if entry.size == 0 { members[current!] = (offset: 0, size: 0) }
        return entry.size > 0 ? .deliver : .skip
    }

    mutating func tarData(_ bytes: UnsafeRawBufferPointer) throws(StreamError) {
        guard let name = current else { return }
        if !located, let base = chunkBase, let p = bytes.baseAddress {
            members[name] = (offset: chunkOffset + (p - base), size: size)
            located = true
        }
        if keep {
            smallBytes += bytes.count
            guard smallBytes <= DockerArchiveSource.maxSmallBytes else {
                throw StreamError(.limit, "the archive's JSON and small files hold more than \(DockerArchiveSource.maxSmallBytes) bytes")
            }
            small[name, default: []].append(contentsOf: bytes)
        }
    }

    mutating func tarEntryEnd() throws(StreamError) { current = nil }
    mutating func tarWarning(_ message: String) {}
}
