// Image manifests, indexes and configs as the registry client reads them, and platform choice.
import Core

public struct Platform: Equatable, Sendable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String = "linux", architecture: String = "amd64", variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/arch[/variant]`.
    public init(parsing s: String) throws(RegistryError) {
        let parts = s.split(separator: "/").map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw RegistryError(.invalidInput, registry: "", "platform must be os/arch[/variant], got \"\(s)\"")
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    init?(json: JSON?) {
        guard let json, let os = json["os"]?.string, let arch = json["architecture"]?.string else { return nil }
        self.init(os: os, architecture: arch, variant: json["variant"]?.string)
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// Whether an index entry for `other` can serve a request for `self`: same os and architecture,
    /// and the same variant when one is asked for (arm64 defaults to v8, as container tools do).
    func accepts(_ other: Platform) -> Bool {
        guard os == other.os, architecture == other.architecture else { return false }
        guard let want = variant else { return true }
        let have = other.variant ?? (other.architecture == "arm64" ? "v8" : nil)
        return want == have
    }
}

public struct Descriptor: Equatable, Sendable {
    public let mediaType: String
    public let digest: String
    public let size: Int
    public let platform: Platform?
    public let annotations: [String: String]
    public let urls: [String]

    /// Sizes a descriptor may declare: a blob over 1 TiB is not an image layer anyone pulls, and with
    /// the manifest's own size limit the sum of every size stays far from overflowing.
    public static let sizeRange = 0...(1 << 40)

    init(json: JSON, defaultMediaType: String = "") throws(RegistryError) {
        guard let digest = json["digest"]?.string, ImageReference.isDigest(digest) else {
            throw RegistryError(.registry, registry: "", "descriptor without a valid sha256 digest")
        }
        guard let field = json["size"], !field.isNull else {
            throw RegistryError(.registry, registry: "", "descriptor \(digest) without a valid size")
        }
        guard let size = field.int, Descriptor.sizeRange.contains(size) else {
            throw RegistryError(.registry, registry: "", "descriptor \(digest): size \(String(field.serialized.prefix(40))) is outside 0...\(Descriptor.sizeRange.upperBound) (1 TiB)")
        }
        self.mediaType = json["mediaType"]?.string ?? defaultMediaType
        self.digest = digest
        self.size = size
        self.platform = Platform(json: json["platform"])
        var ann: [String: String] = [:]
        for (k, v) in json["annotations"]?.object ?? [] { if let s = v.string { ann[k] = s } }
        self.annotations = ann
        self.urls = json["urls"]?.array?.compactMap(\.string) ?? []
    }
}

/// A manifest document as fetched: its bytes, digest and parsed form.
public enum ManifestDocument: Sendable {
    case image(ImageManifest)
    case index(ImageIndex)
}

public struct ImageManifest: Sendable {
    public let mediaType: String
    public let digest: String
    public let config: Descriptor
    public let layers: [Descriptor]
    public let raw: [UInt8]
}

public struct ImageIndex: Sendable {
    public let mediaType: String
    public let digest: String
    public let manifests: [Descriptor]
    public let raw: [UInt8]

    /// Index entries that are images, without attestations (buildkit stores them with platform
    /// `unknown/unknown` and a `vnd.docker.reference.type` annotation).
    public var imageEntries: [Descriptor] {
        manifests.filter { d in
            d.annotations["vnd.docker.reference.type"] == nil && d.platform?.os != "unknown"
        }
    }

    /// The entry for `platform`, or nil.
    public func entry(for platform: Platform) -> Descriptor? {
        imageEntries.first { $0.platform.map(platform.accepts) ?? false }
    }
}

public struct ImageConfig: Sendable {
    public let digest: String
    public let os: String
    public let architecture: String
    public let variant: String?
    public let diffIDs: [String]
    public let created: String?
    public let labels: [String: String]
    /// The `history` entries, as JSON (the snyk report copies some of their fields).
    public let history: [JSON]
    /// The `config` object of the image config (Env, Cmd, Labels, WorkingDir, ...), as JSON, parsed once
    /// with the rest (the snyk report copies it).
    public let containerConfig: JSON?
    public let raw: [UInt8]

    public init(digest: String, raw: [UInt8], registry: String) throws(RegistryError) {
        let json: JSON
        do { json = try JSON.parse(raw) } catch { throw RegistryError(.registry, registry: registry, "image config \(digest) is not JSON: \(error)") }
        self.digest = digest
        self.raw = raw
        self.os = json["os"]?.string ?? ""
        self.architecture = json["architecture"]?.string ?? ""
        self.variant = json["variant"]?.string
        self.diffIDs = json["rootfs"]?["diff_ids"]?.array?.compactMap(\.string) ?? []
        self.created = json["created"]?.string
        var labels: [String: String] = [:]
        for (k, v) in json["config"]?["Labels"]?.object ?? [] { if let s = v.string { labels[k] = s } }
        self.labels = labels
        self.history = json["history"]?.array ?? []
        self.containerConfig = json["config"]
    }
}

public enum ManifestParser {
    /// Parses manifest bytes. `contentType` is the registry's Content-Type, used only when the
    /// document does not say its own media type.
    public static func parse(_ raw: [UInt8], digest: String, contentType: String?, registry: String) throws(RegistryError) -> ManifestDocument {
        let json: JSON
        do { json = try JSON.parse(raw) } catch {
            throw RegistryError(.registry, registry: registry, "manifest \(digest) is not valid JSON: \(error)")
        }
        let declared = json["mediaType"]?.string
        var type = declared ?? contentType?.split(separator: ";").first.map { $0.trimmed(" ") } ?? ""
        if json["schemaVersion"]?.int == 1 || MediaType.isSchema1(type) {
            throw RegistryError(.unsupported, registry: registry, "manifest \(digest) is Docker schema 1, which is deprecated and not supported; push the image again with a current client (schema 2 or OCI)")
        }
        if declared == nil {
            // OCI allows mediaType to be absent: tell an index from a manifest by its fields.
            if json["manifests"] != nil { type = MediaType.ociIndex } else if json["config"] != nil && !MediaType.isImageManifest(type) { type = MediaType.ociManifest }
        }
        if MediaType.isIndex(type) {
            var entries: [Descriptor] = []
            for m in json["manifests"]?.array ?? [] {
                do { entries.append(try Descriptor(json: m)) } catch { throw RegistryError(.registry, registry: registry, "index \(digest): \(error.message)") }
            }
            return .index(ImageIndex(mediaType: type, digest: digest, manifests: entries, raw: raw))
        }
        guard MediaType.isImageManifest(type) || json["config"] != nil else {
            throw RegistryError(.unsupported, registry: registry, "manifest \(digest) has unsupported media type \"\(type)\"")
        }
        guard let configJSON = json["config"] else { throw RegistryError(.registry, registry: registry, "manifest \(digest) has no config") }
        do {
            let config = try Descriptor(json: configJSON)
            var layers: [Descriptor] = []
            for l in json["layers"]?.array ?? [] { layers.append(try Descriptor(json: l)) }
            return .image(ImageManifest(mediaType: type, digest: digest, config: config, layers: layers, raw: raw))
        } catch {
            throw RegistryError(.registry, registry: registry, "manifest \(digest): \(error.message)")
        }
    }
}
