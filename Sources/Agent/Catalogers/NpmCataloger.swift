// npm packages: every `package.json` that names a package and a version, wherever it is (node_modules,
// Debian's /usr/share/nodejs, application directories), as syft's javascript-package-cataloger reads them.
import Core

/// npm packages from every `package.json` with a name and a version (ecosystem `.npm`).
public struct NpmCataloger: Cataloger {
    public let name = "npm"
    public let version = 1

    public init() {}

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        CatalogPath.hasSuffix(entry.path, "/package.json") ? .whole : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var warnings = CatalogWarnings(path: file.entry.path)
        guard let json = ApplicationCatalogers.manifestJSON(file, kind: "package.json", warnings: &warnings) else {
            return CatalogResult(warnings: warnings.all)
        }
        guard let package = Self.package(from: json, location: file.location) else { return CatalogResult() }
        return CatalogResult(packages: [package])
    }

    /// The package a parsed package.json describes, when it has a non-blank name and version.
    static func package(from json: JSON, location: PackageLocation) -> Package? {
        guard let name = json["name"]?.string, let version = json["version"]?.string,
              !name.trimmedASCIIWhitespace.isEmpty, !version.trimmedASCIIWhitespace.isEmpty else { return nil }
        // The scope: the name up to its first slash (`@scope/name` -> `@scope`), where syft's purl splits it.
        let namespace = name.firstIndex(of: "/").map { String(name[..<$0]) }
        let metadata = NpmMetadata(isPrivate: json["private"]?.bool == true ? "true" : nil, license: license(json))
        return Package(ecosystem: .npm, name: name, version: version, namespace: namespace, location: location, metadata: metadata)
    }

    /// `"license": "MIT"`, the deprecated `{"type": "MIT"}`, or the older `"licenses": [{"type": ...}]`.
    static func license(_ json: JSON) -> String? {
        if let s = json["license"]?.string, !s.isEmpty { return s }
        if let s = json["license"]?["type"]?.string, !s.isEmpty { return s }
        let types = (json["licenses"]?.array ?? []).compactMap { $0["type"]?.string }.filter { !$0.isEmpty }
        return types.isEmpty ? nil : types.joined(separator: ", ")
    }
}
