// `cr-agent list` as users run it, against the real reference registry (docker-registry 2.8.2): every
// repository across pages, a repository's tags, credentials over TLS, registry and usage errors.
import Foundation
import TestSupport
import XCTest

final class ListCommandTests: XCTestCase {
    nonisolated(unsafe) static var open: RegistryFixture?
    nonisolated(unsafe) static var basic: RegistryFixture?

    override class func setUp() {
        super.setUp()
        do {
            open = try RegistryFixture.start(auth: "none", pushing: ["basic", "many"])
            basic = try RegistryFixture.start(auth: "htpasswd", tls: true, pushing: ["basic"])
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
    var host: String { fx.info["host"] as! String }

    func list(_ args: [String], _ env: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(agentExecutablePath, ["list"] + args, environment: env.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }, timeout: 60)
    }

    func names(_ r: ProcessResult) -> [String] { r.stdout.split(separator: "\n").map(String.init) }

    func testEveryRepositoryAcrossPagesOfSeven() throws {
        let pushed = Set((try fx.pushed("basic")["repositories"] as! [String]) + (try fx.pushed("many")["repositories"] as! [String]))
        let r = try list(["--plain-http", "--page-size", "7", host])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(names(r).count, pushed.count, "each once")
        XCTAssertEqual(Set(names(r)), pushed)
        XCTAssertEqual(names(r), names(r).sorted(), "the catalog comes in lexical order, page after page")
    }

    func testTagsOfARepositoryUnderCRBase() throws {
        let r = try list(["--page-size", "5", "tags/app"], ["CR_BASE": fx.url])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(names(r).sorted(), (0..<23).map { String(format: "t%02d", $0) })
    }

    func testCredentialsOverTLS() throws {
        let b = Self.basic!
        let env = ["CR_BASE": b.url, "CA_CERT": b.ca!, "CR_USERNAME": b.username!, "CR_PASSWORD": b.password!]
        let r = try list(["single/app"], env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let images = try b.pushed("basic")["images"] as! [String: Any]
        let want = images.keys.filter { $0.hasPrefix("single/app:") }.map { String($0.dropFirst("single/app:".count)) }.sorted()
        XCTAssertEqual(want.count, 2)
        XCTAssertEqual(names(r).sorted(), want)
        var wrong = env
        wrong["CR_PASSWORD"] = "not-the-password"
        let denied = try list([], wrong)
        XCTAssertEqual(denied.status, 1)
        XCTAssertTrue(denied.stderr.contains("permission denied: repository catalog") && denied.stderr.contains("(HTTP 401)"), denied.stderr)
        XCTAssertFalse(denied.stderr.contains("not-the-password"))
    }

    func testUnknownRepositoryKeepsTheRegistrysCode() throws {
        let r = try list(["no/such"], ["CR_BASE": fx.url])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("cr-agent list: \(fx.url): not found: tags of no/such"), r.stderr)
        XCTAssertTrue(r.stderr.contains("[NAME_UNKNOWN] (HTTP 404)"), r.stderr)
    }

    func testUsageErrors() throws {
        for (args, env, message) in [
            ([], [:], "a registry is required"),
            (["a", "b"], [:], "one target expected, got 2"),
            (["--page-size", "0", host], [:], "--page-size must be an integer in 1...1000"),
            (["--plain-http", "https://\(host)"], [:], "--plain-http contradicts"),
            (["http://\(host)/tags/app"], ["CR_BASE": fx.url], "give only a repository here"),
            (["--bogus"], [:], "--bogus"),
        ] as [([String], [String: String], String)] {
            let r = try list(args, env)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertTrue(r.stderr.hasPrefix("cr-agent list: ") && r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
        }
        let help = try list(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.hasPrefix("Usage: cr-agent list"))
    }
}
