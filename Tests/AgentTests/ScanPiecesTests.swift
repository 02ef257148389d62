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
}
