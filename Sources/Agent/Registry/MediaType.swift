// Media types of manifests, configs and layers (OCI image-spec and Docker image manifest v2).

public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"

    /// What the registry client asks for when it fetches a manifest.
    public static let manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest].joined(separator: ", ")

    public static func isIndex(_ t: String) -> Bool { t == ociIndex || t == dockerManifestList }
    public static func isImageManifest(_ t: String) -> Bool { t == ociManifest || t == dockerManifest }
    public static func isSchema1(_ t: String) -> Bool { t == dockerSchema1 || t == dockerSchema1Signed || t == "application/json" }
    public static func isImageConfig(_ t: String) -> Bool { t == ociConfig || t == dockerConfig }

    /// Layers that must not be pulled from the registry (they live elsewhere, by license).
    public static func isForeignLayer(_ t: String) -> Bool {
        t.hasPrefix("application/vnd.docker.image.rootfs.foreign.") || t.hasPrefix("application/vnd.oci.image.layer.nondistributable.")
    }
}
