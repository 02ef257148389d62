// PHP composer packages: their metadata, names, purls and snyk identity, beside ComposerCataloger.
import Core

/// What an installed.json entry says beyond name and version.
struct ComposerMetadata: Equatable {
    /// `license[]`, joined with `, `.
    var license: String?
    /// The package type (`library`, `project`, ...).
    var type: String?
}

extension ComposerMetadata: PackageMetadata {
    init(entries m: [String: String]) { self.init(license: m[MetadataKey.license], type: m["type"]) }

    var entries: [String: String] { [String: String](metadata: [MetadataKey.license: license, "type": type]) }
}

extension Ecosystem {
    public static let composer = Ecosystem(ComposerEcosystem.self)
}

enum ComposerEcosystem: PackageEcosystem {
    static let id = "composer"
    static var catalogers: [any Cataloger] { [ComposerCataloger()] }
    static let purlType = "composer"
    static let syftType = "php-composer"
    static let syftLanguage: String? = "php"
    static let sourceKind = "installed composer manifest file"
    static let snykType = "composer"

    /// `vendor/name`.
    static func qualifiedName(_ p: Package) -> String { namespaced(p) ?? p.name }

    /// php/package.go: `vendor/name`, further slashes of the name joined with `-`.
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        let fields = p.qualifiedName.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 2 else { return Purl(type: purlType, name: p.qualifiedName, version: p.version, spelling: .syft) }
        return Purl(type: purlType, namespace: fields[0], name: fields.dropFirst().joined(separator: "-"), version: p.version, spelling: .syft)
    }

    /// The plugin names the file it read.
    static func snykTestedFiles(targetFile: String) -> JSON? { .array([.string(targetFile.split(separator: "/").last.map(String.init) ?? targetFile)]) }
}
