// Python distributions: their metadata, names, purls and snyk identity, beside PythonCataloger.
import Core

/// What a distribution's METADATA / PKG-INFO says beyond name and version.
struct PythonMetadata: Equatable {
    /// `Name` as written, when normalization changed it.
    var declaredName: String?
    var license: String?
}

extension PythonMetadata: PackageMetadata {
    init(entries m: [String: String]) { self.init(declaredName: m["declaredName"], license: m[MetadataKey.license]) }

    var entries: [String: String] { [String: String](metadata: ["declaredName": declaredName, MetadataKey.license: license]) }
}

extension Ecosystem {
    public static let python = Ecosystem(PythonEcosystem.self)
}

enum PythonEcosystem: PackageEcosystem {
    static let id = "python"
    static var catalogers: [any Cataloger] { [PythonCataloger()] }
    static let purlType = "pypi"
    static let syftType = "python"
    static let syftLanguage: String? = "python"
    static let sourceKind = "installed python package manifest file"
    static let snykType = "pip"

    /// The name normalized as PEP 503 says (the cataloger's own normalization, so a name it reported is
    /// unchanged).
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        Purl(type: purlType, name: PythonCataloger.normalizedName(p.name), version: p.version, spelling: .syft)
    }

    /// The site-packages directory: the directory above the `.dist-info` / `.egg-info`.
    static func snykTargetFile(_ p: Package) -> String {
        let path = p.location.path
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if let i = parts.lastIndex(where: { $0.hasSuffix(".dist-info") || $0.hasSuffix(".egg-info") }) {
            return i <= 1 ? "/" : parts[..<i].joined(separator: "/")
        }
        return SlashPath.directory(of: path)
    }
}
