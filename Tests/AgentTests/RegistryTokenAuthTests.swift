// Bearer-token auth against the real registry with a real token server (JWTs signed with a key made
// at test time), over TLS: scopes, the token cache, permission failures, anonymous pull, OAuth2 POST.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class RegistryTokenAuthTests: XCTestCase {
    nonisolated(unsafe) static var fx: RegistryFixture?

    override class func setUp() {
        super.setUp()
        do {
            let f = try RegistryFixture.start(auth: "token", tls: true, pushing: ["basic", "many"])
            fx = f
        } catch {
            XCTFail("cannot start the token-auth registry: \(error)")
        }
    }

    override class func tearDown() {
        fx?.stop()
        super.tearDown()
    }

    var fx: RegistryFixture { Self.fx! }
    var user: RegistrySession {
        RegistrySession(base: fx.url, credentials: RegistryCredentials(username: fx.username, password: fx.password), ca: fx.ca)
    }

    func tokenLog() throws -> [[String: Any]] {
        let text = try String(contentsOf: fx.dir.appendingPathComponent("token.log"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func testCatalogAndPullWithTokensCachedPerScope() throws {
        var s = user
        s.options.pageSize = 50
        var tokenRequests = 0
        let r: Result<Int, RegistryError> = try s.run { c, done in
            var names = 0
            c.listRepositories(onPage: { names += $0.count }) { result in
                guard case .success = result else { return done(result) }
                c.resolve(try! ImageReference(parsing: "single/app:1.0")) { first in
                    guard case .success = first else { return done(.failure(first.failure!)) }
                    c.resolve(try! ImageReference(parsing: "single/app:1.0")) { second in
                        tokenRequests = c.tokenRequestCount
                        done(second.map { _ in names })
                    }
                }
            }
        }
        XCTAssertEqual(try r.get(), 259)
        // One token for the catalog scope, one for repository:single/app:pull; the second resolve and
        // every page reuse them.
        XCTAssertEqual(tokenRequests, 2)
        let log = try tokenLog().filter { ($0["user"] as? String) == fx.username }
        XCTAssertTrue(log.contains { ($0["scopes"] as? [String]) == ["registry:catalog:*"] }, "\(log)")
        XCTAssertTrue(log.contains { ($0["scopes"] as? [String]) == ["repository:single/app:pull"] })
        XCTAssertTrue(log.allSatisfy { ($0["method"] as? String) == "GET" })
    }

    func testBlobThroughTokenAuthIsByteExact() throws {
        let image = try user.resolve("multi/app:1.0").get()
        let layer = image.layers[0]
        let (bytes, result) = try user.blob("multi/app", layer)
        XCTAssertEqual(try result.get(), layer.size)
        XCTAssertEqual(bytes, try fx.expectedBlob(layer.digest))
    }

    func testPullOnlyUserGetsAPermissionErrorForTheCatalogWithoutLooping() throws {
        let s = RegistrySession(base: fx.url, credentials: RegistryCredentials(username: fx.pullOnlyUsername, password: fx.pullOnlyPassword), ca: fx.ca)
        let before = try tokenLog().count
        let r = try s.listRepositories().result.failure
        XCTAssertEqual(r?.kind, .permission)
        XCTAssertTrue(r?.description.contains(fx.url) ?? false)
        XCTAssertLessThanOrEqual(try tokenLog().count - before, 1, "one token, one retry, then stop")
        XCTAssertEqual(try s.resolve("single/app:1.0").success?.manifest.digest, try fx.image("single/app:1.0")["digest"] as? String)
    }

    func testWrongPasswordIsAnAuthenticationErrorNamingTheRegistry() throws {
        let s = RegistrySession(base: fx.url, credentials: RegistryCredentials(username: fx.username, password: "not-the-password"), ca: fx.ca)
        let r = try s.resolve("single/app:1.0").failure
        XCTAssertEqual(r?.kind, .authentication)
        XCTAssertTrue(r?.message.contains("rejected the credentials") ?? false, "\(r!)")
        XCTAssertTrue(r?.description.hasPrefix(fx.url) ?? false)
    }

    func testAnonymousPullWhereAllowedAndRefusedElsewhere() throws {
        let anon = RegistrySession(base: fx.url, ca: fx.ca)
        XCTAssertEqual(try anon.resolve("public/app:1.0").get().manifest.digest, try fx.image("public/app:1.0")["digest"] as? String)
        let refused = try anon.resolve("single/app:1.0").failure
        XCTAssertEqual(refused?.kind, .permission)
    }

    func testOAuth2PasswordGrantPost() throws {
        var s = user
        s.options.oauth2TokenPost = true
        XCTAssertEqual(try s.resolve("dockerlist/app:1.0").get().config.architecture, "amd64")
        let posts = try tokenLog().filter { ($0["method"] as? String) == "POST" }
        XCTAssertFalse(posts.isEmpty)
        let form = posts.last?["form"] as? [String: Any]
        XCTAssertEqual(form?["grant_type"] as? String ?? (form?["grant_type"] as? [String])?.first, "password")
    }

    func testExpiredTokensAreRenewed() throws {
        // Force a zero-lifetime cache by asking twice with a client whose clock moves past expiry:
        // the registry's own 60 s leeway keeps old tokens valid, so renewal shows in the token log.
        let s = user
        let r: Result<Int, RegistryError> = try s.run { c, done in
            c.resolve(try! ImageReference(parsing: "docker/app:1.0")) { _ in
                c.auth.expireAllTokens()
                c.resolve(try! ImageReference(parsing: "docker/app:1.0")) { second in done(second.map { _ in c.tokenRequestCount }) }
            }
        }
        XCTAssertEqual(try r.get(), 2, "an expired token is fetched again")
    }
}
