// PHP packages installed by Composer: `installed.json` (Composer 1 writes an array of packages,
// Composer 2 an object with `packages`), as syft's php-composer-installed-cataloger reads it.
import Core

/// PHP packages from Composer's installed.json, both formats (ecosystem `.composer`).
public struct ComposerCataloger: Cataloger {
    public let name = "composer"
    public let version = 1

    public init() {}

    /// syft reads every `installed.json`; only one under `composer/` is worth a warning when it is not
    /// Composer's (other tools use the name too).
    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        CatalogPath.hasSuffix(entry.path, "/installed.json") ? .whole : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        let isComposerDir = CatalogPath.hasSuffix(file.entry.path, "/composer/installed.json")
        var warnings = CatalogWarnings(path: file.entry.path)
        guard let json = ApplicationCatalogers.manifestJSON(file, kind: "installed.json", warnings: &warnings) else {
            return CatalogResult(warnings: isComposerDir ? warnings.all : [])
        }
        let entries: [JSON]
        if let list = json.array {
            entries = list                                   // Composer 1
        } else if let list = json["packages"]?.array {
            entries = list                                   // Composer 2
        } else {
            warnings.add("installed.json has neither a package array nor a \"packages\" array")
            return CatalogResult(warnings: isComposerDir ? warnings.all : [])
        }
        var result = CatalogResult()
        for entry in entries {
            if file.work.count() { break }
            guard let name = entry["name"]?.string, let version = entry["version"]?.string,
                  !name.trimmedASCIIWhitespace.isEmpty, !version.trimmedASCIIWhitespace.isEmpty else { continue }
            result.packages.append(Self.package(name: name, version: version, entry: entry, location: file.location))
        }
        return result
    }

    /// `vendor/name`: namespace `vendor` (the purl joins any further slashes of the name with `-`, as syft does).
    static func package(name: String, version: String, entry: JSON, location: PackageLocation) -> Package {
        let vendor = name.firstIndex(of: "/").map { String(name[..<$0]) }
        let licenses = (entry["license"]?.array ?? []).compactMap(\.string)
        let metadata = ComposerMetadata(license: licenses.isEmpty ? nil : licenses.joined(separator: ", "), type: (entry["type"]?.string).nonEmpty)
        return Package(ecosystem: .composer, name: name, version: version, namespace: vendor, location: location, metadata: metadata)
    }
}
