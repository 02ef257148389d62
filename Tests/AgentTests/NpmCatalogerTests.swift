// NpmCataloger on hand-made package.json files: what counts as a package, scopes and purls, licenses,
// malformed and hostile input.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class NpmCatalogerTests: XCTestCase {
    let npm = NpmCataloger()

    func testInterestIsEveryPackageJSON() {
        let rows: [(String, Bool)] = [
            ("/app/node_modules/lodash/package.json", true),
            ("/usr/share/nodejs/ms/package.json", true),
            ("/srv/app/package.json", true),
            ("/package.json", true),
            ("/app/package.json.bak", false),
            ("/app/mypackage.json", false),
            ("/app/package-lock.json", false),
            ("/app/Package.json", false),
        ]
        for (path, wanted) in rows {
            XCTAssertEqual(npm.interest(in: CatalogEntry(path: path, size: 10, mode: 0o644)), wanted ? .whole : .none, path)
        }
    }

    func testWhatCounts() {
        let rows: [(json: String, name: String?, version: String?, namespace: String?, purl: String?)] = [
            (#"{"name":"lodash","version":"4.17.21"}"#, "lodash", "4.17.21", nil, "pkg:npm/lodash@4.17.21"),
            (#"{"name":"@babel/core","version":"7.24.0"}"#, "@babel/core", "7.24.0", "@babel", "pkg:npm/%40babel/core@7.24.0"),
            (#"{"name":"x","version":"1.0.0-rc.1+build.5"}"#, "x", "1.0.0-rc.1+build.5", nil, "pkg:npm/x@1.0.0-rc.1%2Bbuild.5"),
            (#"{"name":"private-app","version":"0.0.1","private":true}"#, "private-app", "0.0.1", nil, "pkg:npm/private-app@0.0.1"),
            (#"{"name":"workspace-root","private":true,"workspaces":["packages/*"]}"#, nil, nil, nil, nil),
            (#"{"version":"1.0.0"}"#, nil, nil, nil, nil),
            (#"{"name":"  ","version":"1.0.0"}"#, nil, nil, nil, nil),
            (#"{"name":"a","version":""}"#, nil, nil, nil, nil),
            (#"{"name":5,"version":"1"}"#, nil, nil, nil, nil),
            (#"[1,2]"#, nil, nil, nil, nil),
            (#"{"name":"dup","version":"1","version":"2"}"#, "dup", "2", nil, "pkg:npm/dup@2"),
        ]
        for row in rows {
            let r = catalogOne(npm, path: "/app/node_modules/x/package.json", row.json)
            XCTAssertEqual(r.warnings, [], row.json)
            XCTAssertEqual(r.packages.first?.name, row.name, row.json)
            XCTAssertEqual(r.packages.first?.version, row.version, row.json)
            XCTAssertEqual(r.packages.first?.namespace, row.namespace, row.json)
            XCTAssertEqual(r.packages.first.map { Purl(package: $0, os: nil).description }, row.purl, row.json)
            XCTAssertLessThanOrEqual(r.packages.count, 1)
        }
        let p = catalogOne(npm, path: "/a/package.json", #"{"name":"p","version":"1","private":true}"#).packages[0]
        XCTAssertEqual(p.metadata["private"], "true")
        XCTAssertEqual(p.ecosystem, .npm)
        XCTAssertEqual(p.location, PackageLocation(layerDigest: "sha256:test", path: "/a/package.json"))
    }

    func testLicenses() {
        let rows: [(String, String?)] = [
            (#""license":"MIT""#, "MIT"),
            (#""license":{"type":"BSD-3-Clause","url":"x"}"#, "BSD-3-Clause"),
            (#""licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]"#, "MIT, Apache-2.0"),
            (#""license":""#, nil),
        ]
        for (field, license) in rows {
            let r = catalogOne(npm, path: "/a/package.json", "{\"name\":\"a\",\"version\":\"1\",\(field)}")
            XCTAssertEqual(r.packages.first?.metadata["license"], license, field)
        }
    }

    func testMalformedInputWarnsAndNeverCrashes() {
        let rows = [
            "{\"name\":\"a\",\"version\":\"1\"",              // truncated
            "\u{FEFF}{\"name\":\"a\",\"version\":\"1\"}",      // byte-order mark (strict JSON has none)
            "{\"name\":\"a\",\"version\":\"1\"} trailing",
            String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000),
            "",
        ]
        for text in rows {
            let r = catalogOne(npm, path: "/a/package.json", text)
            XCTAssertEqual(r.packages.count, 0)
            XCTAssertEqual(r.warnings.count, 1, String(text.prefix(40)))
            XCTAssertTrue(r.warnings[0].hasPrefix("/a/package.json: package.json skipped: invalid JSON"), r.warnings[0])
        }
        var bytes = Array(#"{"name":"a","version":"1","x":""#.utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array(#""}"#.utf8)
        XCTAssertEqual(catalogOne(npm, path: "/a/package.json", bytes).packages.count + catalogOne(npm, path: "/a/package.json", bytes).warnings.count, 1,
                       "invalid UTF-8 inside a string: a package or a warning, never a crash")
    }

    /// The npm fuzz target's seeds (Tests/Fuzz/corpus/npm), replayed here while the Fuzz executable cannot
    /// import the Agent code.
    func testFuzzCorpusReplays() throws {
        let dir = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/npm").path
        var names: [String] = []
        for f in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
            let r = catalogOne(npm, path: "/a/package.json", try Array(Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(f)"))))
            XCTAssertLessThanOrEqual(r.packages.count + r.warnings.count, 1, f)
            names += r.packages.map { "\($0.name)@\($0.version)" }
        }
        XCTAssertEqual(names, ["ab\"c@1.0.0-rc.1+b\n", "lodash@4.17.21", "@babel/core@7.24.0"])
    }

    func testOversizedManifestIsSkippedWithAWarning() {
        let big = [UInt8](repeating: 0x20, count: ApplicationCatalogers.maxManifestBytes + 1)
        let r = catalogOne(npm, path: "/a/package.json", big)
        XCTAssertEqual(r.packages.count, 0)
        XCTAssertEqual(r.warnings.count, 1)
        XCTAssertTrue(r.warnings[0].contains("limit"), r.warnings[0])
    }
}
