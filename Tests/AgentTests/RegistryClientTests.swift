// The registry client against the real reference registry (docker-registry 2.8.2), no auth and Basic.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class RegistryClientTests: XCTestCase {
    nonisolated(unsafe) static var open: RegistryFixture?
    nonisolated(unsafe) static var basic: RegistryFixture?

    override class func setUp() {
        super.setUp()
        do {
            let o = try RegistryFixture.start(auth: "none", pushing: ["basic", "many"])
            open = o
            let b = try RegistryFixture.start(auth: "htpasswd", tls: true, pushing: ["basic"])
            basic = b
        } catch {
            XCTFail("cannot start the registries: \(error)")
        }
    }

    override class func tearDown() {
        open?.stop()
        basic?.stop()
        super.tearDown()
    }

    var fx: RegistryFixture { Self.open! }
    var session: RegistrySession { RegistrySession(base: fx.url) }

    func testPingAndCatalogOf259RepositoriesInPagesOfSeven() throws {
        XCTAssertNil(try session.run { c, done in c.ping(done) }.failure)
        var s = session
        s.options.pageSize = 7
        let (names, pages, result) = try s.listRepositories()
        let expected = Set((try fx.pushed("basic")["repositories"] as! [String]) + (try fx.pushed("many")["repositories"] as! [String]))
        XCTAssertEqual(expected.count, 259)
        XCTAssertEqual(try result.get(), 259)
        XCTAssertEqual(names.count, 259, "no repository listed twice")
        XCTAssertEqual(Set(names), expected)
        XCTAssertEqual(pages, 37)
    }

    func testTagsList() throws {
        let (names, _, result) = try session.listTags("tags/app")
        XCTAssertEqual(try result.get(), 23)
        XCTAssertEqual(names.sorted(), (0..<23).map { String(format: "t%02d", $0) }, "2.8.2 lists tags in storage order")
        XCTAssertEqual(try session.listTags("no/such").result.failure?.code, "NAME_UNKNOWN")
    }

    /// docker-registry 2.8.2 ignores `n` (and `last`) on tags/list: with pages smaller than the tag count
    /// the whole list comes at once, and is listed once, not again through the `last=` fallback.
    func testTagsListWithPagesSmallerThanARegistryThatIgnoresN() throws {
        for pageSize in [5, 23] {
            var s = session
            s.options.pageSize = pageSize
            let (names, _, result) = try s.listTags("tags/app")
            XCTAssertEqual(try result.get(), 23, "page size \(pageSize)")
            XCTAssertEqual(names.sorted(), (0..<23).map { String(format: "t%02d", $0) }, "page size \(pageSize)")
        }
    }

    func testResolveByTagAndByDigest() throws {
        let want = try fx.image("single/app:1.0")
        let byTag = try session.resolve("single/app:1.0").get()
        XCTAssertEqual(byTag.manifest.digest, want["digest"] as? String)
        XCTAssertEqual(byTag.manifest.raw, try fx.expectedBlob(want["digest"] as! String), "manifest bytes byte-exact")
        XCTAssertEqual(byTag.config.diffIDs, want["diff_ids"] as? [String])
        XCTAssertEqual(byTag.config.os, "linux")
        XCTAssertEqual(byTag.layers.map(\.digest), (want["layers"] as! [[String: Any]]).map { $0["digest"] as! String })
        let byDigest = try session.resolve("single/app@\(want["digest"] as! String)").get()
        XCTAssertEqual(byDigest.manifest.digest, byTag.manifest.digest)
        XCTAssertNil(byDigest.index)
        let missing = try session.resolve("single/app@sha256:\(String(repeating: "0", count: 64))").failure
        XCTAssertEqual(missing?.kind, .notFound)
        XCTAssertEqual(missing?.code, "MANIFEST_UNKNOWN")
        XCTAssertEqual(try session.resolve("single/app:nope").failure?.code, "MANIFEST_UNKNOWN")
    }

    func testPlatformSelectionFromAnIndexWithAnAttestation() throws {
        let want = try fx.image("multi/app:1.0")
        let entries = want["manifests"] as! [[String: Any]]
        func digest(arch: String) -> String? {
            entries.first { ($0["platform"] as? [String: Any])?["architecture"] as? String == arch && !($0["attestation"] as? Bool ?? false) }?["digest"] as? String
        }
        let amd = try session.resolve("multi/app:1.0").get()
        XCTAssertEqual(amd.manifest.digest, digest(arch: "amd64"))
        XCTAssertEqual(amd.index?.digest, want["digest"] as? String)
        XCTAssertEqual(amd.config.architecture, "amd64")
        var arm = session
        arm.options.platform = try Platform(parsing: "linux/arm64/v8")
        XCTAssertEqual(try arm.resolve("multi/app:1.0").get().manifest.digest, digest(arch: "arm64"))
        XCTAssertEqual(try arm.resolve("dockerlist/app:1.0").get().config.architecture, "arm64")
        var s390 = session
        s390.options.platform = try Platform(parsing: "linux/s390x")
        let none = try s390.resolve("multi/app:1.0").failure
        XCTAssertEqual(none?.kind, .notFound)
        XCTAssertTrue(none?.message.contains("linux/amd64") ?? false, "names the platforms there are: \(none!)")
        XCTAssertFalse(none?.message.contains("unknown") ?? true, "the attestation is not offered as a platform")
    }

    func testDockerV2AndUncompressedLayersResolve() throws {
        let docker = try session.resolve("docker/app:1.0").get()
        XCTAssertEqual(docker.manifest.mediaType, MediaType.dockerManifest)
        XCTAssertEqual(docker.config.diffIDs, try fx.image("docker/app:1.0")["diff_ids"] as? [String])
        XCTAssertEqual(try session.resolve("plain/app:1.0").get().layers.first?.mediaType, "application/vnd.oci.image.layer.v1.tar")
    }

    func testWhatIsNotAnImageIsSkippedWithAReason() throws {
        let chart = try session.resolve("chart/app:0.1.0").failure
        XCTAssertEqual(chart?.kind, .unsupported)
        XCTAssertTrue(chart?.message.contains("application/vnd.cncf.helm.config.v1+json") ?? false, "\(chart!)")
        let win = try session.resolve("win/app:1.0").failure
        XCTAssertEqual(win?.kind, .unsupported)
        XCTAssertTrue(win?.message.contains("Windows") ?? false)
        let digest = (try fx.image("single/app:1.0")["digest"] as! String).replacingOccurrences(of: "sha256:", with: "")
        let sig = try session.resolve("single/app:sha256-\(digest).sig").failure
        XCTAssertEqual(sig?.kind, .unsupported)
        XCTAssertTrue(sig?.message.contains("signature") ?? false)
    }

    func testBlobsAreByteExactAndVerified() throws {
        let image = try session.resolve("single/app:1.0").get()
        for layer in image.layers {
            let (bytes, result) = try session.blob("single/app", layer, pausing: true)
            XCTAssertEqual(try result.get(), layer.size)
            XCTAssertEqual(bytes, try fx.expectedBlob(layer.digest))
        }
        // A descriptor whose digest does not match the bytes the registry has under a name the
        // registry resolves: the real layer under the other layer's size is refused.
        let a = image.layers[0], b = image.layers[1]
        let lying = try descriptor(["digest": a.digest, "size": b.size], mediaType: a.mediaType)
        let r = try session.blob("single/app", lying).result.failure
        XCTAssertEqual(r?.kind, .integrity)
        let foreign = try descriptor(["digest": a.digest, "size": a.size], mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
        XCTAssertEqual(try session.blob("single/app", foreign).result.failure?.kind, .unsupported)
    }

    func testBasicAuthOverTLS() throws {
        let b = Self.basic!
        var s = RegistrySession(base: b.url, credentials: RegistryCredentials(username: b.username, password: b.password), ca: b.ca)
        XCTAssertEqual(try s.resolve("single/app:1.0").get().manifest.digest, try b.image("single/app:1.0")["digest"] as? String)
        s.credentials = RegistryCredentials(username: b.username, password: "wrong-password")
        let wrong = try s.resolve("single/app:1.0").failure
        XCTAssertEqual(wrong?.kind, .permission)
        XCTAssertTrue(wrong?.description.hasPrefix(b.url) ?? false, "the error names the registry: \(wrong!)")
        XCTAssertFalse(wrong?.description.contains("wrong-password") ?? true)
        s.credentials = .anonymous
        let anon = try s.resolve("single/app:1.0").failure
        XCTAssertEqual(anon?.kind, .authentication)
        XCTAssertTrue(anon?.message.contains("CR_USERNAME") ?? false)
        s.ca = nil
        let untrusted = try s.resolve("single/app:1.0").failure
        XCTAssertEqual(untrusted?.kind, .network)
        XCTAssertTrue(untrusted?.message.contains("certificate") ?? false, "\(untrusted!)")
    }
}
