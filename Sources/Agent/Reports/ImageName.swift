// An image reference split into registry host, repository, tag and digest, for report names and purls.

/// What reports need from the reference the user gave (`registry.example:5000/team/app:1.0@sha256:...`).
/// Parsing is lenient: reports describe whatever was scanned, so nothing here throws.
struct ImageName {
    /// The reference without tag or digest (`registry.example:5000/team/app`).
    let name: String
    /// The registry host when the first path component is one (has `.` or `:`, or is `localhost`).
    let host: String?
    /// The path after the host (`team/app`).
    let repository: String
    let tag: String?
    let digest: String?

    init(_ reference: String) {
        var rest = Substring(reference)
        var digest: String?
        if let at = rest.lastIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        name = String(rest)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            host = String(parts[0])
            repository = String(parts[1])
        } else {
            host = nil
            repository = String(rest)
        }
        self.tag = tag.flatMap { $0.isEmpty ? nil : $0 }
        self.digest = digest.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the reference names a local layout or archive (`oci:/dir:tag`, `docker-archive:x.tar`), not a registry.
    var isLocal: Bool {
        ["oci:", "oci-archive:", "docker-archive:", "dir:"].contains { name.hasPrefix($0) }
    }

    /// The purl-spec `oci` purl of the image: the repository's last segment (lower-cased) as name, the
    /// manifest digest as version, `arch`, `repository_url` (host/repository) and `tag` qualifiers.
    /// nil without a manifest digest, which is the purl's version.
    func ociPurl(manifestDigest: String?, architecture: String) -> Purl? {
        guard let manifestDigest, !manifestDigest.isEmpty else { return nil }
        let last = (repository.split(separator: "/").last.map(String.init) ?? repository).lowercased()
        guard !last.isEmpty else { return nil }
        var q = [Purl.Qualifier("arch", architecture), Purl.Qualifier("tag", tag ?? "")]
        if let host, !isLocal { q.append(Purl.Qualifier("repository_url", host + "/" + repository)) }
        return Purl(type: "oci", name: last, version: manifestDigest, qualifiers: q)
    }
}
