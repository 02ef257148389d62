// Small parts of the scanner: spool files, OS identity files, credentials for CLI commands.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class ScanPiecesTests: XCTestCase {
    func testSpoolFilesAreUnlinkedAtOnceAndShareABudget() throws {
        let dir = try makeTemporaryDirectory("spool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let budget = SpoolBudget(limit: 100)
        let a = try SpoolFile(directory: dir.path, budget: budget)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "nothing left behind, even if killed now")
        let bytes = (0..<60).map { UInt8($0) }
        try bytes.withUnsafeBytes { try a.append($0) }
        XCTAssertEqual(try a.read(offset: 10, count: 5), [10, 11, 12, 13, 14])
        XCTAssertEqual(try a.read(offset: 55, count: 50), [55, 56, 57, 58, 59])
        let b = try SpoolFile(directory: dir.path, budget: budget)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try b.append($0) }) { XCTAssertEqual(($0 as! ScanError).kind, .limit) }
        XCTAssertEqual(budget.inUse, 60)
        _ = a
    }

    func testSpoolInAMissingDirectoryIsAClearError() {
        XCTAssertThrowsError(try SpoolFile(directory: "/nonexistent/spool", budget: SpoolBudget(limit: 1))) {
            XCTAssertTrue(($0 as! ScanError).message.contains("/nonexistent/spool"))
        }
    }

    func testOSIdentityFiles() {
        let alpine = OSRelease.parse(path: "/etc/os-release", contents: "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n")
        XCTAssertEqual(alpine, OSRelease(id: "alpine", versionID: "3.19.1", prettyName: "Alpine Linux v3.19"))
        let rhel = OSRelease.parse(path: "/usr/lib/os-release", contents: "# comment\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\nNAME='Red Hat'\n")
        XCTAssertEqual(rhel?.id, "rhel")
        XCTAssertEqual(rhel?.idLike, ["fedora"])
        XCTAssertEqual(rhel?.prettyName, "Red Hat 9.3")
        XCTAssertEqual(OSRelease.parse(path: "/etc/alpine-release", contents: "3.18.4\n")?.prettyName, "Alpine Linux v3.18.4")
        XCTAssertEqual(OSRelease.parse(path: "/etc/redhat-release", contents: "CentOS Linux release 7.9.2009 (Core)\n")?.id, "centos")
        XCTAssertEqual(OSRelease.parse(path: "/etc/redhat-release", contents: "Red Hat Enterprise Linux release 8.9 (Ootpa)\n")?.versionID, "8.9")
        XCTAssertNil(OSRelease.parse(path: "/etc/os-release", contents: "NAME=nothing useful\n"))
    }

    func testCredentialSourcesInOrder() throws {
        let home = try makeTemporaryDirectory("home")
        defer { try? FileManager.default.removeItem(at: home) }
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".docker"), withIntermediateDirectories: true)
        let config = #"{"auths":{"https://reg.example:5000":{"auth":"\#(Base64.encode(Array("dockeruser:dockerpass".utf8)))"},"other.example":{"username":"u2","password":"p2"}}}"#
        try config.write(to: home.appendingPathComponent(".docker/config.json"), atomically: true, encoding: .utf8)
        func resolve(_ env: [String: String], _ host: String = "reg.example:5000") -> RegistryCredentials? {
            try? RegistryCredentialSources.resolve(Environment(env.merging(["HOME": home.path]) { $1 }), registryHost: host).get()
        }
        let broker = Base64.encode(Array(#"{"type":"harbor-cr","username":"bu","password":"bp","registryBase":"reg.example:5000"}"#.utf8) + [10])
        XCTAssertEqual(resolve(["CR_CREDENTIALS": broker, "CR_USERNAME": "x", "CR_PASSWORD": "y"])?.username, "bu", "CR_CREDENTIALS first")
        XCTAssertEqual(resolve(["CR_USERNAME": "x", "CR_PASSWORD": "y"])?.password, "y", "then CR_USERNAME/CR_PASSWORD")
        XCTAssertEqual(resolve(["CR_TOKEN": "tok"])?.username, "tok", "CR_TOKEN alone is both")
        XCTAssertEqual(resolve([:])?.password, "dockerpass", "then the Docker config's auths for the host")
        XCTAssertEqual(resolve([:], "other.example")?.username, "u2")
        XCTAssertTrue(resolve([:], "unknown.example")?.isAnonymous ?? false, "else anonymous")
        XCTAssertThrowsError(try RegistryCredentialSources.resolve(Environment(["CR_CREDENTIALS": "!!"]), registryHost: "h").get())
    }

    /// The cache writes each file under a fresh name created with O_EXCL|O_NOFOLLOW, then renames it:
    /// a symlink planted at the old predictable temporary name, or at the file's own name, is never
    /// followed, and nothing is left behind.
    func testLayerCacheNeverWritesThroughAPlantedSymlink() throws {
        let dir = try makeTemporaryDirectory("cache")
        defer { try? FileManager.default.removeItem(at: dir) }
        let victim = dir.appendingPathComponent("victim")
        try Data("precious".utf8).write(to: victim)
        let cacheDir = dir.appendingPathComponent("layers")
        let cache = LayerCache(capacity: 4, directory: cacheDir.path)
        var findings = LayerFindings(layerDigest: "sha256:" + String(repeating: "a", count: 64))
        findings.warnings = ["kept"]
        cache.put(findings)
        let names = try FileManager.default.contentsOfDirectory(atPath: cacheDir.path)
        XCTAssertEqual(names.count, 1, "\(names)")
        let file = cacheDir.appendingPathComponent(names[0])
        try FileManager.default.removeItem(at: file)
        try FileManager.default.createSymbolicLink(at: file, withDestinationURL: victim)
        try FileManager.default.createSymbolicLink(atPath: file.path + ".tmp\(getpid())", withDestinationPath: victim.path)
        cache.put(findings)
        XCTAssertEqual(try String(contentsOf: victim, encoding: .utf8), "precious")
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, "the planted link was replaced, not followed")
        XCTAssertEqual(LayerFindingsCodec.decode([UInt8](try Data(contentsOf: file)))?.warnings, ["kept"])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: cacheDir.path)), [names[0], names[0] + ".tmp\(getpid())"])
    }

    /// Past each cap of a layer (and of the image's shared budget) findings are dropped and counted in
    /// one summary warning per kind.
    func testFindingsAreCappedPerLayerAndPerImage() {
        var limits = ScanLimits()
        limits.maxWarningsPerLayer = 3
        limits.maxWarningBytes = 40
        limits.maxPackagesPerLayer = 5
        limits.maxPathsPerLayer = 4
        limits.maxPathsPerImage = 6
        let budget = FindingsBudget(limits: limits)
        var r = LayerFindingsRecorder(layerDigest: "sha256:l1", limits: limits, budget: budget)
        for i in 0..<10 { r.warn("warning \(i) " + String(repeating: "x", count: 100)) }
        for i in 0..<4 {
            r.add([Package(ecosystem: .npm, name: "p\(i)", version: "1", location: PackageLocation(layerDigest: "l1", path: "/p\(i)")),
                   Package(ecosystem: .npm, name: "q\(i)", version: "1", location: PackageLocation(layerDigest: "l1", path: "/p\(i)"))], at: "/p\(i)")
        }
        for i in 0..<10 { r.nonDirectory(hash: UInt64(i)) }
        let f = r.finish()
        XCTAssertEqual(f.packagesByPath.values.reduce(0) { $0 + $1.count }, 4, "two files of two fit under five")
        XCTAssertEqual(f.nonDirectoryHashes.count, 4)
        XCTAssertEqual(f.warnings.count, 3 + 3, "three kept, one summary each for warnings, packages, paths")
        XCTAssertTrue(f.warnings.prefix(3).allSatisfy { $0.utf8.count <= 40 }, "\(f.warnings)")
        XCTAssertTrue(f.warnings[3].contains("7 more warning(s) not shown"), f.warnings[3])
        XCTAssertTrue(f.warnings[4].contains("4 package(s) not reported"), f.warnings[4])
        XCTAssertTrue(f.warnings[5].contains("6 path(s) not remembered"), f.warnings[5])

        var second = LayerFindingsRecorder(layerDigest: "sha256:l2", limits: limits, budget: budget)
        for i in 0..<10 { second.directory(hash: UInt64(100 + i)) }
        XCTAssertEqual(second.finish().directoryHashes.count, 2, "the image's budget of six paths had two left")
    }

    /// A package whose identity is over-long is dropped (and counted); over-long metadata is cut.
    func testOverlongPackageFieldsAreDroppedOrCut() {
        let limits = ScanLimits()
        var r = LayerFindingsRecorder(layerDigest: "sha256:l", limits: limits, budget: FindingsBudget(limits: limits))
        let at = PackageLocation(layerDigest: "l", path: "/m")
        r.add([Package(ecosystem: .npm, name: String(repeating: "n", count: 5000), version: "1", location: at),
               Package(ecosystem: .npm, name: "ok", version: "1", location: at, metadata: ["license": String(repeating: "L", count: 9000)])], at: "/m")
        let f = r.finish()
        XCTAssertEqual(f.packagesByPath["/m"]?.map(\.name), ["ok"])
        XCTAssertLessThanOrEqual(f.packagesByPath["/m"]![0].metadata["license"]!.utf8.count, limits.maxPackageFieldBytes)
        XCTAssertEqual(f.warnings, ["layer sha256:l: 1 package(s) not reported: a name, version or namespace over 4096 bytes"])
    }
}
