// The pure pieces of the API's registry reads, as tables: registry errors to HTTP statuses (the registry's
// code kept), cursors and their checks, the query string, image paths, and which registry a request's
// credentials name.
import Core
import Foundation
import XCTest
@testable import AgentKit

final class ServiceListingPiecesTests: XCTestCase {
    func testRegistryErrorsBecomeStatusesKeepingTheRegistrysCode() {
        let r = "https://registry.example"
        let rows: [(RegistryError, Int, String)] = [
            (RegistryError(.notFound, registry: r, "manifest a:1", status: 404, code: "MANIFEST_UNKNOWN"), 404, "MANIFEST_UNKNOWN"),
            (RegistryError(.notFound, registry: r, "tags of a", status: 404, code: "NAME_UNKNOWN"), 404, "NAME_UNKNOWN"),
            (RegistryError(.notFound, registry: r, "tags of a", status: 404), 404, "NOT_FOUND"),
            (RegistryError(.authentication, registry: r, "GET /v2/", status: 401, code: "UNAUTHORIZED"), 401, "UNAUTHORIZED"),
            (RegistryError(.permission, registry: r, "catalog", status: 401, code: "UNAUTHORIZED"), 401, "UNAUTHORIZED"),
            (RegistryError(.permission, registry: r, "manifest", status: 403, code: "DENIED"), 403, "DENIED"),
            (RegistryError(.permission, registry: r, "manifest", status: 403), 403, "DENIED"),
            (RegistryError(.registry, registry: r, "catalog", status: 500), 502, "REGISTRY_ERROR"),
            (RegistryError(.registry, registry: r, "catalog", status: 503, code: "UNAVAILABLE"), 502, "UNAVAILABLE"),
            (RegistryError(.registry, registry: r, "catalog", status: 429, code: "TOOMANYREQUESTS"), 429, "TOOMANYREQUESTS"),
            (RegistryError(.network, registry: r, "GET /v2/: Couldn't connect to server"), 502, "REGISTRY_UNREACHABLE"),
            (RegistryError(.network, registry: r, "GET /v2/: the transfer stalled (under 1024 bytes in 30 s) and was aborted"), 504, "REGISTRY_TIMEOUT"),
            (RegistryError(.refused, registry: r, "next-page link leaves the registry's origin"), 502, "REGISTRY_REFUSED"),
            (RegistryError(.invalidInput, registry: r, "invalid repository name"), 400, "BAD_REQUEST"),
            (RegistryError(.unsupported, registry: r, "an OCI artifact"), 422, "UNSUPPORTED"),
            (RegistryError(.integrity, registry: r, "digest differs"), 502, "REGISTRY_ERROR"),
        ]
        for (error, status, code) in rows {
            let s = ServiceError.registry(error)
            XCTAssertEqual(s.status, status, "\(error)")
            XCTAssertEqual(s.code, code, "\(error)")
            XCTAssertTrue(s.message.hasPrefix(r), s.message)
        }
    }

    func testCursorsRoundTripAndAreChecked() throws {
        let base = try RegistryBase(parsing: "https://registry.example:5000/artifactory/api/docker/key")
        for c in [ListingCursor.registry(path: "/v2/_catalog?n=2&last=a%2Fb", skip: 0, after: nil),
                  .registry(path: "/artifactory/api/docker/key/v2/team/app/tags/list?n=1000", skip: 1000, after: "v9"), .offset(0), .offset(500)] {
            XCTAssertEqual(ListingCursor.parse(c.encoded, maxSkip: 100_000), c)
            XCTAssertFalse(c.encoded.contains("+") || c.encoded.contains("/") || c.encoded.contains("="), "URL-safe: \(c.encoded)")
        }
        XCTAssertNil(ListingCursor.parse(ListingCursor.offset(100_001).encoded, maxSkip: 100_000))
        XCTAssertNil(ListingCursor.parse(String(repeating: "A", count: 9000), maxSkip: 100_000))
        XCTAssertNil(ListingCursor.parse("not a cursor", maxSkip: 100_000))
        let rows: [(String, String?, String?)] = [
            ("/v2/_catalog?n=2&last=x", nil, "https://registry.example:5000/v2/_catalog?n=2&last=x"),
            ("/artifactory/api/docker/key/v2/team/app/tags/list?n=5", "team/app", "https://registry.example:5000/artifactory/api/docker/key/v2/team/app/tags/list?n=5"),
            ("/v2/team/app/tags/list", nil, nil),                 // tags are not the catalog
            ("/v2/_catalog", "team/app", nil),                    // nor the reverse
            ("/v2/team/app/manifests/1.0", "team/app", nil),      // not a listing at all
            ("//evil.example/v2/_catalog", nil, nil),             // another host
            ("/v2/../v2/_catalog", nil, nil),
            ("/v2/_catalog#frag", nil, nil),
            ("/\\evil.example/v2/_catalog", nil, nil),
            ("/v2/_catalog?x=\u{7}", nil, nil),
            ("https://evil.example/v2/_catalog", nil, nil),
        ]
        for (path, repository, want) in rows {
            XCTAssertEqual(ListingCursor.pageURL(path: path, base: base, repository: repository), want, path)
        }
    }

    func testQueryAndImagePaths() throws {
        let q = ListingQuery("image=team%2Fapp%3A1.0&limit=5&limit=7&x&bad=%zz&sp=a+b")
        XCTAssertEqual(q["image"], "team/app:1.0")
        XCTAssertEqual(q["limit"], "5", "the first occurrence wins")
        XCTAssertEqual(q["x"], "")
        XCTAssertNil(q["bad"], "a malformed escape is no value")
        XCTAssertEqual(q["sp"], "a b")
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let rows: [(String, String?)] = [
            ("team/app/1.0", "team/app:1.0"), ("team/app:1.0", "team/app:1.0"), ("a/b/c/latest", "a/b/c:latest"),
            ("team/app/\(digest)", "team/app@\(digest)"), ("team/app@\(digest)", "team/app@\(digest)"),
            ("app", "app:latest"), ("Team/App/1.0", nil), ("team/app/bad tag", nil), ("team/app/sha256:beef", nil),
        ]
        for (path, want) in rows {
            switch ListingRoutes.imageReference(path: path) {
            case .success(let r): XCTAssertEqual(r.description, want, path)
            case .failure(let e): XCTAssertNil(want, "\(path): \(e)")
            }
        }
    }

    func testTheRegistryOfARequest() throws {
        func base(_ json: String, env: [String: String] = [:]) -> String? {
            let raw = Data(json.utf8).base64EncodedString()
            guard case .success(let access) = RegistryAccess.fromBrokerCredentials(raw) else { return "refused" }
            switch ListingRequest.registryBase(of: access, environment: Environment(env)) {
            case .success(let b): return b?.description
            case .failure: return "error"
            }
        }
        XCTAssertEqual(base(#"{"type":"harbor-cr", "username":"u", "password":"p", "registryBase":"http://127.0.0.1:5000"}"#), "http://127.0.0.1:5000")
        XCTAssertEqual(base(#"{"type":"artifactory-cr", "username":"u", "password":"p", "registryBase":"art.example/artifactory/api/docker/key"}"#),
                       "https://art.example/artifactory/api/docker/key")
        XCTAssertEqual(base(#"{"type":"docker-hub", "username":"u", "password":"p", "registryBase":"undefined"}"#), "https://registry-1.docker.io")
        XCTAssertEqual(base(#"{"type":"gitlab-cr", "username":"u", "password":"p", "registryBase":""}"#), "https://registry.gitlab.com")
        XCTAssertEqual(base(#"{"type":"harbor-cr", "username":"u", "password":"p", "registryBase":""}"#, env: ["CR_BASE": "harbor.example"]), "https://harbor.example")
        XCTAssertEqual(base(#"{"type":"harbor-cr", "username":"u", "password":"p", "registryBase":""}"#), "error", "no registry anywhere")
        XCTAssertEqual(base(#"{"type":"ecr","roleArn":"arn:aws:iam::1:role/r","extra":{"region":"eu-west-1"}}"#), nil, "ecr lists through its API")
        XCTAssertEqual(base(#"{"type":"harbor-cr", "username":"u", "password":"p", "registryBase":"ftp://x"}"#), "error")
    }
}
