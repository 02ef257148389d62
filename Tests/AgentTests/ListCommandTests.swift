// `cr-agent list` as users run it, against the real reference registry (docker-registry 2.8.2): every
// repository across pages, a repository's tags, credentials over TLS, registry and usage errors.
import Foundation
import Glibc
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

    /// github-cr and gitlab-cr serve no catalog: listing repositories is refused with the reason, before
    /// any request; a named repository's tags are listed.
    func testTypesWithoutACatalogListTagsOnly() throws {
        let log = fx.info["registry_log"] as! String
        func logSize() -> Int { ((try? FileManager.default.attributesOfItem(atPath: log))?[.size] as? Int) ?? -1 }
        for type in ["github-cr", "gitlab-cr"] {
            let before = logSize()
            let repositories = try list([], ["CR_BASE": fx.url, "CR_TYPE": type])
            XCTAssertEqual(repositories.status, 1, repositories.stderr)
            XCTAssertEqual(repositories.stdout, "")
            XCTAssertTrue(repositories.stderr.contains("\(type) lists no repositories") && repositories.stderr.contains("serves no /v2/_catalog"), repositories.stderr)
            XCTAssertEqual(logSize(), before, "the catalog was not asked")
            let tags = try list(["tags/app"], ["CR_BASE": fx.url, "CR_TYPE": type])
            XCTAssertEqual(tags.status, 0, tags.stderr)
            XCTAssertEqual(names(tags).count, 23)
        }
    }

    /// SIGINT and SIGTERM while the registry does not answer: 130 and 143, the last line says which.
    /// The misbehaving stub has no slow listing, so the registry here is a socket that accepts
    /// connections (the kernel's backlog) and never answers.
    func testSignalsWhileTheRegistryDoesNotAnswerExit130And143() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        for (sig, status, word) in [(SIGINT, Int32(130), "interrupted"), (SIGTERM, Int32(143), "terminated")] {
            let p = try BackgroundProcess(agentExecutablePath, ["list", "--plain-http", "127.0.0.1:\(port)"],
                                          environment: ["PATH": "/usr/bin:/bin", "LOG_LEVEL": "debug"])
            XCTAssertTrue(waitUntil(seconds: 10) { p.stderr.contains("\"msg\":\"listing\"") || !p.process.isRunning }, p.stderr)
            XCTAssertTrue(p.process.isRunning, p.stderr)
            XCTAssertEqual(p.stop(signal: sig), status, p.stderr)
            XCTAssertEqual(p.stdout, "")
            XCTAssertTrue(p.stderr.hasSuffix("cr-agent list: \(word) before the listing finished\n"), p.stderr)
        }
    }
}
