// The agent service's registry reads end to end: the real docker-registry (htpasswd Basic, and token auth
// over TLS), the agent started as operators run it, curl as the client with CR_CREDENTIALS in the
// `authorization` header as the broker client sends it.
import Foundation
import Glibc
import TestSupport
import XCTest

final class ServiceListingTests: XCTestCase {
    nonisolated(unsafe) static var basic: RegistryFixture?
    nonisolated(unsafe) static var token: RegistryFixture?
    nonisolated(unsafe) static var agent: (BackgroundProcess, Int)?

    override class func setUp() {
        super.setUp()
        do {
            basic = try RegistryFixture.start(auth: "htpasswd", pushing: ["basic", "manytags"])
            token = try RegistryFixture.start(auth: "token", tls: true, pushing: ["basic"])
            // The token registry's CA is trusted for every host; the htpasswd registry is plain http.
            agent = try startAgentService(["CA_CERT": token!.ca!, "HOME": "/nonexistent"])
        } catch {
            XCTFail("cannot start the registries and the agent: \(error)")
        }
    }

    override class func tearDown() {
        _ = agent?.0.stop()
        basic?.stop()
        token?.stop()
        super.tearDown()
    }

    var fx: RegistryFixture { Self.basic! }
    var port: Int { Self.agent!.1 }

    /// CR_CREDENTIALS as snyk's bash entrypoint writes it: one line, one space after each comma.
    static func credentials(type: String = "harbor-cr", username: String, password: String, base: String) -> String {
        Data("{\"type\":\"\(type)\", \"username\":\"\(username)\", \"password\":\"\(password)\", \"registryBase\":\"\(base)\"}\n".utf8).base64EncodedString()
    }

    var good: String { Self.credentials(username: fx.username!, password: fx.password!, base: fx.url) }
    var wrong: String { Self.credentials(username: fx.username!, password: "not-the-password-4411", base: fx.url) }

    struct Answer {
        let status: Int
        let body: String
        let headers: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var array: [String] { json as? [String] ?? [] }
    }

    /// One GET with curl; `authorization` nil sends no header.
    func get(_ path: String, authorization: String?, port: Int? = nil) throws -> Answer {
        let headersFile = FileManager.default.temporaryDirectory.appendingPathComponent("listing-headers-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: headersFile) }
        var args = ["-sS", "--max-time", "120", "-D", headersFile, "-o", "-", "-w", "\n%{http_code}"]
        if let authorization { args += ["-H", "authorization: \(authorization)"] }
        args.append("http://127.0.0.1:\(port ?? self.port)\(path)")
        let r = try runProcess("/usr/bin/curl", args, timeout: 150)
        XCTAssertEqual(r.status, 0, r.stderr)
        let cut = r.stdout.lastIndex(of: "\n") ?? r.stdout.startIndex
        let headers = (try? String(contentsOfFile: headersFile, encoding: .utf8)) ?? ""
        return Answer(status: Int(r.stdout[cut...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, body: String(r.stdout[..<cut]), headers: headers)
    }

    /// Every page of a paged route, following `next`, with the names of each page.
    func pages(_ path: String, key: String, limit: Int, authorization: String) throws -> [[String]] {
        var out: [[String]] = []
        var cursor: String?
        repeat {
            let sep = path.contains("?") ? "&" : "?"
            let a = try get(path + "\(sep)limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""), authorization: authorization)
            XCTAssertEqual(a.status, 200, a.body)
            guard a.status == 200 else { break }
            let names = a.object[key] as? [Any] ?? []
            out.append(names.map { ($0 as? String) ?? (($0 as? [String: Any])?["tag"] as? String ?? "?") })
            cursor = a.object["next"] as? String
            XCTAssertTrue(out.count <= 1000, "paging does not end")
        } while cursor != nil && out.count <= 1000
        return out
    }

    // MARK: health and credentials

    func testHealthcheckIsOKWithAndWithoutAuthorization() throws {
        for auth in [nil, good, "not base64 at all %%%"] as [String?] {
            let a = try get("/healthcheck", authorization: auth)
            XCTAssertEqual(a.status, 200, a.body)
            XCTAssertEqual(a.object["ok"] as? Bool, true)
        }
    }

    func testMissingOrUndecodableAuthorizationIs401AndNeverEchoed() throws {
        let notBase64 = "secret-not-base64-%%-7781"
        let notJSON = Data("secret-plain-text-7782".utf8).base64EncodedString()
        for (auth, secret) in [(nil, nil), ("", nil), (notBase64, notBase64), (notJSON, "secret-plain-text-7782"), ("Bearer " + notJSON, "secret-plain-text-7782")] as [(String?, String?)] {
            for path in ["/list", "/systemcheck", "/list/single/app", "/get-state-identifier?image=single/app:1.0"] {
                let a = try get(path, authorization: auth)
                XCTAssertEqual(a.status, 401, "\(path): \(a.body)")
                XCTAssertEqual(a.object["code"] as? String, "UNAUTHORIZED", a.body)
                XCTAssertFalse((a.object["message"] as? String ?? "").isEmpty, a.body)
                if let secret {
                    XCTAssertFalse(a.body.contains(secret), a.body)
                    XCTAssertFalse(a.body.contains(auth!), a.body)
                }
            }
        }
    }

    func testSystemcheckAndValidationWithGoodAndWrongCredentials() throws {
        let ok = try get("/systemcheck", authorization: good)
        XCTAssertEqual(ok.status, 200, ok.body)
        XCTAssertEqual(ok.object["ok"] as? Bool, true)
        XCTAssertEqual(ok.object["registry"] as? String, fx.url)
        XCTAssertEqual(ok.object["authenticated"] as? Bool, true)
        // The broker's `Bearer <b64>` spelling is the same credentials.
        XCTAssertEqual(try get("/systemcheck", authorization: "Bearer " + good).status, 200)

        let denied = try get("/systemcheck", authorization: wrong)
        XCTAssertEqual(denied.status, 401, denied.body)
        XCTAssertEqual(denied.object["ok"] as? Bool, false)
        XCTAssertEqual(denied.object["code"] as? String, "UNAUTHORIZED")
        XCTAssertTrue((denied.object["message"] as? String ?? "").contains("HTTP 401"), denied.body)
        XCTAssertFalse(denied.body.contains("not-the-password-4411"))

        let valid = try get("/validate-credentials", authorization: good)
        XCTAssertEqual(valid.status, 200, valid.body)
        XCTAssertEqual(valid.object["valid"] as? Bool, true)
        let invalid = try get("/validate-credentials", authorization: wrong)
        XCTAssertEqual(invalid.status, 401, invalid.body)
        XCTAssertEqual(invalid.object["valid"] as? Bool, false)
    }

    func testSystemcheckAgainstTokenAuthOverTLS() throws {
        let t = Self.token!
        let user = Self.credentials(username: t.username!, password: t.password!, base: t.url)
        let ok = try get("/systemcheck", authorization: user)
        XCTAssertEqual(ok.status, 200, ok.body)
        // A pull-only user reaches the registry too; it may not list the catalog, which is the
        // registry's own 401 kept with its code.
        let pull = Self.credentials(username: t.pullOnlyUsername!, password: t.pullOnlyPassword!, base: t.url)
        XCTAssertEqual(try get("/systemcheck", authorization: pull).status, 200)
        let catalog = try get("/list", authorization: pull)
        XCTAssertEqual(catalog.status, 401, catalog.body)
        XCTAssertEqual(catalog.object["code"] as? String, "UNAUTHORIZED", catalog.body)
        XCTAssertEqual(try get("/list/single/app", authorization: pull).status, 200)
        // Wrong password: refused by the token service, 401, never 2xx.
        let wrongToken = Self.credentials(username: t.username!, password: "wrong-token-password-9", base: t.url)
        let denied = try get("/systemcheck", authorization: wrongToken)
        XCTAssertEqual(denied.status, 401, denied.body)
        XCTAssertEqual(denied.object["ok"] as? Bool, false)
        let tags = try get("/list/tags/app", authorization: user)
        XCTAssertEqual(tags.status, 200, tags.body)
        XCTAssertEqual(Set(tags.array), Set((0..<23).map { String(format: "t%02d", $0) }))
    }

    // MARK: listings

    func testRepositoriesAndTagsWithCaseInsensitivePaths() throws {
        let want = Set((try fx.pushed("basic")["repositories"] as! [String]) + ["paging/deep/app"])
        for path in ["/list", "/LIST", "/list/", "/List/"] {
            let a = try get(path, authorization: good)
            XCTAssertEqual(a.status, 200, "\(path): \(a.body)")
            XCTAssertEqual(a.array.count, want.count, "each repository once: \(a.body)")
            XCTAssertEqual(Set(a.array), want)
        }
        for path in ["/list/tags/app", "/LIST/tags/app/", "/list/tags%2Fapp"] {
            let a = try get(path, authorization: good)
            XCTAssertEqual(a.status, 200, "\(path): \(a.body)")
            XCTAssertEqual(a.array.sorted(), (0..<23).map { String(format: "t%02d", $0) })
        }
        let log = fx.info["registry_log"] as! String
        func tagFetches() throws -> Int {
            // Answered lists only (a first request without credentials gets the registry's 401 challenge).
            try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
                .filter { $0.contains("GET /v2/paging/deep/app/tags/list") && $0.contains("HTTP/1.1\" 200 ") }.count
        }
        let before = try tagFetches()
        let nested = try get("/list/paging/deep/app", authorization: good)
        XCTAssertEqual(nested.status, 200)
        XCTAssertEqual(try tagFetches() - before, 1, "docker-registry sends all 1100 tags at once, whatever n says: they are fetched once")
        XCTAssertEqual(Set(nested.array), Set(try fx.pushed("manytags")["tags"] as! [String]))
        XCTAssertEqual(nested.array.count, 1100)
        XCTAssertFalse(nested.headers.lowercased().contains("x-listing-truncated"))
        // The listing went through the per-host limiter, which /metrics shows, nothing left in flight.
        let metrics = try get("/metrics", authorization: nil).body
        let hosts = metrics.split(separator: "\n").first { $0.hasPrefix("cr_agent_registry_hosts ") }.flatMap { Int($0.split(separator: " ")[1]) }
        XCTAssertGreaterThanOrEqual(hosts ?? 0, 1, metrics)
        XCTAssertTrue(metrics.contains("\ncr_agent_registry_requests_in_flight 0\n"), metrics)
        XCTAssertTrue(metrics.contains("\ncr_agent_aws_exchanges_total{kind=\"ecr_login\"} 0\n"), metrics)
    }

    func testPagingPastAThousandTagsAndAcrossTheCatalog() throws {
        let tags = Set(try fx.pushed("manytags")["tags"] as! [String])
        for limit in [97, 1000] {
            let got = try pages("/list-paginated/paging/deep/app", key: "tags", limit: limit, authorization: good)
            XCTAssertEqual(got.count, (1100 + limit - 1) / limit, "pages of \(limit)")
            XCTAssertTrue(got.allSatisfy { $0.count <= limit })
            let all = got.flatMap { $0 }
            XCTAssertEqual(all.count, 1100, "each tag once")
            XCTAssertEqual(Set(all), tags)
        }
        let repositories = Set((try fx.pushed("basic")["repositories"] as! [String]) + ["paging/deep/app"])
        let catalog = try pages("/list-paginated/", key: "repositories", limit: 3, authorization: good)
        XCTAssertEqual(catalog.count, (repositories.count + 2) / 3, "the registry's Link pages of 3")
        XCTAssertEqual(catalog.flatMap { $0 }, catalog.flatMap { $0 }.sorted(), "lexical, page after page")
        XCTAssertEqual(Set(catalog.flatMap { $0 }), repositories)
        XCTAssertEqual(catalog.flatMap { $0 }.count, repositories.count)
    }

    /// Registries that page otherwise (the misbehaving stub, for what docker-registry does not do):
    /// Nexus never sends Link (so `last=`), Quay's Link holds an opaque cursor (a rebuilt `last=` is its
    /// 400), a broken registry's names that no registry may hold are left out and counted, and a Link to
    /// another origin or a metadata address as registry are refused before any request goes there.
    func testNexusQuayAndOddNamesThroughTheStub() throws {
        let stub = try MisbehavingRegistry()
        defer { stub.stop() }
        let nexus = Self.credentials(type: "nexus-cr", username: "u", password: "stub-pw-1", base: stub.info["nexus_base"] as! String)
        let nexusPages = try pages("/list-paginated/", key: "repositories", limit: 2, authorization: nexus)
        XCTAssertEqual(nexusPages.flatMap { $0 }, (0..<5).map { "nexus-repo-\($0)" })
        XCTAssertEqual(nexusPages.count, 3, "full pages of 2 without Link go on with last=")
        let nexusTags = try pages("/list-paginated/nexus-repo-3", key: "tags", limit: 2, authorization: nexus)
        XCTAssertEqual(nexusTags.flatMap { $0 }, (0..<5).map { "v\($0)" })

        let quay = Self.credentials(type: "quay-cr", username: "u", password: "stub-pw-2", base: stub.info["quay_base"] as! String)
        let quayPages = try pages("/list-paginated/", key: "repositories", limit: 2, authorization: quay)
        let all = try get("/list", authorization: quay)
        XCTAssertEqual(all.status, 200, all.body)
        XCTAssertEqual(all.array.count, 15)
        XCTAssertEqual(quayPages.flatMap { $0 }, all.array, "the opaque cursor followed as given, page after page")
        XCTAssertEqual(quayPages.count, 8)
        let record = try stub.record()
        let quayQueries = (record["requests"] as? [[String: Any]] ?? []).filter { ($0["path"] as? String) == "/quay/v2/_catalog" }
        XCTAssertFalse(quayQueries.isEmpty)
        XCTAssertFalse(quayQueries.contains { ($0["query"] as? String ?? "").contains("last=") }, "a Quay cursor was rebuilt: \(quayQueries)")

        let odd = Self.credentials(username: "u", password: "stub-pw-3", base: stub.info["oddnames_base"] as! String)
        let repositories = try get("/list", authorization: odd)
        XCTAssertEqual(repositories.status, 200, repositories.body)
        XCTAssertEqual(repositories.array, ["good/one", "good/two"])
        XCTAssertTrue(repositories.headers.lowercased().contains("x-listing-skipped-names: 3"), repositories.headers)
        // A next-page link to another origin is not followed: the credentials would go with it.
        let xlink = Self.credentials(username: "u", password: "stub-pw-4", base: stub.info["xlink_base"] as! String)
        let refused = try get("/list", authorization: xlink)
        XCTAssertEqual(refused.status, 502, refused.body)
        XCTAssertEqual(refused.object["code"] as? String, "REGISTRY_REFUSED")
        XCTAssertEqual((try stub.record()["second_origin"] as? [Any])?.count, 0, "the second origin was asked")
        let metadata = Self.credentials(username: "u", password: "stub-pw-5", base: "http://169.254.169.254")
        let imds = try get("/systemcheck", authorization: metadata)
        XCTAssertEqual(imds.status, 502, imds.body)
        XCTAssertEqual(imds.object["code"] as? String, "REGISTRY_REFUSED")
        let tags = try get("/list-paginated/good/one", authorization: odd)
        XCTAssertEqual(tags.object["tags"] as? [String], ["1.0", "2.0"])
        XCTAssertTrue(tags.headers.lowercased().contains("x-listing-skipped-names: 3"), tags.headers)
    }

    func testCursorsAndLimitsAreChecked() throws {
        let first = try get("/list-paginated/?limit=2", authorization: good)
        let catalogCursor = try XCTUnwrap(first.object["next"] as? String)
        // A catalog cursor is not a page of a repository's tags.
        XCTAssertEqual(try get("/list-paginated/tags/app?cursor=\(catalogCursor)", authorization: good).status, 400)
        func cursor(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        for forged in [cursor("{\"u\":\"/v2/single/app/manifests/1.0\",\"s\":0}"), cursor("{\"u\":\"//evil.example/v2/_catalog\",\"s\":0}"),
                       cursor("{\"u\":\"/v2/_catalog\",\"s\":-1}"), cursor("{\"o\":5}"), "bm90IGpzb24", "%25%25%25"] {
            let a = try get("/list-paginated/?cursor=\(forged)", authorization: good)
            XCTAssertEqual(a.status, 400, "\(forged): \(a.body)")
            XCTAssertTrue((a.object["message"] as? String ?? "").hasPrefix("cursor: ") || a.body.contains("cursor"), a.body)
        }
        for limit in ["0", "1001", "x", "-1"] {
            XCTAssertEqual(try get("/list-paginated/?limit=\(limit)", authorization: good).status, 400, limit)
        }
        XCTAssertEqual(try get("/list-with-metadata/tags/app?limit=101", authorization: good).status, 400)
        XCTAssertEqual(try get("/list/Not..Valid", authorization: good).status, 400)
    }

    func testTagsWithMetadata() throws {
        let multi = try fx.image("multi/app:1.0")
        let a = try get("/list-with-metadata/multi/app", authorization: good)
        XCTAssertEqual(a.status, 200, a.body)
        let entries = a.object["tags"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries.first?["tag"] as? String, "1.0")
        XCTAssertEqual(entries.first?["digest"] as? String, multi["digest"] as? String)
        XCTAssertEqual(entries.first?["created"] as? String, "2024-01-01T00:00:00Z")
        XCTAssertTrue(entries.first?["pushed"] is NSNull)
        XCTAssertTrue(a.object["next"] is NSNull)

        // 23 tags of one image, 10 per page: three pages, every tag once, each with the image's digest.
        let digest = try fx.image("tags/app:t00")["digest"] as! String
        var seen: [String] = []
        var cursor: String?
        var pageCount = 0
        repeat {
            let page = try get("/list-with-metadata/tags/app?limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""), authorization: good)
            XCTAssertEqual(page.status, 200, page.body)
            let tags = page.object["tags"] as? [[String: Any]] ?? []
            XCTAssertTrue(tags.count <= 10)
            for t in tags {
                XCTAssertEqual(t["digest"] as? String, digest)
                XCTAssertTrue(t["error"] is NSNull)
                seen.append(t["tag"] as! String)
            }
            cursor = page.object["next"] as? String
            pageCount += 1
        } while cursor != nil && pageCount < 10
        XCTAssertEqual(pageCount, 3)
        XCTAssertEqual(seen.sorted(), (0..<23).map { String(format: "t%02d", $0) })
    }

    func testStateIdentifierIsTheManifestDigest() throws {
        let single = try fx.image("single/app:1.0")["digest"] as! String
        let multi = try fx.image("multi/app:1.0")["digest"] as! String
        let host = fx.info["host"] as! String
        for (image, want) in [("single/app:1.0", single), ("multi/app:1.0", multi), ("\(host)/multi/app:1.0", multi),
                              ("single/app@\(single)", single)] {
            let encoded = image.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let a = try get("/get-state-identifier?image=\(encoded)", authorization: good)
            XCTAssertEqual(a.status, 200, "\(image): \(a.body)")
            XCTAssertEqual(a.object["stateIdentifier"] as? String, want, image)
        }
        let missing = try get("/get-state-identifier?image=single/app:9.9", authorization: good)
        XCTAssertEqual(missing.status, 404, missing.body)
        XCTAssertEqual(missing.object["code"] as? String, "MANIFEST_UNKNOWN")
        // An image on another registry is refused: these credentials are not sent there.
        let elsewhere = try get("/get-state-identifier?image=other.example:5000/single/app:1.0", authorization: good)
        XCTAssertEqual(elsewhere.status, 400, elsewhere.body)
        XCTAssertEqual(try get("/get-state-identifier", authorization: good).status, 400)
    }

    func testImageMetadataWithoutFetchingALayer() throws {
        let multi = try fx.image("multi/app:1.0")
        let entries = multi["manifests"] as! [[String: Any]]
        let arm = entries.first { ($0["platform"] as? [String: Any])?["architecture"] as? String == "arm64" }!
        let a = try get("/image-metadata/multi/app/1.0", authorization: good)
        XCTAssertEqual(a.status, 200, a.body)
        XCTAssertEqual(a.object["digest"] as? String, multi["digest"] as? String)
        let platforms = (a.object["platforms"] as? [[String: Any]] ?? []).compactMap { $0["platform"] as? String }
        XCTAssertEqual(platforms, ["linux/amd64", "linux/arm64/v8"], "the attestation entry is not a platform")
        let onArm = try get("/image-metadata/multi/app:1.0?platform=linux/arm64", authorization: good)
        XCTAssertEqual(onArm.status, 200, onArm.body)
        XCTAssertEqual(onArm.object["manifestDigest"] as? String, arm["digest"] as? String)
        let absent = try get("/image-metadata/multi/app/1.0?platform=linux/s390x", authorization: good)
        XCTAssertEqual(absent.status, 404, absent.body)
        XCTAssertTrue((absent.object["message"] as? String ?? "").contains("linux/arm64/v8"), "names the platforms it has: \(absent.body)")

        let single = try fx.image("single/app:1.0")
        let s = try get("/image-metadata/single/app/\(single["digest"] as! String)", authorization: good)
        XCTAssertEqual(s.status, 200, s.body)
        XCTAssertEqual((s.object["labels"] as? [String: String])?["org.opencontainers.image.title"], "single-app")
        let layers = single["layers"] as! [[String: Any]]
        let size = (single["config"] as! [String: Any])["size"] as! Int + layers.reduce(0) { $0 + ($1["size"] as! Int) }
        XCTAssertEqual(s.object["size"] as? Int, size)
        XCTAssertEqual(s.object["layers"] as? Int, layers.count)
        XCTAssertEqual(s.object["configDigest"] as? String, (single["config"] as! [String: Any])["digest"] as? String)
        let log = try String(contentsOfFile: fx.info["registry_log"] as! String, encoding: .utf8)
        for layer in layers + entries.flatMap({ $0["layers"] as! [[String: Any]] }) {
            XCTAssertFalse(log.contains("blobs/\(layer["digest"] as! String) HTTP/1.1\" 200 \(layer["size"] as! Int) \"\" \"cr-agent"),
                           "layer \(layer["digest"]!) was fetched")
        }
        XCTAssertTrue(log.contains("blobs/\((single["config"] as! [String: Any])["digest"] as! String)"), "the config was read")
        XCTAssertEqual(try get("/image-metadata/single/app/9.9", authorization: good).object["code"] as? String, "MANIFEST_UNKNOWN")
        XCTAssertEqual(try get("/image-metadata/single/app:1.0?platform=linux", authorization: good).status, 400)
    }

    func testRegistryErrorsKeepTheirCodes() throws {
        let a = try get("/list/no/such", authorization: good)
        XCTAssertEqual(a.status, 404, a.body)
        XCTAssertEqual(a.object["code"] as? String, "NAME_UNKNOWN")
        XCTAssertTrue((a.object["message"] as? String ?? "").contains(fx.url), a.body)
    }

    func testATypeWithoutCatalogSaysSoAndStillListsTags() throws {
        let github = Self.credentials(type: "github-cr", username: fx.username!, password: fx.password!, base: fx.url)
        let a = try get("/list", authorization: github)
        XCTAssertEqual(a.status, 400, a.body)
        XCTAssertEqual(a.object["code"] as? String, "LISTING_NOT_OFFERED")
        XCTAssertTrue((a.object["message"] as? String ?? "").contains("github-cr"), a.body)
        XCTAssertEqual(try get("/list-paginated/", authorization: github).status, 400)
        let tags = try get("/list/tags/app", authorization: github)
        XCTAssertEqual(tags.status, 200, tags.body)
        XCTAssertEqual(tags.array.count, 23)
    }

    func testAStoppedRegistryIs502() throws {
        let gone = try RegistryFixture.start(auth: "none")
        let url = gone.url
        gone.stop()
        let creds = Self.credentials(username: "someone", password: "pw-for-nothing", base: url)
        for path in ["/systemcheck", "/list", "/list/single/app", "/image-metadata/single/app/1.0"] {
            let a = try get(path, authorization: creds)
            XCTAssertEqual(a.status, 502, "\(path): \(a.body)")
            XCTAssertEqual(a.object["code"] as? String, "REGISTRY_UNREACHABLE", a.body)
        }
        XCTAssertEqual(try get("/validate-credentials", authorization: creds).object["valid"].map { $0 is NSNull }, true)
    }

    /// A read held up by a registry that never answers holds nothing else up: health, other registries'
    /// reads and their answers go on; the client leaving ends the stuck read, and the service stays up.
    func testAStuckRegistryHoldsUpNoOtherRequest() throws {
        let (fd, silentPort) = try silentListener()
        defer { close(fd) }
        let silent = Self.credentials(username: "u", password: "silent-pw-2", base: "http://127.0.0.1:\(silentPort)")
        // The agent's deadline is 60 s: this read cannot end before the checks below are done.
        let stuck = try BackgroundProcess("/usr/bin/curl", ["-s", "-H", "authorization: \(silent)", "http://127.0.0.1:\(port)/systemcheck"], environment: ["PATH": "/usr/bin:/bin"])
        // Connected: the /metrics request itself and the stuck one.
        XCTAssertTrue(waitUntil(seconds: 10) {
            let m = (try? self.get("/metrics", authorization: nil).body) ?? ""
            return m.split(separator: "\n").contains { $0.hasPrefix("http_open_connections ") && (Int($0.split(separator: " ").last ?? "") ?? 0) >= 2 }
        })
        for _ in 0..<3 {
            XCTAssertEqual(try get("/healthcheck", authorization: nil).status, 200)
            XCTAssertEqual(try get("/list/tags/app", authorization: good).array.count, 23)
            XCTAssertEqual(try get("/systemcheck", authorization: good).status, 200)
        }
        XCTAssertTrue(stuck.process.isRunning, "the stuck read answered: \(stuck.stdout)")
        XCTAssertNotNil(stuck.stop(signal: SIGKILL))
        XCTAssertEqual(try get("/healthcheck", authorization: nil).status, 200)
        XCTAssertEqual(try get("/list", authorization: good).status, 200)
    }

    /// Without an authorization header, a standalone agent's own CR_* settings are the credentials.
    func testAStandaloneAgentUsesItsOwnSettings() throws {
        let (own, ownPort) = try startAgentService(["CR_BASE": fx.url, "CR_USERNAME": fx.username!, "CR_PASSWORD": fx.password!])
        defer { _ = own.stop() }
        let list = try get("/list/single/app", authorization: nil, port: ownPort)
        XCTAssertEqual(list.status, 200, list.body)
        XCTAssertEqual(Set(list.array), Set((try fx.pushed("basic")["tags"] as! [String: [String]])["single/app"]!))
        // A request's own credentials still win over the agent's.
        XCTAssertEqual(try get("/systemcheck", authorization: wrong, port: ownPort).status, 401)
    }

    /// The deadline and SNYK_DISABLE_LIST_REPOS, on an agent of their own.
    func testDeadlineAndDisabledRepositoryListing() throws {
        let (fd, silentPort) = try silentListener()
        defer { close(fd) }
        let (special, specialPort) = try startAgentService(["LISTING_TIMEOUT_MS": "1000", "SNYK_DISABLE_LIST_REPOS": "true", "REGISTRY_STALL_TIMEOUT_MS": "60000"])
        defer { _ = special.stop() }
        let silent = Self.credentials(username: "u", password: "silent-pw-1", base: "http://127.0.0.1:\(silentPort)")
        let timedOut = try get("/systemcheck", authorization: silent, port: specialPort)
        XCTAssertEqual(timedOut.status, 504, timedOut.body)
        XCTAssertEqual(timedOut.object["code"] as? String, "REGISTRY_TIMEOUT")
        XCTAssertTrue((timedOut.object["message"] as? String ?? "").contains("LISTING_TIMEOUT_MS"), timedOut.body)
        // Listing disabled: [] without asking the registry (which would have timed out).
        let none = try get("/list", authorization: silent, port: specialPort)
        XCTAssertEqual(none.status, 200, none.body)
        XCTAssertEqual(none.body, "[]")
        XCTAssertEqual(try get("/healthcheck", authorization: nil, port: specialPort).status, 200)
        let bad = try runProcess(agentExecutablePath, [], environment: ["PATH": "/usr/bin:/bin", "SNYK_PORT": "0", "SNYK_DISABLE_LIST_REPOS": "maybe"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("SNYK_DISABLE_LIST_REPOS"), bad.stderr)
    }
}
