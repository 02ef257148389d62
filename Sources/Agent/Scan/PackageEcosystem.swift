// What the scanner and its reports know of one package ecosystem, declared beside the ecosystem's cataloger.
import Core

/// One package ecosystem's knowledge: its catalogers, its names in syft's, snyk's and the SBOMs'
/// vocabularies, how its packages are named and their purls built. One conforming type per ecosystem lives
/// beside its cataloger (Sources/Agent/Catalogers/*Ecosystem.swift, as syft keeps `package.go` beside each
/// parser), with its `Ecosystem` static member; `Catalogers.ecosystems` registers it. Reports ask a
/// package's ecosystem and never switch on it.
///
/// To add an ecosystem: write its cataloger (`Cataloger`), a type conforming to this protocol with its
/// typed `PackageMetadata` and `extension Ecosystem { public static let x = Ecosystem(XEcosystem.self) }`,
/// and add `.x` to `Catalogers.ecosystems`.
protocol PackageEcosystem: Sendable {
    /// The identifier in cached layer findings and report ids (`deb`, `python`); never changes.
    static var id: String { get }
    /// The catalogers that find this ecosystem's packages, in the order the scanner asks them.
    static var catalogers: [any Cataloger] { get }
    /// The purl type (https://github.com/package-url/purl-spec).
    static var purlType: String { get }
    /// syft's package type (`syft:package:type`, the table's TYPE column, SPDX ids).
    static var syftType: String { get }
    /// syft's language (`syft:package:language`); nil for OS packages.
    static var syftLanguage: String? { get }
    /// What a package was read from, in syft's words (SPDX `sourceInfo`).
    static var sourceKind: String { get }
    /// Whether it is an OS package manager: reported in snyk's OS result, not an application result.
    static var isOSPackageManager: Bool { get }
    /// snyk-docker-plugin's name: the OS result's package manager or an application result's identity type.
    static var snykType: String { get }

    /// The name people know the package by (npm `@scope/name`, the Go module path); default the name.
    static func qualifiedName(_ p: Package) -> String
    /// The purl syft writes for the package (anchore/syft bf82010, syft/pkg/cataloger/*/package.go),
    /// spelled as syft spells it (`.syft`); every package gets one, even where syft writes none (`hasPurl`).
    static func purl(_ p: Package, os: OSRelease?) -> Purl
    /// Whether syft writes a purl for the package; default true.
    static func hasPurl(_ p: Package) -> Bool
    /// The CycloneDX component's `group`; default none.
    static func sbomGroup(_ p: Package) -> String?
    /// The package's name in snyk's dep-graph; default `qualifiedName`.
    static func snykName(_ p: Package) -> String
    /// The purl snyk-docker-plugin attaches to an OS package; default none.
    static func snykPurl(_ p: Package, os: SnykOS) -> String?
    /// The file an application package belongs to, of which the plugin makes one scan result; default the
    /// package's own file.
    static func snykTargetFile(_ p: Package) -> String
    /// Whether the package is its target's own project (the graph's root, as snyk-resolve-deps makes an
    /// npm project's package.json); default false.
    static func isSnykProjectRoot(_ p: Package, targetFile: String) -> Bool
    /// The plugin's `testedFiles` fact for a target, where it writes one; default none.
    static func snykTestedFiles(targetFile: String) -> JSON?
}

extension PackageEcosystem {
    static var syftLanguage: String? { nil }
    static var isOSPackageManager: Bool { false }
    static func qualifiedName(_ p: Package) -> String { p.name }
    static func hasPurl(_ p: Package) -> Bool { true }
    static func sbomGroup(_ p: Package) -> String? { nil }
    static func snykName(_ p: Package) -> String { p.qualifiedName }
    static func snykPurl(_ p: Package, os: SnykOS) -> String? { nil }
    static func snykTargetFile(_ p: Package) -> String { p.location.path }
    static func isSnykProjectRoot(_ p: Package, targetFile: String) -> Bool { false }
    static func snykTestedFiles(targetFile: String) -> JSON? { nil }

    /// The purl of a package with this ecosystem's type and no namespace, in syft's spelling.
    static func plainPurl(_ p: Package) -> Purl { Purl(type: purlType, name: p.name, version: p.version, spelling: .syft) }

    /// `name` with the namespace in front, joined by `/`, unless the cataloger gave the full name already.
    static func namespaced(_ p: Package) -> String? {
        guard let ns = p.namespace, !ns.isEmpty, !p.name.hasPrefix(ns + "/") else { return nil }
        return ns + "/" + p.name
    }
}
