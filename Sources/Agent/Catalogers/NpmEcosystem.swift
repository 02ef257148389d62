// npm packages: their metadata, names, purls and snyk identity, beside NpmCataloger.
import Core

/// What a package.json says beyond name and version.
struct NpmMetadata: Equatable {
    /// `"true"` for `"private": true`.
    var isPrivate: String?
    var license: String?
}

extension NpmMetadata: PackageMetadata {
    init(entries m: [String: String]) { self.init(isPrivate: m["private"], license: m[MetadataKey.license]) }

    var entries: [String: String] { [String: String](metadata: ["private": isPrivate, MetadataKey.license: license]) }
}

extension Ecosystem {
    public static let npm = Ecosystem(NpmEcosystem.self)
}

enum NpmEcosystem: PackageEcosystem {
    static let id = "npm"
    static var catalogers: [any Cataloger] { [NpmCataloger()] }
    static let purlType = "npm"
    static let syftType = "npm"
    static let syftLanguage: String? = "javascript"
    static let sourceKind = "installed node module manifest file"
    static let snykType = "npm"

    /// `@scope/name`; catalogers may give the full name (with namespace `@scope`) or just its last part.
    static func qualifiedName(_ p: Package) -> String {
        guard let ns = p.namespace, !ns.isEmpty, !p.name.hasPrefix(ns + "/") else { return p.name }
        return (ns.hasPrefix("@") ? ns : "@" + ns) + "/" + p.name
    }

    /// javascript/package.go: the name split at its first slash (`@scope/name`).
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        let full = p.qualifiedName
        let (ns, name) = full.firstIndex(of: "/").map { (String(full[..<$0]), String(full[full.index(after: $0)...])) } ?? ("", full)
        return Purl(type: purlType, namespace: ns, name: name, version: p.version, spelling: .syft)
    }

    /// The project's `package.json`: the directory above `node_modules`.
    static func snykTargetFile(_ p: Package) -> String {
        let path = p.location.path
        if let r = path.range(of: "/node_modules/") { return String(path[..<r.lowerBound]) + "/package.json" }
        return path
    }

    /// The project's own package.json is its graph's root, as snyk-resolve-deps makes it.
    static func isSnykProjectRoot(_ p: Package, targetFile: String) -> Bool { p.location.path == targetFile }

    /// lib/analyzer/applications/node.ts writes the manifest's path as a string.
    static func snykTestedFiles(targetFile: String) -> JSON? { .string(targetFile) }
}
