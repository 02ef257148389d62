// The registry client against a deliberately misbehaving stub (Tests/registry/misbehaving_registry.py),
// for what the real registry will not do on demand: cross-origin redirects, 429, 503, cut connections,
// odd paging, extra scopes, non-JSON errors, oversized or ancient manifests, hostile token realms.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class RegistryMisbehaviourTests: MisbehavingRegistryTestCase {
    var session: RegistrySession {
        var s = RegistrySession(base: stub.url, credentials: RegistryCredentials(username: "u", password: "p"))
        s.options.retryBaseDelayMs = 50
        return s
    }

    func layer(_ scenario: String) throws -> Descriptor { try descriptor(stub.image(scenario)["layer"] as! [String: Any]) }

    func testRedirectToAnotherOriginDropsAuthorization() throws {
        let d = try layer("redirect")
        let (bytes, result) = try session.blob("redirect", d)
        XCTAssertEqual(try result.get(), d.size)
        XCTAssertEqual(SHA256.digest(bytes), d.digest)
        let record = try stub.record()
        XCTAssertEqual(record["second_origin_saw_authorization"] as? Bool, false)
        XCTAssertFalse((record["second_origin"] as? [Any])?.isEmpty ?? true, "the blob came from the second origin")
    }

    func testRateLimitIsRetriedAfterRetryAfter() throws {
        var delays: [Int] = []
        let r: Result<ResolvedImage, RegistryError> = try session.run { c, done in
            c.onRetry = { _, _, delay in delays.append(delay) }
            c.resolve(try! ImageReference(parsing: "ratelimit:latest"), done: done)
        }
        XCTAssertNotNil(r.success)
        XCTAssertEqual(delays.first, 1000, "Retry-After: 1 is honoured")
    }

    func testServiceUnavailableThenSuccess() throws {
        var retries = 0
        let r: Result<ResolvedImage, RegistryError> = try session.run { c, done in
            c.onRetry = { _, _, _ in retries += 1 }
            c.resolve(try! ImageReference(parsing: "unavailable:latest"), done: done)
        }
        XCTAssertNotNil(r.success, "\(r)")
        XCTAssertEqual(retries, 1)
    }

    func testCutConnectionResumesWithRangeAndVerifies() throws {
        let d = try layer("cut")
        let (bytes, result) = try session.blob("cut", d, pausing: true)
        XCTAssertEqual(try result.get(), d.size)
        XCTAssertEqual(bytes.count, d.size, "no byte delivered twice")
        XCTAssertEqual(SHA256.digest(bytes), d.digest)
        let ranges = try stub.record()["cut_ranges"] as? [Any]
        XCTAssertEqual(ranges?.count, 2)
        XCTAssertTrue(ranges?.first is NSNull)
        XCTAssertTrue((ranges?.last as? String)?.hasPrefix("bytes=") ?? false)
        XCTAssertNotEqual(ranges?.last as? String, "bytes=0-")
    }

    func testRelativeLinkOpaqueCursorAndNexusFallback() throws {
        var s = session
        s.options.pageSize = 2
        let catalog = try s.listRepositories()
        XCTAssertNil(catalog.result.failure)
        XCTAssertGreaterThan(catalog.pages, 3)
        XCTAssertEqual(catalog.names.count, Set(catalog.names).count)
        XCTAssertTrue(catalog.names.contains("cut"))

        var quay = s
        quay.base = stub.info["quay_base"] as! String
        let q = try quay.listRepositories()
        XCTAssertNil(q.result.failure, "the opaque cursor is followed verbatim: \(String(describing: q.result.failure))")
        XCTAssertGreaterThan(q.pages, 1)

        var nexus = s
        nexus.base = stub.info["nexus_base"] as! String
        let n = try nexus.listRepositories()
        XCTAssertEqual(n.names, (0..<5).map { "nexus-repo-\($0)" }, "full pages without Link continue with last=")
        let tags = try nexus.listTags("nexus-repo-1")
        XCTAssertEqual(tags.names, (0..<5).map { "v\($0)" })

        var paged = session
        paged.options.pageSize = 5
        let p = try paged.listTags("paged")
        XCTAssertEqual(p.names.count, 23)
        XCTAssertEqual(p.pages, 5)
    }

    func testSecondChallengeForAnExtraScopeGetsATokenForTheUnion() throws {
        XCTAssertNotNil(try session.resolve("scoped:latest").success)
        let tokens = try stub.record()["token_requests"] as? [[String: Any]] ?? []
        let scopeSets = tokens.map { Set(($0["scopes"] as? [String]) ?? []) }
        XCTAssertTrue(scopeSets.contains(["repository:scoped:pull", "repository:scoped-extra:pull"]), "\(tokens)")
    }

    func testDeniedStopsAfterOneRetry() throws {
        let r = try session.resolve("denied:latest").failure
        XCTAssertEqual(r?.kind, .permission)
        let tokens = try stub.record()["token_requests"] as? [Any] ?? []
        XCTAssertLessThanOrEqual(tokens.count, 2)
    }

    func testPlainTextErrorBodyIsReportedAfterRetries() throws {
        var s = session
        s.options.maxAttempts = 2
        let r = try s.resolve("plaintext500:latest").failure
        XCTAssertEqual(r?.status, 500)
        XCTAssertTrue(r?.message.contains("upstream proxy error: connection refused by backend") ?? false, "\(r!)")
        XCTAssertTrue(r?.message.contains("after 2 attempts") ?? false)
    }

    func testOversizedManifestsAreRefusedWithoutReadingThemWhole() throws {
        for scenario in ["huge", "huge-chunked"] {
            let r = try session.resolve("\(scenario):latest").failure
            XCTAssertEqual(r?.kind, .tooLarge, scenario)
        }
    }

    func testSchema1IsRefused() throws {
        let r = try session.resolve("schema1:latest").failure
        XCTAssertEqual(r?.kind, .unsupported)
        XCTAssertTrue(r?.message.contains("schema 1") ?? false)
    }

    func testTokenRealmOnAMetadataAddressIsRefused() throws {
        let r = try session.resolve("metadata-realm:latest").failure
        XCTAssertEqual(r?.kind, .refused)
        XCTAssertTrue(r?.message.contains("169.254.169.254") ?? false, "\(r!)")
        var imds = session
        imds.base = stub.info["imds_base"] as! String
        XCTAssertEqual(try imds.run { c, done in c.ping(done) }.failure?.kind, .refused)
    }

    func testCorruptAndOversizedBlobsFailIntegrity() throws {
        let bad = try session.blob("baddigest", try layer("baddigest")).result.failure
        XCTAssertEqual(bad?.kind, .integrity)
        XCTAssertTrue(bad?.message.contains("digest") ?? false)
        let over = try session.blob("oversize", try layer("oversize")).result.failure
        XCTAssertEqual(over?.kind, .integrity)
    }

    func testMediaTypeComesFromTheDocumentNotTheContentType() throws {
        let r = try session.resolve("wrong-content-type:latest")
        XCTAssertEqual(r.success?.manifest.mediaType, MediaType.ociManifest, "\(r)")
    }

    /// A config kept by digest is used instead of a GET; one that does not match its digest is fetched
    /// again (and the registry's bytes win).
    func testAKeptConfigIsNotFetchedAgainUnlessItFailsItsDigest() throws {
        let store = KeptConfigs()
        func resolveWithStore() throws -> ResolvedImage? {
            try session.run { (c: RegistryClient, done: @escaping (Result<ResolvedImage, RegistryError>) -> Void) in
                c.configStore = store
                c.resolve(try! ImageReference(parsing: "scoped:latest"), done: done)
            }.success
        }
        func blobGets() throws -> Int {
            (try stub.record()["requests"] as? [[String: Any]] ?? []).filter { ($0["path"] as? String ?? "").contains("/blobs/") }.count
        }
        let first = try XCTUnwrap(try resolveWithStore())
        XCTAssertEqual(try blobGets(), 1, "the config, fetched once")
        XCTAssertEqual(store.kept[first.config.digest].map(SHA256.digest), first.config.digest)

        try stub.reset()
        let second = try XCTUnwrap(try resolveWithStore())
        XCTAssertEqual(try blobGets(), 0, "the kept config was used")
        XCTAssertEqual(second.config.diffIDs, first.config.diffIDs)

        try stub.reset()
        var tampered = try XCTUnwrap(store.kept[first.config.digest])
        tampered[tampered.count / 2] ^= 0x20
        store.kept[first.config.digest] = tampered
        let third = try XCTUnwrap(try resolveWithStore())
        XCTAssertEqual(try blobGets(), 1, "a kept config that fails its digest is fetched again")
        XCTAssertEqual(third.config.diffIDs, first.config.diffIDs)
        XCTAssertEqual(store.kept[first.config.digest].map(SHA256.digest), first.config.digest, "and kept anew")
    }
}

/// Configs in memory, for the test above.
final class KeptConfigs: ConfigStore, @unchecked Sendable {   // used from one reactor thread at a time
    var kept: [String: [UInt8]] = [:]
    func config(_ digest: String, maxBytes: Int) -> [UInt8]? { kept[digest].flatMap { $0.count <= maxBytes ? $0 : nil } }
    func keep(config: [UInt8], digest: String) { kept[digest] = config }
}
