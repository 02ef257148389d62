// Application catalogers on real files from Debian packages (Tests/catalogers/app/debian.sh), checked
// against expectations that other tools read from the same files (Tests/catalogers/app/oracle.py);
// and the helpers every application-cataloger test shares.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

/// The directory with the unpacked Debian packages (downloaded once per machine).
func debianFixtureRoot() throws -> String {
    let script = repositoryRoot.appendingPathComponent("Tests/catalogers/app/debian.sh").path
    let r = try runProcess("/bin/bash", [script], timeout: 300)
    guard r.status == 0 else { throw NSError(domain: "fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "debian.sh failed: \(r.stderr)"]) }
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// What oracle.py says about the files under `root`.
func oracle(_ kind: String, root: String) throws -> [[String: String]] {
    let script = repositoryRoot.appendingPathComponent("Tests/catalogers/app/oracle.py").path
    let r = try runProcess("python3", [script, kind, root], timeout: 120)
    guard r.status == 0, let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] else {
        throw NSError(domain: "fixture", code: 2, userInfo: [NSLocalizedDescriptionKey: "oracle.py \(kind) failed: \(r.stderr)"])
    }
    return rows.map { $0.compactMapValues { $0 as? String } }
}

/// Runs `cataloger` over every regular file under `root` that it wants, as the layer scanner would hand
/// them over (paths made absolute from `root`); results by path.
func catalogTree(_ cataloger: any Cataloger, root: String, layer: String = "sha256:fixture") throws -> [String: CatalogResult] {
    var out: [String: CatalogResult] = [:]
    let fm = FileManager.default
    guard let walker = fm.enumerator(atPath: root) else { return out }
    while let rel = walker.nextObject() as? String {
        let full = root + "/" + rel
        let attrs = try fm.attributesOfItem(atPath: full)
        guard attrs[.type] as? FileAttributeType == .typeRegular else { continue }
        let entry = CatalogEntry(path: "/" + rel, size: (attrs[.size] as? NSNumber)?.intValue ?? 0,
                                 mode: UInt32((attrs[.posixPermissions] as? NSNumber)?.intValue ?? 0))
        let bytes: [UInt8]
        switch cataloger.interest(in: entry) {
        case .none: continue
        case .whole: bytes = try Array(Data(contentsOf: URL(fileURLWithPath: full)))
        case .wholeIfPrefix(let prefix):
            bytes = try Array(Data(contentsOf: URL(fileURLWithPath: full)))
            guard bytes.starts(with: prefix) else { continue }
        }
        out[entry.path] = cataloger.catalog(CatalogFile(entry: entry, layerDigest: layer, contents: .memory(bytes)))
    }
    return out
}

/// One cataloger call on bytes at a path.
func catalogOne(_ cataloger: any Cataloger, path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) -> CatalogResult {
    let entry = CatalogEntry(path: path, size: bytes.count, mode: mode)
    return cataloger.catalog(CatalogFile(entry: entry, layerDigest: "sha256:test", contents: .memory(bytes)))
}

func catalogOne(_ cataloger: any Cataloger, path: String, _ text: String) -> CatalogResult {
    catalogOne(cataloger, path: path, Array(text.utf8))
}

final class NpmPythonGemRealFilesTests: XCTestCase {
    func testNpmPackagesFromDebian() throws {
        let root = try debianFixtureRoot()
        let expected = try oracle("npm", root: root)
        XCTAssertGreaterThanOrEqual(expected.count, 4, "node-semver and node-ms ship 4 package.json files")
        let found = try catalogTree(NpmCataloger(), root: root)
        XCTAssertEqual(Set(found.keys), Set(expected.map { $0["path"]! }), "one result per package.json")
        for row in expected {
            let r = try XCTUnwrap(found[row["path"]!])
            XCTAssertEqual(r.warnings, [], row["path"]!)
            XCTAssertEqual(r.packages.map(\.name), [row["name"]!], row["path"]!)
            XCTAssertEqual(r.packages.map(\.version), [row["version"]!], row["path"]!)
            XCTAssertEqual(r.packages.first?.location, PackageLocation(layerDigest: "sha256:fixture", path: row["path"]!))
        }
        let scoped = try XCTUnwrap(found["/usr/share/nodejs/@types/ms/package.json"]?.packages.first)
        XCTAssertEqual(scoped.namespace, "@types")
        XCTAssertEqual(Purl(package: scoped, os: nil).description, "pkg:npm/%40types/ms@\(scoped.version)")
        XCTAssertEqual(found["/usr/share/nodejs/semver/package.json"]?.packages.first?.namespace, nil)
    }

    func testPythonDistributionsFromDebian() throws {
        let root = try debianFixtureRoot()
        let expected = try oracle("python", root: root)
        XCTAssertTrue(expected.contains { $0["path"]!.hasSuffix(".dist-info/METADATA") }, "python3-tomli has a dist-info")
        XCTAssertTrue(expected.contains { $0["path"]!.hasSuffix(".egg-info/PKG-INFO") })
        let found = try catalogTree(PythonCataloger(), root: root)
        XCTAssertEqual(Set(found.keys), Set(expected.map { $0["path"]! }))
        for row in expected {
            let p = try XCTUnwrap(found[row["path"]!]?.packages.first, row["path"]!)
            XCTAssertEqual(p.name, row["name"], "PEP 503 name")
            XCTAssertEqual(p.version, row["version"])
            XCTAssertEqual(Purl(package: p, os: nil).description, "pkg:pypi/\(row["name"]!)@\(row["version"]!)")
            XCTAssertEqual(p.metadata["declaredName"], row["declared"] == row["name"] ? nil : row["declared"])
        }
    }

    func testGemsFromDebian() throws {
        let root = try debianFixtureRoot()
        let expected = try oracle("gem", root: root)
        XCTAssertEqual(expected.count, 3)
        let found = try catalogTree(RubyGemspecCataloger(), root: root)
        XCTAssertEqual(Set(found.keys), Set(expected.map { $0["path"]! }))
        for row in expected {
            let p = try XCTUnwrap(found[row["path"]!]?.packages.first, row["path"]!)
            XCTAssertEqual(p.name, row["name"])
            XCTAssertEqual(p.version, row["version"])
            XCTAssertEqual(Purl(package: p, os: nil).description, "pkg:gem/\(row["name"]!)@\(row["version"]!)")
        }
        let rack = try XCTUnwrap(expected.first { $0["name"] == "rack" })
        XCTAssertEqual(found[rack["path"]!]?.packages.first?.metadata["license"], "MIT", "s.licenses = [\"MIT\".freeze]")
    }
}
