// Ecosystems as one place each: an ecosystem declared only in this file goes through every report with no
// report edited; the registered ones are consistent and their typed metadata round-trips under one spelling.
@testable import AgentKit
import Core
import XCTest

/// An ecosystem the scanner does not have (Haskell's Hackage), declared here and registered nowhere: what a
/// new ecosystem's `*Ecosystem.swift` would say.
enum HackageTestEcosystem: PackageEcosystem {
    static let id = "hackage"
    static var catalogers: [any Cataloger] { [] }
    static let purlType = "hackage"
    static let syftType = "hackage"
    static let syftLanguage: String? = "haskell"
    static let sourceKind = "cabal package database"
    static let snykType = "hackage"

    static func purl(_ p: Package, os: OSRelease?) -> Purl { plainPurl(p) }

    /// One scan result per package database directory.
    static func snykTargetFile(_ p: Package) -> String { SlashPath.directory(of: p.location.path) }
}

final class ReportEcosystemTests: XCTestCase {
    static let hackage = Ecosystem(HackageTestEcosystem.self)
    static let db = "/root/.cabal/store/ghc-9.4.8/package.db"

    func inventory() throws -> ImageInventory {
        let extra = [ReportFixtures.pkg(Self.hackage, "aeson", "2.2.1.0", Self.db + "/aeson-2.2.1.0.conf", ["license": "BSD-3-Clause"]),
                     ReportFixtures.pkg(Self.hackage, "text", "2.0.2", Self.db + "/text-2.0.2.conf", [MetadataKey.arch: "x86_64"])]
        return try ReportFixtures.inventory(packages: ReportFixtures.packages + extra)
    }

    /// Every format lists the new ecosystem's packages with its names, purls and target files, and what the
    /// registered ecosystems write is unchanged (the golden bytes, less the added packages).
    func testAnEcosystemDeclaredOutsideTheReportsGoesThroughEveryFormat() throws {
        XCTAssertNil(Ecosystem(rawValue: "hackage"), "the test ecosystem is registered nowhere")
        let inv = try inventory()
        let options = try ReportFixtures.options()

        let aeson = Package(ecosystem: Self.hackage, name: "aeson", version: "2.2.1.0",
                            location: PackageLocation(layerDigest: ReportFixtures.appLayer, path: Self.db + "/aeson-2.2.1.0.conf"))
        XCTAssertEqual(Purl.forPackage(aeson, os: ReportFixtures.debian12)?.description, "pkg:hackage/aeson@2.2.1.0")

        let cdx = CycloneDXReport.document(inv, options: options)
        let component = try XCTUnwrap(cdx["components"]?.array?.first { $0["name"]?.string == "aeson" })
        XCTAssertEqual(component["purl"]?.string, "pkg:hackage/aeson@2.2.1.0")
        XCTAssertEqual(component["licenses"]?.array?.first?["license"]?["id"]?.string, "BSD-3-Clause")
        let props = Dictionary(uniqueKeysWithValues: (component["properties"]?.array ?? []).map { ($0["name"]!.string!, $0["value"]!.string!) })
        XCTAssertEqual(props["syft:package:type"], "hackage")
        XCTAssertEqual(props["syft:package:language"], "haskell")
        let text = try XCTUnwrap(cdx["components"]?.array?.first { $0["name"]?.string == "text" })
        XCTAssertTrue((text["properties"]?.array ?? []).contains { $0["name"]?.string == "cr-agent:metadata:arch" && $0["value"]?.string == "x86_64" })

        let spdx = SPDXReport.document(inv, options: options)
        let spdxPackage = try XCTUnwrap(spdx["packages"]?.array?.first { $0["name"]?.string == "aeson" })
        XCTAssertEqual(spdxPackage["sourceInfo"]?.string?.hasPrefix("acquired package info from cabal package database: \(Self.db)/aeson"), true)
        XCTAssertEqual(spdxPackage["externalRefs"]?.array?.first?["referenceLocator"]?.string, "pkg:hackage/aeson@2.2.1.0")
        XCTAssertEqual(spdxPackage["SPDXID"]?.string?.hasPrefix("SPDXRef-Package-hackage-aeson-"), true)

        let snyk = SnykReport.document(inv)
        let results = snyk["scanResults"]?.array ?? []
        let result = try XCTUnwrap(results.first { $0["identity"]?["type"]?.string == "hackage" })
        XCTAssertEqual(result["identity"]?["targetFile"]?.string, Self.db)
        let graph = try XCTUnwrap(result["facts"]?.array?.first { $0["type"]?.string == "depGraph" }?["data"])
        XCTAssertEqual(graph["pkgManager"]?["name"]?.string, "hackage")
        XCTAssertEqual(Set((graph["pkgs"]?.array ?? []).compactMap { $0["info"]?["name"]?.string }), [Self.db, "aeson", "text"])
        XCTAssertEqual(results.count, 10, "the OS result, the eight application targets of the fixture, and the new one")
        // The OS result is still the deb one: a new application ecosystem is no OS package manager.
        XCTAssertEqual(results.first?["identity"]?["type"]?.string, "deb")

        let table = String(decoding: TableReport.render(inv, options: options), as: UTF8.self)
        XCTAssertTrue(table.split(separator: "\n").contains { $0.hasPrefix("aeson") && $0.contains("2.2.1.0") && $0.contains("hackage") }, table)
    }

    /// Registration: ids unique, each registered ecosystem found by its id (as cached findings name it),
    /// every cataloger reached through its ecosystem, OS ones first.
    func testRegisteredEcosystemsAreConsistent() {
        let ids = Catalogers.ecosystems.map(\.rawValue)
        XCTAssertEqual(Set(ids).count, ids.count, "\(ids)")
        for e in Catalogers.ecosystems { XCTAssertEqual(Ecosystem(rawValue: e.rawValue), e) }
        XCTAssertEqual(Catalogers.all.map(\.name), ["dpkg", "apk", "rpm"] + ApplicationCatalogers.all.map(\.name))
        XCTAssertEqual(OSCatalogers.all.map(\.name), ["dpkg", "apk", "rpm"])
        XCTAssertEqual(Set(Catalogers.all.map(\.name)).count, Catalogers.all.count)
        XCTAssertEqual(Catalogers.ecosystems.filter(\.isOSPackageManager), [.deb, .apk, .rpm])
        XCTAssertEqual(Catalogers.ecosystems.map(\.purlType),
                       ["deb", "apk", "rpm", "npm", "pypi", "maven", "golang", "gem", "composer", "nuget", "cargo"])
    }

    /// Each ecosystem's typed metadata reads back what it stored, and the architecture is `arch` in every
    /// ecosystem that has one (Go's was `architecture`).
    func testTypedMetadataRoundTripsUnderOneSpelling() {
        func check<M: PackageMetadata & Equatable>(_ m: M, _ keys: Set<String>, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(Set(m.entries.keys), keys, file: file, line: line)
            XCTAssertEqual(M(entries: m.entries), m, file: file, line: line)
            XCTAssertEqual(M(entries: [:]).entries, [:], file: file, line: line)
        }
        check(DebMetadata(arch: "amd64", source: "glibc", sourceVersion: "2.36", maintainer: "m", installedSize: "1"),
              ["arch", "source", "sourceVersion", "maintainer", "installedSize"])
        check(ApkMetadata(arch: "x86_64", origin: "musl", license: "MIT"), ["arch", "origin", "license"])
        check(RpmMetadata(arch: "noarch", epoch: "1", release: "2.el9", sourceRpm: "a-1-2.src.rpm", license: "MIT", vendor: "v", size: "9"),
              ["arch", "epoch", "release", "sourceRpm", "license", "vendor", "size"])
        check(GoMetadata(goVersion: "go1.22.1", mainModule: "example.org/app", h1Digest: "h1:x", arch: "arm64"),
              ["goVersion", "mainModule", "h1Digest", "arch"])
        check(NpmMetadata(isPrivate: "true", license: "MIT"), ["private", "license"])
        check(PythonMetadata(declaredName: "Typing_Extensions", license: "PSF-2.0"), ["declaredName", "license"])
        check(JavaMetadata(virtualPath: "/a.jar", type: "jenkins-plugin", pomProperties: "META-INF/p", parent: "a@1"),
              ["virtualPath", "type", "pomProperties", "parent"])
        check(GemMetadata(license: "MIT"), ["license"])
        check(ComposerMetadata(license: "MIT", type: "library"), ["license", "type"])
        check(NuGetMetadata(type: "package", path: "p", sha512: "s"), ["type", "path", "sha512"])
        check(CargoMetadata(source: "registry+x", checksum: "c"), ["source", "checksum"])
        XCTAssertEqual(MetadataKey.arch, "arch")
    }
}
