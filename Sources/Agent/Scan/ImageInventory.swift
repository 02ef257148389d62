// The merged result of scanning one image: what every report format is written from.

public struct ImageInventory: Sendable {
    /// The reference as the user gave it (`registry.example/app:1.0`, `oci:/dir:tag`, ...).
    public var reference: String
    /// The manifest digest, when the image came from a registry or an OCI layout.
    public var manifestDigest: String?
    /// The config digest (what `docker images` calls the image ID).
    public var imageID: String
    public var platform: Platform
    public var os: OSRelease?
    /// Packages that survive the layer merge, sorted (ecosystem, name, version, path).
    public var packages: [Package]
    /// Layer digests, base first (compressed, as in the manifest).
    public var layerDigests: [String]
    /// The config's rootfs.diff_ids, base first.
    public var diffIDs: [String]
    /// The image config (history, labels, created, container config, raw bytes).
    public var config: ImageConfig
    /// Total size of the layers (compressed) plus config, as registries report image size.
    public var imageSizeBytes: Int
    /// Problems worth telling the user, one line each (skipped files, media type corrections, ...).
    public var warnings: [String]

    public init(reference: String, manifestDigest: String?, imageID: String, platform: Platform, os: OSRelease?,
                packages: [Package], layerDigests: [String], diffIDs: [String], config: ImageConfig,
                imageSizeBytes: Int, warnings: [String]) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.imageID = imageID
        self.platform = platform
        self.os = os
        self.packages = packages
        self.layerDigests = layerDigests
        self.diffIDs = diffIDs
        self.config = config
        self.imageSizeBytes = imageSizeBytes
        self.warnings = warnings
    }
}
