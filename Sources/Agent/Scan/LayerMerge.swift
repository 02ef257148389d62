// Merges per-layer findings into the image's view by the OCI image-spec rules: whiteouts, opaque
// directories, a file replacing a lower directory, a directory or file replacing a lower file.

public enum LayerMerge {
    public struct Result: Sendable {
        public var packages: [Package]
        public var os: OSRelease?
        public var warnings: [String]
    }

    /// `layers` base first. A path cataloged in layer i counts when no layer above it deletes,
    /// hides or replaces that path or one of its ancestors.
    public static func merge(_ layers: [LayerFindings]) -> Result {
        var packages: [Package] = []
        var osFiles: [String: String] = [:]
        for (i, layer) in layers.enumerated() {
            let upper = layers[(i + 1)...]
            for (path, found) in layer.packagesByPath where isLive(path, under: upper) {
                packages.append(contentsOf: found)
            }
            for (path, text) in layer.osFiles where isLive(path, under: upper) { osFiles[path] = text }
        }
        var os: OSRelease?
        for path in OSRelease.paths {
            if let text = osFiles[path], let parsed = OSRelease.parse(path: path, contents: text) { os = parsed; break }
        }
        packages.sort(by: packageOrder)
        return Result(packages: packages, os: os, warnings: layers.flatMap(\.warnings))
    }

    /// Whether `path` (a regular file in some layer) survives every layer in `upper`.
    static func isLive(_ path: String, under upper: ArraySlice<LayerFindings>) -> Bool {
        let ancestors = ancestorPaths(of: path)
        let pathHash = LayerFindings.pathHash(path)
        for layer in upper {
            if layer.nonDirectoryHashes.contains(pathHash) || layer.directoryHashes.contains(pathHash) { return false }
            if layer.whiteouts.contains(path) { return false }
            for a in ancestors {
                if layer.whiteouts.contains(a) || layer.opaqueDirectories.contains(a) { return false }
                if layer.nonDirectoryHashes.contains(LayerFindings.pathHash(a)) { return false }
            }
        }
        return true
    }

    /// `/a/b/c` -> [`/a/b`, `/a`] (the root is never deleted).
    static func ancestorPaths(of path: String) -> [String] {
        var out: [String] = []
        var p = Substring(path)
        while let slash = p.lastIndex(of: "/"), slash > p.startIndex {
            p = p[..<slash]
            out.append(String(p))
        }
        return out
    }

    /// Deterministic report order: ecosystem, name, version, location.
    public static func packageOrder(_ a: Package, _ b: Package) -> Bool {
        if a.ecosystem != b.ecosystem { return a.ecosystem < b.ecosystem }
        if a.name != b.name { return a.name < b.name }
        if a.version != b.version { return a.version < b.version }
        if (a.namespace ?? "") != (b.namespace ?? "") { return (a.namespace ?? "") < (b.namespace ?? "") }
        return a.location < b.location
    }
}
