// SBOMs checked by the real validators (cyclonedx-python-lib, spdx-tools) and snyk dep-graphs by the
// invariants @snyk/dep-graph's createFromJSON enforces, over several inventories.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

enum ReportValidation {
    static func script(_ name: String) -> String { repositoryRoot.appendingPathComponent("Tests/reports/\(name)").path }

    /// Writes each document to a temporary file and runs `script` over them all.
    static func run(_ script: String, _ documents: [String: [UInt8]]) throws -> ProcessResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (name, bytes) in documents.sorted(by: { $0.key < $1.key }) {
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            paths.append(url.path)
        }
        return try runProcess(projectPython, [self.script(script)] + paths, timeout: 120)
    }
}

final class ReportValidationTests: XCTestCase {
    /// Inventories that exercise the edges: the full fixture, Alpine, RHEL with epochs, no OS, nothing at
    /// all, a digest reference, and names full of characters that need escaping.
    func inventories() throws -> [String: ImageInventory] {
        typealias F = ReportFixtures
        let alpine = OSRelease(id: "alpine", versionID: "3.19.1", prettyName: "Alpine Linux v3.19")
        let rhel = OSRelease(id: "rhel", versionID: "9.3", prettyName: "Red Hat Enterprise Linux 9.3 (Plow)", idLike: ["fedora"])
        let odd = OSRelease(id: "debian", versionID: "", prettyName: "")
        return [
            "full": try F.inventory(),
            "alpine": try F.inventory(packages: [
                F.pkg(.apk, "musl", "1.2.4_git20230717-r4", "/lib/apk/db/installed", ["arch": "x86_64", "origin": "musl", "license": "MIT"]),
                F.pkg(.apk, "libcrypto3", "3.1.4-r5", "/lib/apk/db/installed", ["arch": "x86_64", "origin": "openssl", "license": "Apache-2.0"]),
                F.pkg(.apk, "busybox", "1.36.1-r15", "/lib/apk/db/installed", ["arch": "x86_64", "origin": "busybox", "license": "GPL-2.0-only"]),
            ], os: alpine, reference: "alpine:3.19"),
            "rhel": try F.inventory(packages: [
                F.pkg(.rpm, "openssl-libs", "1:3.0.7-25.el9_3", "/var/lib/rpm/rpmdb.sqlite",
                      ["arch": "x86_64", "epoch": "1", "sourceRpm": "openssl-3.0.7-25.el9_3.src.rpm", "license": "ASL 2.0"]),
                F.pkg(.rpm, "bash", "5.1.8-6.el9_1", "/var/lib/rpm/rpmdb.sqlite", ["arch": "x86_64", "sourceRpm": "bash-5.1.8-6.el9_1.src.rpm", "license": "GPLv3+"]),
                F.pkg(.python, "requests", "2.31.0", "/usr/lib/python3.9/site-packages/requests-2.31.0.dist-info/METADATA", ["license": "Apache 2.0"]),
            ], os: rhel, reference: "localhost:5000/ubi9@sha256:" + String(repeating: "e", count: 64)),
            "no-os": try F.inventory(packages: [F.pkg(.golang, "github.com/x/y", "v0.0.0-2024", "/bin/y")], os: nil, reference: "oci:/tmp/layout:v1"),
            "empty": try F.inventory(packages: [], os: nil, reference: "scratch-image", warnings: []),
            "odd-names": try F.inventory(packages: [
                F.pkg(.deb, "g++-12", "12.2.0-14", "/var/lib/dpkg/status.d/g++", ["source": "gcc-12 (12.2.0-14)", "license": "GPL-3.0-or-later WITH GCC-exception-3.1"]),
                F.pkg(.npm, "@scope/pkg with space", "1.0.0-beta+exp.sha.5114f85", namespace: "@scope", "/srv/äpp/node_modules/@scope/pkg with space/package.json",
                      ["license": "(MIT OR Apache-2.0) AND ISC"]),
                F.pkg(.npm, "same", "1.0.0", "/srv/äpp/node_modules/same/package.json", ["license": "SEE LICENSE IN LICENSE.md"]),
                F.pkg(.npm, "same", "1.0.0", "/srv/äpp/node_modules/other/node_modules/same/package.json", ["license": "SEE LICENSE IN LICENSE.md"]),
                F.pkg(.java, "nested", "1.0", namespace: "com.example", "/opt/App.WAR:WEB-INF/lib/nested-1.0.jar", ["license": "Proprietary; see <https://x>"]),
            ], os: odd, reference: "registry.example/a/b/c:tag-1"),
        ]
    }

    func render(_ format: ReportFormat, suffix: String) throws -> [String: [UInt8]] {
        let options = try ReportFixtures.options()
        var out: [String: [UInt8]] = [:]
        for (name, inv) in try inventories() { out["\(name).\(suffix)"] = format.render(inv, options: options) }
        return out
    }

    /// cyclonedx-python-lib's JsonStrictValidator for schema 1.5 accepts every BOM (plus unique bom-refs,
    /// parseable purls).
    func testCycloneDXValidatesAgainstStrictSchema() throws {
        let r = try ReportValidation.run("validate_cyclonedx.py", try render(.cyclonedxJSON, suffix: "cdx.json"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    /// spdx-tools parses every document and its full SPDX 2.3 validation reports nothing.
    func testSPDXValidatesWithSpdxTools() throws {
        let r = try ReportValidation.run("validate_spdx.py", try render(.spdxJSON, suffix: "spdx.json"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    /// Every scan result is shaped like the plugin's and every depGraph passes createFromJSON's checks.
    func testSnykDepGraphsPassCreateFromJSONInvariants() throws {
        let r = try ReportValidation.run("check_depgraph.py", try render(.snyk, suffix: "snyk.json"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    /// The validators are not vacuous: each rejects a document broken the way it should notice.
    func testValidatorsRejectBrokenDocuments() throws {
        let inv = try ReportFixtures.inventory()
        let options = try ReportFixtures.options()
        func broken(_ doc: JSON, _ edit: (inout [(String, JSON)]) -> Void) -> [UInt8] {
            var pairs = doc.object!
            edit(&pairs)
            return Array(JSON.object(pairs).serialized.utf8)
        }
        let cdx = broken(CycloneDXReport.document(inv, options: options)) { $0.append(("surprise", .bool(true))) }
        XCTAssertNotEqual(try ReportValidation.run("validate_cyclonedx.py", ["bad.cdx.json": cdx]).status, 0)
        let spdx = broken(SPDXReport.document(inv, options: options)) { p in
            p = p.map { $0.0 == "relationships" ? ($0.0, .array([SPDXReport.relationship("SPDXRef-DOCUMENT", "SPDXRef-Nowhere", "DESCRIBES")])) : $0 }
        }
        XCTAssertNotEqual(try ReportValidation.run("validate_spdx.py", ["bad.spdx.json": spdx]).status, 0)
        let graph = DepGraph(pkgManager: "deb", root: .init(name: "r", version: nil, purl: nil), deps: [.init(name: "a", version: "1", purl: nil)]).json
        var pairs = graph.object!
        pairs = pairs.map { $0.0 == "graph" ? ($0.0, .object([("rootNodeId", .string("root-node")), ("nodes", .array([
            .object([("nodeId", .string("root-node")), ("pkgId", .string("r@")), ("deps", .array([]))]),
            .object([("nodeId", .string("a@1")), ("pkgId", .string("a@1")), ("deps", .array([]))]),
        ]))])) : $0 }
        let snyk = JSON.object([("scanResults", .array([.object([("facts", .array([SnykReport.fact("depGraph", .object(pairs))])),
                                                                   ("target", .object([("image", .string("x"))])),
                                                                   ("identity", .object([("type", .string("deb"))]))])]))])
        let r = try ReportValidation.run("check_depgraph.py", ["bad.snyk.json": Array(snyk.serialized.utf8)])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("not all graph nodes are reachable from root"), r.stdout)
    }
}
