// Merges per-layer findings into the image's view by the OCI image-spec rules: whiteouts, opaque
// directories, a file replacing a lower directory, a directory or file replacing a lower file.

public enum LayerMerge {
    public struct Result: Sendable {
        public var packages: [Package]
        public var os: OSRelease?
        public var warnings: [String]
        /// Set lookups the merge made: a work counter that tests hold to linear growth.
        public var lookups = 0
        /// Path hashes gathered into the sets of what upper layers shadow: work and memory the tests
        /// hold to the layers above the base.
        public var shadowHashes = 0
    }

    /// `layers` base first. A path cataloged in layer i counts when no layer above it deletes,
    /// hides or replaces that path or one of its ancestors.
    ///
    /// Linear in the layers: they are visited top down while what the layers above delete, hide or
    /// replace is gathered into one `Shadow`, so each cataloged path is checked once, whatever the number
    /// of layers (an image may have tens of thousands).
    public static func merge(_ layers: [LayerFindings]) -> Result {
        var packages: [Package] = []
        var osFiles: [String: String] = [:]
        var above = Shadow()
        var lookups = 0
        var shadowHashes = 0
        for (i, layer) in layers.enumerated().reversed() {
            for (path, found) in layer.packagesByPath where above.keeps(path, counting: &lookups) {
                packages.append(contentsOf: found)
            }
            for (path, text) in layer.osFiles where osFiles[path] == nil && above.keeps(path, counting: &lookups) { osFiles[path] = text }
            // Nothing lies below the base layer: its sets (usually the largest) would shadow nothing.
            if i > 0 {
                above.add(layer)
                shadowHashes += layer.nonDirectoryHashes.count + layer.directoryHashes.count
            }
        }
        var os: OSRelease?
        for path in OSRelease.paths {
            if let text = osFiles[path], let parsed = OSRelease.parse(path: path, contents: text) { os = parsed; break }
        }
        packages.sort(by: packageOrder)
        return Result(packages: packages, os: os, warnings: layers.flatMap(\.warnings), lookups: lookups, shadowHashes: shadowHashes)
    }

    /// What the layers above some layer delete, hide or replace: the union of their findings' sets.
    struct Shadow {
        var entryHashes = Set<UInt64>()
        var nonDirectoryHashes = Set<UInt64>()
        var whiteouts = Set<String>()
        var opaque = Set<String>()

        mutating func add(_ layer: LayerFindings) {
            entryHashes.formUnion(layer.nonDirectoryHashes)
            entryHashes.formUnion(layer.directoryHashes)
            nonDirectoryHashes.formUnion(layer.nonDirectoryHashes)
            whiteouts.formUnion(layer.whiteouts)
            opaque.formUnion(layer.opaqueDirectories)
        }

        /// Whether `path` (a regular file in a lower layer) survives.
        func keeps(_ path: String, counting lookups: inout Int) -> Bool {
            lookups += 2
            if entryHashes.contains(LayerFindings.pathHash(path)) || whiteouts.contains(path) { return false }
            for a in ancestorPaths(of: path) {
                lookups += 3
                if whiteouts.contains(a) || opaque.contains(a) || nonDirectoryHashes.contains(LayerFindings.pathHash(a)) { return false }
            }
            return true
        }
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
