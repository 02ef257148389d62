// The registry client's pure parts, row by row against the distribution spec and REFERENCE §4.
@testable import AgentKit
import Core
import XCTest

final class RegistryParsingTests: XCTestCase {
    func testRegistryBase() throws {
        let rows: [(String, String, String)] = [
            ("registry.example", "https://registry.example", ""),
            ("http://127.0.0.1:5000", "http://127.0.0.1:5000", ""),
            ("https://Art.Example/artifactory/api/docker/docker-local/", "https://art.example", "/artifactory/api/docker/docker-local"),
            ("nexus.example:8443/repository/docker-hosted", "https://nexus.example:8443", "/repository/docker-hosted"),
            ("https://reg.example/v2/", "https://reg.example", ""),
        ]
        for (raw, origin, prefix) in rows {
            let b = try RegistryBase(parsing: raw)
            XCTAssertEqual(b.origin, origin, raw)
            XCTAssertEqual(b.pathPrefix, prefix, raw)
        }
        XCTAssertEqual(try RegistryBase(parsing: "nexus.example/repository/r").url("/v2/a/b/tags/list"), "https://nexus.example/repository/r/v2/a/b/tags/list")
        for bad in ["ftp://x", "", "https://user:pw@host", "https://host/a?b"] {
            XCTAssertThrowsError(try RegistryBase(parsing: bad), bad)
        }
    }

    func testWWWAuthenticateChallenges() {
        let c = AuthChallenge.parse(["Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"",
                                     "Basic realm=\"Registry Realm\", Bearer realm=\"https://other/t\",  error=\"invalid_token\""])
        XCTAssertEqual(c.count, 3)
        XCTAssertEqual(c[0].scheme, "bearer")
        XCTAssertEqual(c[0]["realm"], "https://auth.example/token")
        XCTAssertEqual(c[0]["scope"], "repository:a/b:pull,push", "a comma inside quotes stays in the value")
        XCTAssertEqual(c[1], AuthChallenge(scheme: "basic", parameters: ["realm": "Registry Realm"]))
        XCTAssertEqual(c[2]["error"], "invalid_token")
        XCTAssertEqual(AuthChallenge.parse(["Bearer realm=\"a\\\"b\""])[0]["realm"], "a\"b")
        XCTAssertEqual(AuthChallenge.parse(["Negotiate abc123=="])[0].scheme, "negotiate")
    }

    func testLinkHeaders() {
        XCTAssertEqual(LinkHeader.next(["</v2/_catalog?last=b&n=2>; rel=\"next\""]), "/v2/_catalog?last=b&n=2")
        XCTAssertEqual(LinkHeader.next(["<https://x/a>; rel=\"prev\", <https://x/b>; rel=\"next\""]), "https://x/b")
        XCTAssertNil(LinkHeader.next(["<https://x/a>; rel=\"prev\""]))
        let req = "https://reg.example:5000/prefix/v2/_catalog?n=2"
        XCTAssertEqual(LinkHeader.resolve("/prefix/v2/_catalog?last=b&n=2", against: req), "https://reg.example:5000/prefix/v2/_catalog?last=b&n=2")
        XCTAssertEqual(LinkHeader.resolve("_catalog?last=b", against: req), "https://reg.example:5000/prefix/v2/_catalog?last=b")
        XCTAssertEqual(LinkHeader.resolve("https://reg.example:5000/v2/_catalog?last=x", against: req), "https://reg.example:5000/v2/_catalog?last=x")
        XCTAssertNil(LinkHeader.resolve("https://evil.example/v2/_catalog", against: req), "never to another host")
        XCTAssertNil(LinkHeader.resolve("//evil.example/v2/", against: req))
    }

    func testImageReferences() throws {
        let d = "sha256:" + String(repeating: "ab", count: 32)
        XCTAssertEqual(try ImageReference(parsing: "library/alpine").tag, "latest")
        XCTAssertEqual(try ImageReference(parsing: "a/b-c_d.e:v1.2").manifestReference, "v1.2")
        let byDigest = try ImageReference(parsing: "a/b@\(d)")
        XCTAssertEqual(byDigest.manifestReference, d)
        XCTAssertNil(byDigest.tag)
        for bad in ["A/b", "a//b", "a/b:", "a/b@sha256:12", "-a", "a/b:-x", "a..b"] {
            XCTAssertThrowsError(try ImageReference(parsing: bad), bad)
        }
        XCTAssertTrue(ResolvedImage.isSignatureTag("sha256-\(String(repeating: "0", count: 64)).sig"))
        XCTAssertFalse(ResolvedImage.isSignatureTag("1.0"))
    }

    func testPlatformChoiceSkipsAttestations() throws {
        let json = """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
         {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\(String(repeating: "1", count: 64))","size":1,"platform":{"os":"linux","architecture":"arm64"}},
         {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\(String(repeating: "2", count: 64))","size":1,"platform":{"os":"linux","architecture":"amd64"}},
         {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\(String(repeating: "3", count: 64))","size":1,"platform":{"os":"unknown","architecture":"unknown"},
          "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}
        """
        guard case .index(let index) = try ManifestParser.parse(Array(json.utf8), digest: "sha256:x", contentType: nil, registry: "r") else { return XCTFail() }
        XCTAssertEqual(index.imageEntries.count, 2)
        XCTAssertEqual(index.entry(for: Platform())?.digest.suffix(1), "2")
        XCTAssertEqual(index.entry(for: try Platform(parsing: "linux/arm64/v8"))?.digest.suffix(1), "1")
        XCTAssertNil(index.entry(for: try Platform(parsing: "linux/s390x")))
        XCTAssertThrowsError(try Platform(parsing: "linux"))
    }

    func testSchema1IsRefusedWithAClearMessage() {
        let schema1 = #"{"schemaVersion":1,"name":"a","tag":"1","fsLayers":[]}"#
        XCTAssertThrowsError(try ManifestParser.parse(Array(schema1.utf8), digest: "sha256:x", contentType: MediaType.dockerSchema1Signed, registry: "r")) {
            let e = $0 as! RegistryError
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertTrue(e.message.contains("schema 1"))
        }
    }

    func testRegistryErrorKeepsTheRegistrysOwnWords() {
        let e = RegistryError.fromResponse(registry: "https://r", status: 404, body: Array(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#.utf8), what: "manifest a:x")
        XCTAssertEqual(e.code, "MANIFEST_UNKNOWN")
        XCTAssertEqual(e.kind, .notFound)
        XCTAssertTrue(e.description.contains("manifest unknown"))
        let t = RegistryError.fromResponse(registry: "https://r", status: 500, body: Array("upstream exploded\n".utf8), what: "GET /v2/")
        XCTAssertEqual(t.message, "GET /v2/: upstream exploded")
        let denied = RegistryError.fromResponse(registry: "https://r", status: 403, body: Array(#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#.utf8), what: "x")
        XCTAssertEqual(denied.kind, .permission)
    }

    func testLinkLocalAndMetadataAddressesAreRefused() {
        for bad in ["169.254.169.254", "169.254.0.1", "fd00:ec2::254", "FD00:EC2:0:0::1", "::ffff:169.254.169.254", "fe80::1", "metadata.google.internal"] {
            XCTAssertNotNil(AddressPolicy.refusal(host: bad), bad)
        }
        for ok in ["127.0.0.1", "10.0.0.1", "registry.example", "fd00:ec3::1", "::1"] {
            XCTAssertNil(AddressPolicy.refusal(host: ok), ok)
        }
        XCTAssertNotNil(AddressPolicy.refusal(url: "http://[fd00:ec2::254]/latest/meta-data"))
    }

    func testRetryScheduleIsBoundedAndHonoursRetryAfter() {
        let s = RetrySchedule(maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5000)
        XCTAssertNotNil(s.delayMs(afterAttempt: 1, retryAfter: nil))
        XCTAssertNil(s.delayMs(afterAttempt: 3, retryAfter: nil))
        XCTAssertEqual(s.delayMs(afterAttempt: 1, retryAfter: "2"), 2000)
        XCTAssertEqual(s.delayMs(afterAttempt: 1, retryAfter: "999"), 5000)
        for _ in 0..<50 { XCTAssertTrue((100...200).contains(s.delayMs(afterAttempt: 2, retryAfter: nil)!)) }
        XCTAssertEqual(Base64.encode(Array("testuser:pa55".utf8)), "dGVzdHVzZXI6cGE1NQ==")
    }
}
