// Each registry type's own authentication and listing, through `cr-agent list` and `cr-agent scan`, against
// stand-ins for the vendors' services (Tests/registry/vendor_standins.py, built from their documented
// examples) in front of the real docker-registry: the names and pages each lists, the auth each stand-in
// received, and that no credential reached a host it does not belong to.
import Foundation
import TestSupport
import XCTest
@testable import AgentKit

final class RegistryVendorTests: XCTestCase {
    nonisolated(unsafe) static var registry: RegistryFixture?
    nonisolated(unsafe) static var standIns: VendorStandIns?

    override class func setUp() {
        super.setUp()
        do {
            let fx = try RegistryFixture.start(auth: "none", pushing: ["basic", "many"])
            registry = fx
            // Docker Hub's official images live under library/: one there, copied by a real client.
            let host = fx.info["host"] as! String
            let copy = try runProcess("skopeo", ["copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                                                 "docker://\(host)/single/app:1.0", "docker://\(host)/library/app:1.0"], timeout: 60)
            if copy.status != 0 { XCTFail("skopeo copy: \(copy.stderr)") }
            standIns = try VendorStandIns(registry: fx)
        } catch {
            XCTFail("cannot start the registry and the stand-ins: \(error)")
        }
    }

    override class func tearDown() {
        standIns?.stop()
        registry?.stop()
        super.tearDown()
    }

    override func setUpWithError() throws { try stand.reset() }

    var stand: VendorStandIns { Self.standIns! }

    /// Every repository of the real registry (basic, many and library/app).
    func catalog() throws -> [String] {
        let r = try runProcess("curl", ["-sS", "\(Self.registry!.url)/v2/_catalog?n=1000"])
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any])["repositories"] as! [String]
    }

    func base(_ vendor: String) -> String { stand.vendor(vendor)["base"] as! String }
    func password(_ vendor: String, _ user: String) -> String { (stand.vendor(vendor)["users"] as! [String: String])[user]! }

    func agent(_ args: [String], _ env: [String: String]) throws -> ProcessResult {
        try runProcess(agentExecutablePath, args, environment: env.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }, timeout: 120)
    }

    func lines(_ r: ProcessResult) -> [String] { r.stdout.split(separator: "\n").map(String.init) }

    /// The user and password of a Basic header, nil for any other.
    func basic(_ header: Any?) -> (String, String)? {
        guard let v = header as? String, v.hasPrefix("Basic "), let d = Data(base64Encoded: String(v.dropFirst(6))) else { return nil }
        let s = String(decoding: d, as: UTF8.self)
        guard let colon = s.firstIndex(of: ":") else { return nil }
        return (String(s[..<colon]), String(s[s.index(after: colon)...]))
    }

    /// Where `secret` showed up in what the stand-ins received (in a header, decoded Basic, or a body),
    /// as `vendor server path`.
    func placesSeen(_ secret: String) throws -> Set<String> {
        var out: Set<String> = []
        for r in try stand.record().requests {
            let header = r["authorization"] as? String ?? ""
            if header.contains(secret) || basic(header)?.1 == secret || (r["body"] as? String ?? "").contains(secret) {
                out.insert("\(r["vendor"]!) \(r["server"]!) \(r["path"]!)")
            }
        }
        return out
    }

    func requests(_ vendor: String) throws -> [[String: Any]] { try stand.record().requests.filter { $0["vendor"] as? String == vendor } }

    // MARK: every type, the same way

    /// For each type: the tags of single/app and a scan of single/app:1.0 through its stand-in, with its
    /// credentials as operators give them, and its password seen only by its own token service or API.
    func testEveryTypeListsTagsAndScansThroughItsStandIn() throws {
        let key = password("gcr", "_json_key")
        let rows: [(type: String, vendor: String, env: [String: String], secret: String, seenAt: Set<String>)] = [
            ("harbor-cr", "harbor-cr", ["CR_USERNAME": "dev", "CR_PASSWORD": password("harbor-cr", "dev")], password("harbor-cr", "dev"), ["harbor-cr registry /service/token"]),
            ("docker-hub", "docker-hub", ["CR_USERNAME": "many", "CR_PASSWORD": password("docker-hub", "many")], password("docker-hub", "many"), ["docker-hub auth /token"]),
            ("acr", "acr", ["CR_USERNAME": "myregistry", "CR_PASSWORD": password("acr", "myregistry")], password("acr", "myregistry"), ["acr registry /oauth2/token"]),
            ("quay-cr", "quay-cr", ["CR_USERNAME": "org+robot", "CR_PASSWORD": password("quay-cr", "org+robot")], password("quay-cr", "org+robot"), ["quay-cr registry /v2/auth"]),
            ("gcr", "gcr", ["CR_USERNAME": "_json_key", "CR_PASSWORD": key], key, ["gcr registry /v2/token"]),
            ("google-artifact-cr", "gcr", ["CR_USERNAME": "_json_key", "CR_PASSWORD": key], key, ["gcr registry /v2/token"]),
            ("github-cr", "github-cr", ["CR_USERNAME": "octocat", "CR_PASSWORD": password("github-cr", "octocat")], password("github-cr", "octocat"), ["github-cr registry /token"]),
            ("gitlab-cr", "gitlab-cr", ["CR_USERNAME": "gitlab-ci-token", "CR_PASSWORD": password("gitlab-cr", "gitlab-ci-token")], password("gitlab-cr", "gitlab-ci-token"), ["gitlab-cr auth /jwt/auth"]),
            ("digitalocean-cr", "digitalocean-cr", ["CR_TOKEN": "dop_v1_do-secret-8"], "dop_v1_do-secret-8", ["digitalocean-cr auth /v2/registry/auth"]),
            ("artifactory-cr", "artifactory-cr", ["CR_USERNAME": "deployer", "CR_PASSWORD": password("artifactory-cr", "deployer")], password("artifactory-cr", "deployer"),
             ["artifactory-cr registry /artifactory/api/docker/docker-local/v2/token"]),
            ("nexus-cr", "nexus-cr", ["CR_USERNAME": "nexus-reader", "CR_PASSWORD": password("nexus-cr", "nexus-reader")], password("nexus-cr", "nexus-reader"), []),
        ]
        for row in rows {
            try stand.reset()
            let env = row.env.merging(["CR_TYPE": row.type, "CR_BASE": base(row.vendor)]) { a, _ in a }
            let tags = try agent(["list", "single/app"], env)
            XCTAssertEqual(tags.status, 0, "\(row.type): \(tags.stderr)")
            XCTAssertEqual(Set(lines(tags)), ["1.0", "sha256-" + String((try Self.registry!.image("single/app:1.0")["digest"] as! String).dropFirst(7)) + ".sig"], row.type)
            let scan = try agent(["scan", "single/app:1.0"], env)
            XCTAssertEqual(scan.status, 0, "\(row.type): \(scan.stderr)")
            XCTAssertTrue(scan.stdout.range(of: #"libc6\s+2\.36-9\+deb12u4\s+deb"#, options: .regularExpression) != nil, "\(row.type): \(scan.stdout)")
            let seen = try placesSeen(row.secret)
            if row.type == "nexus-cr" {
                // Nexus asks for Basic on the registry itself: every /v2 request under its prefix carries it.
                XCTAssertFalse(seen.isEmpty)
                XCTAssertTrue(seen.allSatisfy { $0.hasPrefix("nexus-cr registry /repository/docker-group/v2/") }, "\(seen)")
            } else {
                XCTAssertEqual(seen, row.seenAt, "\(row.type): the password went only to its token service")
            }
            XCTAssertTrue(try stand.record().requests.allSatisfy { $0["vendor"] as? String == row.vendor }, "\(row.type): no other vendor was contacted")
        }
    }

    // MARK: harbor-cr

    /// A project member cannot read Harbor's catalog: the projects and their repositories come from
    /// Harbor's API, in pages of at most 100, with Basic on the registry's own origin; an admin reads the
    /// catalog and the API is not asked.
    func testHarborListsThroughTheProjectAPIWhenTheCatalogNeedsAnAdmin() throws {
        let env = ["CR_TYPE": "harbor-cr", "CR_BASE": base("harbor-cr"), "CR_USERNAME": "dev", "CR_PASSWORD": password("harbor-cr", "dev")]
        let member = try agent(["list", "--page-size", "1000"], env)
        XCTAssertEqual(member.status, 0, member.stderr)
        XCTAssertEqual(lines(member).sorted(), try catalog().sorted(), "every repository once")
        let seen = try requests("harbor-cr")
        let api = seen.filter { ($0["path"] as! String).hasPrefix("/api/v2.0/") }
        XCTAssertEqual(api.filter { $0["path"] as? String == "/api/v2.0/projects" }.count, 1, "11 projects fit one page of 100")
        XCTAssertEqual(api.filter { $0["path"] as? String == "/api/v2.0/projects/many/repositories" }.count, 3, "250 repositories: pages of 100")
        for r in api {
            XCTAssertTrue((r["query"] as! String).contains("page_size=100"), "\(r)")
            XCTAssertEqual(basic(r["authorization"])?.0, "dev")
            XCTAssertEqual(r["user_agent"] as? String, api.first?["user_agent"] as? String)
        }
        XCTAssertTrue((api.first?["user_agent"] as? String ?? "").hasPrefix("cr-agent/"))
        XCTAssertEqual(seen.filter { $0["path"] as? String == "/v2/_catalog" }.count, 2, "the catalog asked once, and once more with the token")

        try stand.reset()
        let admin = try agent(["list", "--page-size", "1000"], env.merging(["CR_USERNAME": "admin", "CR_PASSWORD": password("harbor-cr", "admin")]) { _, b in b })
        XCTAssertEqual(admin.status, 0, admin.stderr)
        XCTAssertEqual(lines(admin).sorted(), try catalog().sorted())
        XCTAssertFalse(try requests("harbor-cr").contains { ($0["path"] as! String).hasPrefix("/api/") }, "an admin reads the catalog")

        try stand.reset()
        let wrong = try agent(["list"], env.merging(["CR_PASSWORD": "not-devs-password"]) { _, b in b })
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("the token server rejected the credentials"), wrong.stderr)
        XCTAssertFalse(try requests("harbor-cr").contains { ($0["path"] as! String).hasPrefix("/api/") }, "rejected credentials are not tried on the API")

        let anonymous = try agent(["list"], ["CR_TYPE": "harbor-cr", "CR_BASE": base("harbor-cr")])
        XCTAssertEqual(anonymous.status, 1)
        XCTAssertTrue(anonymous.stderr.contains("Harbor lists repositories to a signed-in user: set CR_USERNAME and CR_PASSWORD"), anonymous.stderr)
    }

    /// Smaller pages follow Harbor's Link header to the end, project after project.
    func testHarborPagesFollowTheLinkHeader() throws {
        let env = ["CR_TYPE": "harbor-cr", "CR_BASE": base("harbor-cr"), "CR_USERNAME": "dev", "CR_PASSWORD": password("harbor-cr", "dev")]
        let r = try agent(["list", "--page-size", "40"], env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(r).sorted(), try catalog().sorted())
        let pages = try requests("harbor-cr").filter { $0["path"] as? String == "/api/v2.0/projects/many/repositories" }.map { $0["query"] as! String }
        XCTAssertEqual(pages, (1...7).map { "page=\($0)&page_size=40" }, "250 in pages of 40, the next from Link")
    }

    /// Without Link (Harbor before 2.2 sent only X-Total-Count), the page number goes up until the total
    /// is reached; without either, while pages come full.
    func testHarborNextPageWithoutALink() {
        let first = "https://h/api/v2.0/projects?page=1&page_size=100"
        XCTAssertEqual(HarborType.next(after: first, link: "/x?page=2", totalCount: 250, count: 100, pageSize: 100), "/x?page=2", "Link wins")
        XCTAssertEqual(HarborType.next(after: first, link: nil, totalCount: 250, count: 100, pageSize: 100), "https://h/api/v2.0/projects?page=2&page_size=100")
        XCTAssertEqual(HarborType.next(after: "https://h/p?page_size=100&page=3", link: nil, totalCount: 250, count: 50, pageSize: 100), nil, "3 x 100 >= 250")
        XCTAssertEqual(HarborType.next(after: "https://h/p?page_size=100&page=2", link: nil, totalCount: 200, count: 100, pageSize: 100), nil)
        XCTAssertEqual(HarborType.next(after: first, link: nil, totalCount: nil, count: 100, pageSize: 100), "https://h/api/v2.0/projects?page=2&page_size=100")
        XCTAssertEqual(HarborType.next(after: first, link: nil, totalCount: nil, count: 99, pageSize: 100), nil, "a short page is the last")
        // A page number the server wrote through a Link, near Int.max: the listing ends, nothing traps.
        XCTAssertEqual(HarborType.next(after: "https://h/p?page=9223372036854775807", link: nil, totalCount: 250, count: 100, pageSize: 100), nil)
        XCTAssertEqual(HarborType.next(after: "https://h/p?page=9223372036854775806", link: nil, totalCount: nil, count: 100, pageSize: 100), nil)
    }

    // MARK: docker-hub

    /// The user's namespace through the hub API: one sign-in with the documented JSON, then pages of 100
    /// with its Bearer token; the password goes to the hub sign-in and the registry's token service only.
    func testDockerHubListsTheNamespaceThroughTheHubAPI() throws {
        let hub = stand.vendor("docker-hub")
        let secret = password("docker-hub", "many")
        let env = ["CR_TYPE": "docker-hub", "CR_BASE": base("docker-hub"), "DOCKER_HUB_API_URL": hub["hub_url"] as! String,
                   "CR_USERNAME": "many", "CR_PASSWORD": secret]
        let r = try agent(["list"], env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(r), try catalog().filter { $0.hasPrefix("many/") }.sorted())
        let seen = try requests("docker-hub")
        let login = seen.filter { $0["path"] as? String == "/v2/auth/token" }
        XCTAssertEqual(login.count, 1)
        let body = try JSONSerialization.jsonObject(with: Data((login[0]["body"] as! String).utf8)) as! [String: String]
        XCTAssertEqual(body, ["identifier": "many", "secret": secret])
        XCTAssertNil(login[0]["authorization"] as? String)
        let pages = seen.filter { $0["path"] as? String == "/v2/namespaces/many/repositories" }
        XCTAssertEqual(pages.count, 3, "250 in pages of 100, following `next`")
        XCTAssertTrue(pages.allSatisfy { ($0["authorization"] as? String ?? "").hasPrefix("Bearer hubjwt.") })
        XCTAssertTrue(seen.allSatisfy { ($0["user_agent"] as? String ?? "").hasPrefix("cr-agent/") }, "a User-Agent on every call")
        XCTAssertEqual(try placesSeen(secret), ["docker-hub hub /v2/auth/token"])

        // One-word names are official images, under library/.
        let official = try agent(["list", "app"], env)
        XCTAssertEqual(official.status, 0, official.stderr)
        XCTAssertEqual(lines(official), ["1.0"])
        XCTAssertTrue(try requests("docker-hub").contains { $0["path"] as? String == "/v2/library/app/tags/list" })
        let written = try agent(["list", "docker.io/app"], env)
        XCTAssertEqual(lines(written), ["1.0"], "docker.io/ is Docker Hub itself: \(written.stderr)")

        // Anonymous: no sign-in, the namespace named, its public repositories.
        try stand.reset()
        let anonymous = try agent(["list"], ["CR_TYPE": "docker-hub", "CR_BASE": base("docker-hub"), "DOCKER_HUB_API_URL": hub["hub_url"] as! String,
                                             "DOCKER_HUB_NAMESPACE": "many"])
        XCTAssertEqual(anonymous.status, 0, anonymous.stderr)
        XCTAssertEqual(lines(anonymous).count, 250)
        XCTAssertTrue(try requests("docker-hub").allSatisfy { $0["authorization"] is NSNull && $0["path"] as? String != "/v2/auth/token" })
        let nobody = try agent(["list"], ["CR_TYPE": "docker-hub", "CR_BASE": base("docker-hub"), "DOCKER_HUB_API_URL": hub["hub_url"] as! String])
        XCTAssertEqual(nobody.status, 1)
        XCTAssertTrue(nobody.stderr.contains("give the Docker Hub user name (CR_USERNAME) or set DOCKER_HUB_NAMESPACE"), nobody.stderr)

        try stand.reset()
        let wrong = try agent(["list"], env.merging(["CR_PASSWORD": "not-the-pat"]) { _, b in b })
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("authentication failed") && wrong.stderr.contains("the hub API refused the credentials"), wrong.stderr)
        XCTAssertFalse(wrong.stderr.contains("not-the-pat"))
        XCTAssertFalse(try requests("docker-hub").contains { $0["server"] as? String == "hub" && $0["path"] as? String != "/v2/auth/token" })

        let org = try agent(["list"], env.merging(["DOCKER_HUB_NAMESPACE": "library"]) { _, b in b })
        XCTAssertEqual(org.status, 0, org.stderr)
        XCTAssertEqual(lines(org), ["library/app"], "DOCKER_HUB_NAMESPACE names another namespace")
    }

    /// The hub's 429 is waited out (Retry-After) and the page asked again; the listing loses nothing.
    func testDockerHubRateLimitIsRetried() throws {
        let r = try agent(["list"], ["CR_TYPE": "docker-hub", "CR_BASE": base("docker-hub"), "DOCKER_HUB_API_URL": stand.vendor("docker-hub")["hub_url"] as! String,
                                     "DOCKER_HUB_NAMESPACE": "ratelimited"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(r), try catalog().filter { $0.hasPrefix("many/") }.map { "ratelimited/" + $0.dropFirst(5) }.sorted())
        let pages = try requests("docker-hub").filter { $0["server"] as? String == "hub" }.map { $0["query"] as! String }
        XCTAssertEqual(pages, ["page_size=100", "page=2&page_size=100", "page=2&page_size=100", "page=3&page_size=100"], "page 2 once more after its 429")
    }

    /// REGISTRY_ALLOWED_HOSTS holds for the hub API too: a hub host outside it is not contacted at all.
    func testTheHubAPIIsRefusedOutsideTheAllowedHosts() throws {
        let hubPort = (stand.vendor("docker-hub")["hub_url"] as! String).split(separator: ":").last!
        let r = try agent(["list"], ["CR_TYPE": "docker-hub", "CR_BASE": base("docker-hub"), "DOCKER_HUB_API_URL": "http://localhost:\(hubPort)",
                                     "REGISTRY_ALLOWED_HOSTS": "127.0.0.1", "CR_USERNAME": "many", "CR_PASSWORD": password("docker-hub", "many")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("refused") && r.stderr.contains("not in REGISTRY_ALLOWED_HOSTS"), r.stderr)
        XCTAssertFalse(try requests("docker-hub").contains { $0["server"] as? String == "hub" })
        let bad = try agent(["list"], ["CR_TYPE": "docker-hub", "DOCKER_HUB_API_URL": "ftp://hub.example", "CR_USERNAME": "many", "CR_PASSWORD": "x"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "cr-agent list: DOCKER_HUB_API_URL: unsupported scheme ftp://; use https:// or http://\n")
    }

    // MARK: acr

    /// ACR grants tags/list to `metadata_read`: the tag listing's token asks for it with `pull` at once.
    func testACRAsksForMetadataReadToListTags() throws {
        let r = try agent(["list", "tags/app"], ["CR_TYPE": "acr", "CR_BASE": base("acr"), "CR_USERNAME": "myregistry", "CR_PASSWORD": password("acr", "myregistry")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(r).count, 23)
        let tokens = try stand.record().tokens
        XCTAssertEqual(tokens.count, 1, "\(tokens)")
        XCTAssertTrue((tokens.first?["scopes"] as? [String] ?? []).contains("repository:tags/app:pull,metadata_read"), "\(tokens)")
        XCTAssertEqual(tokens.first?["service"] as? String, stand.vendor("acr")["host"] as? String)
    }

    // MARK: quay-cr

    /// Quay's next_page cursors are opaque: followed as given, never rebuilt as `last=`.
    func testQuayFollowsOpaqueCursors() throws {
        let r = try agent(["list", "--page-size", "50"], ["CR_TYPE": "quay-cr", "CR_BASE": base("quay-cr"), "CR_USERNAME": "org+robot", "CR_PASSWORD": password("quay-cr", "org+robot")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(r), try catalog().sorted())
        let pages = try requests("quay-cr").filter { $0["path"] as? String == "/v2/_catalog" && ($0["authorization"] as? String)?.hasPrefix("Bearer") == true }
        XCTAssertEqual(pages.count, 6, "260 names in pages of 50")
        XCTAssertTrue(pages.dropFirst().allSatisfy { ($0["query"] as! String).contains("next_page=") && !($0["query"] as! String).contains("last=") }, "\(pages)")
    }

    // MARK: gcr, google-artifact-cr

    /// The broker's CR_CREDENTIALS with a GCR JSON key as the password (not JSON once bash wrote it) reaches
    /// the token service as `_json_key` and the key, byte for byte.
    func testGCRJSONKeyInBrokenBrokerCredentialsEndToEnd() throws {
        let key = password("gcr", "_json_key")
        for type in ["gcr", "google-artifact-cr"] {
            try stand.reset()
            let line = #"{"type":"\#(type)", "username":"_json_key", "password":""# + key + #"", "registryBase":"\#(stand.vendor("gcr")["host"] as! String)"}"# + "\n"
            XCTAssertThrowsError(try JSONSerialization.jsonObject(with: Data(line.utf8)), "the line is not JSON")
            let r = try agent(["list"], ["CR_CREDENTIALS": Data(line.utf8).base64EncodedString(), "CR_BASE": base("gcr")])
            XCTAssertEqual(r.status, 0, "\(type): \(r.stderr)")
            XCTAssertEqual(lines(r), try catalog().sorted())
            let tokens = try stand.record().tokens
            XCTAssertFalse(tokens.isEmpty)
            XCTAssertTrue(tokens.allSatisfy { $0["user"] as? String == "_json_key" }, "the stand-in accepts only the exact key: \(tokens)")
            XCTAssertEqual(try placesSeen(key), ["gcr registry /v2/token"])
        }
    }

    // MARK: github-cr, gitlab-cr

    /// No catalog: listing repositories says images must be named, and asks nothing; tags are listed, and
    /// GitLab's credentials go to its token realm on the other host only.
    func testGitHubAndGitLabNameImagesAndTagsWork() throws {
        for (type, user) in [("github-cr", "octocat"), ("gitlab-cr", "gitlab-ci-token")] {
            try stand.reset()
            let env = ["CR_TYPE": type, "CR_BASE": base(type), "CR_USERNAME": user, "CR_PASSWORD": password(type, user)]
            let all = try agent(["list"], env)
            XCTAssertEqual(all.status, 1)
            XCTAssertEqual(all.stdout, "")
            XCTAssertTrue(all.stderr.contains("\(type) lists no repositories") && all.stderr.contains("images must be named"), all.stderr)
            XCTAssertTrue(try requests(type).isEmpty, "nothing asked")
            let tags = try agent(["list", "tags/app"], env)
            XCTAssertEqual(tags.status, 0, tags.stderr)
            XCTAssertEqual(lines(tags).count, 23)
        }
        let seen = try requests("gitlab-cr")
        XCTAssertEqual(seen.filter { $0["server"] as? String == "auth" }.map { $0["path"] as! String }, ["/jwt/auth"])
        XCTAssertEqual(basic(seen.first { $0["server"] as? String == "auth" }?["authorization"])?.0, "gitlab-ci-token")
        XCTAssertTrue(seen.filter { $0["server"] as? String == "registry" }.allSatisfy { basic($0["authorization"]) == nil }, "the registry host saw no Basic")
    }

    // MARK: digitalocean-cr

    /// CR_TOKEN alone, or the broker's form with the token in both fields: the token is user and password.
    func testDigitalOceanTokenIsBothUserAndPassword() throws {
        let token = "dop_v1_do-secret-8"
        let host = stand.vendor("digitalocean-cr")["host"] as! String
        let line = #"{"type":"digitalocean-cr", "username":"\#(token)", "password":"\#(token)", "registryBase":"\#(host)"}"# + "\n"
        for env in [["CR_TYPE": "digitalocean-cr", "CR_TOKEN": token], ["CR_CREDENTIALS": Data(line.utf8).base64EncodedString()]] {
            try stand.reset()
            let r = try agent(["list", "tags/app"], env.merging(["CR_BASE": base("digitalocean-cr")]) { a, _ in a })
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(lines(r).count, 23)
            let tokens = try stand.record().tokens
            XCTAssertEqual(tokens.map { $0["user"] as? String }, [token])
            XCTAssertEqual(try placesSeen(token), ["digitalocean-cr auth /v2/registry/auth"])
        }
    }

    // MARK: artifactory-cr, nexus-cr

    /// A path-prefixed base: every request under the prefix; Artifactory's prefixed Links followed, Nexus's
    /// full pages without Link continued with `last=`.
    func testPathPrefixedBasesPageWithLinkOrLast() throws {
        let want = try catalog().sorted()
        for (type, user, prefix) in [("artifactory-cr", "deployer", "/artifactory/api/docker/docker-local/v2/"), ("nexus-cr", "nexus-reader", "/repository/docker-group/v2/")] {
            try stand.reset()
            let r = try agent(["list", "--page-size", "50"], ["CR_TYPE": type, "CR_BASE": base(type), "CR_USERNAME": user, "CR_PASSWORD": password(type, user)])
            XCTAssertEqual(r.status, 0, "\(type): \(r.stderr)")
            XCTAssertEqual(lines(r), want, type)
            let seen = try requests(type)
            XCTAssertTrue(seen.allSatisfy { ($0["path"] as! String).hasPrefix(prefix) }, "\(type): \(seen.map { $0["path"]! })")
            let pages = seen.filter { ($0["path"] as! String).hasSuffix("/_catalog") && $0["authorization"] as? String != nil }.map { $0["query"] as! String }
            XCTAssertEqual(pages.count, 6, "\(type): \(pages)")
            XCTAssertTrue(pages.dropFirst().allSatisfy { $0.contains("last=") }, "\(type): \(pages)")
        }
    }

    // MARK: secrets

    /// With LOG_LEVEL=debug, nothing a command prints holds a password, the hub's access token or a
    /// registry token the stand-ins issued.
    func testNoCredentialOrTokenInTheOutputOfADebugRun() throws {
        let hub = stand.vendor("docker-hub")
        let runs: [[String: String]] = [
            ["CR_TYPE": "docker-hub", "CR_BASE": base("docker-hub"), "DOCKER_HUB_API_URL": hub["hub_url"] as! String,
             "CR_USERNAME": "many", "CR_PASSWORD": password("docker-hub", "many")],
            ["CR_TYPE": "harbor-cr", "CR_BASE": base("harbor-cr"), "CR_USERNAME": "dev", "CR_PASSWORD": password("harbor-cr", "dev")],
            ["CR_TYPE": "gitlab-cr", "CR_BASE": base("gitlab-cr"), "CR_USERNAME": "gitlab-ci-token", "CR_PASSWORD": password("gitlab-cr", "gitlab-ci-token")],
        ]
        for env in runs {
            try stand.reset()
            var output = ""
            for args in [["list"], ["list", "single/app"], ["scan", "single/app:1.0"]] {
                let r = try agent(args, env.merging(["LOG_LEVEL": "debug"]) { a, _ in a })
                output += r.stdout + r.stderr
            }
            XCTAssertTrue(output.contains("\"level\":\"debug\""), "a debug run: \(output.prefix(500))")
            var secrets = [env["CR_PASSWORD"]!, Data("\(env["CR_USERNAME"]!):\(env["CR_PASSWORD"]!)".utf8).base64EncodedString()]
            for r in try stand.record().requests {
                if let v = r["authorization"] as? String, v.hasPrefix("Bearer ") { secrets.append(String(v.dropFirst(7))) }
            }
            XCTAssertGreaterThan(secrets.count, 2, "tokens were issued")
            for secret in Set(secrets) { XCTAssertFalse(output.contains(secret), "\(env["CR_TYPE"]!): a secret in the output") }
        }
    }
}
