// An image in an OCI image layout directory (`oci:<dir>[:tag]`, as skopeo and umoci write them).
import Core
import Glibc

public final class OCILayoutSource: ImageSource {
    public let directory: String
    public let tag: String?
    public let platform: Platform
    public let displayName: String
    private let reactor: Reactor
    private let maxManifestBytes = 4 << 20

    public init(directory: String, tag: String?, platform: Platform, reactor: Reactor) {
        self.directory = directory
        self.tag = tag
        self.platform = platform
        self.reactor = reactor
        self.displayName = "oci:\(directory)" + (tag.map { ":\($0)" } ?? "")
    }

    func blobPath(_ digest: String) -> String { "\(directory)/blobs/sha256/\(digest.dropFirst(7))" }

    /// Reads a small file whole, verifying its digest when one is given.
    func readSmall(_ path: String, digest: String?, cap: Int) throws(ScanFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .source("cannot open \(path): \(String(errno: errno))") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw .source("cannot read \(path)") }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            if out.count > cap { throw .scan(ScanError(.limit, "\(path) is larger than \(cap) bytes")) }
        }
        if let digest, SHA256.digest(out) != digest {
            throw .scan(ScanError(.integrity, "\(path) does not match its digest \(digest)"))
        }
        return out
    }

    public func resolve(_ done: @escaping (Result<ResolvedImage, ScanFailure>) -> Void) {
        done(Result { () throws(ScanFailure) -> ResolvedImage in try resolveNow() })
    }

    private func resolveNow() throws(ScanFailure) -> ResolvedImage {
        let indexBytes = try readSmall("\(directory)/index.json", digest: nil, cap: maxManifestBytes)
        guard case .index(let top)? = try? ManifestParser.parse(indexBytes, digest: SHA256.digest(indexBytes), contentType: MediaType.ociIndex, registry: displayName) else {
            throw .source("\(directory)/index.json is not an OCI image index")
        }
        let candidates: [Descriptor]
        if let tag {
            candidates = top.manifests.filter { d in
                let name = d.annotations["org.opencontainers.image.ref.name"] ?? ""
                return name == tag || name.hasSuffix(":" + tag)
            }
            guard !candidates.isEmpty else {
                let names = top.manifests.compactMap { $0.annotations["org.opencontainers.image.ref.name"] }
                throw .source("\(displayName): no image tagged \(tag) in the layout (tags: \(names.isEmpty ? "none" : UntrustedText.truncated(names.joined(separator: ", "), maxBytes: 1024)))")
            }
        } else {
            candidates = top.manifests
            guard candidates.count == 1 || top.entry(for: platform) != nil else {
                throw .source("\(displayName) holds \(candidates.count) images; name one as oci:\(directory):<tag>")
            }
        }
        var descriptor = candidates.count == 1 ? candidates[0] : (top.entry(for: platform) ?? candidates[0])
        var index: ImageIndex?
        for _ in 0..<4 {
            let bytes = try readSmall(blobPath(descriptor.digest), digest: descriptor.digest, cap: maxManifestBytes)
            let doc: ManifestDocument
            do { doc = try ManifestParser.parse(bytes, digest: descriptor.digest, contentType: descriptor.mediaType, registry: displayName) }
            catch { throw .registry(error) }
            switch doc {
            case .index(let i):
                guard let entry = i.entry(for: platform) else {
                    throw .source("\(displayName) has no image for \(platform)")
                }
                index = i
                descriptor = entry
            case .image(let m):
                guard MediaType.isImageConfig(m.config.mediaType) else {
                    throw .source("\(displayName) is an OCI artifact (config media type \(UntrustedText.truncated(m.config.mediaType, maxBytes: 256))), not a container image")
                }
                let raw = try readSmall(blobPath(m.config.digest), digest: m.config.digest, cap: 8 << 20)
                let config: ImageConfig
                do { config = try ImageConfig(digest: m.config.digest, raw: raw, registry: displayName) } catch { throw .registry(error) }
                return ResolvedImage(reference: ImageReference(repository: "local", tag: tag), manifest: m, index: index, config: config)
            }
        }
        throw .source("\(displayName): indexes nested too deeply")
    }

    public func streamLayer(_ layer: Descriptor, onChunk: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition,
                            done: @escaping (Result<Int, ScanFailure>) -> Void) -> LayerStream {
        LocalFileStream(path: blobPath(layer.digest), count: layer.size, reactor: reactor, onChunk: onChunk, done: done)
    }
}
