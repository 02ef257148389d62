// `cr-agent fetch` as users run it, against the real reference registry (docker-registry 2.8.2): summary
// line and JSON, platform choice, registry errors, credentials over TLS, usage errors, SIGINT.
import Foundation
import Glibc
import TestSupport
import XCTest

final class FetchCommandTests: XCTestCase {
    nonisolated(unsafe) static var open: RegistryFixture?
    nonisolated(unsafe) static var basic: RegistryFixture?

    override class func setUp() {
        super.setUp()
        do {
            let o = try RegistryFixture.start(auth: "none", pushing: ["basic"])
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

    var agentPath: String { agentExecutablePath }
    var fx: RegistryFixture { Self.open! }
    /// `127.0.0.1:PORT` of the open registry.
    var openHost: String { fx.info["host"] as! String }

    /// Runs `cr-agent fetch` with only PATH and `env` set (nothing leaks in from the test's environment).
    func fetch(_ args: [String], _ env: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(agentPath, ["fetch"] + args, environment: env.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }, timeout: 60)
    }

    func lines(_ s: String) -> [Substring] { s.split(separator: "\n") }

    func layerBytes(_ record: [String: Any]) -> Int {
        (record["layers"] as! [[String: Any]]).reduce(0) { $0 + ($1["size"] as! Int) }
    }

    func parseJSON(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    func testFetchByTagUnderCRBasePrintsTheSummaryLine() throws {
        let want = try fx.image("single/app:1.0")
        let r = try fetch(["single/app:1.0"], ["CR_BASE": fx.url])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "", "nothing on stderr at the default log level")
        let m = try XCTUnwrap(r.stdout.wholeMatch(of: /(\S+) (sha256:[0-9a-f]{64}) (\d+) layers?, (\d+) bytes in (\d+\.\d{3}) s, (\d+\.\d{2}) MB\/s\n/), r.stdout)
        XCTAssertEqual(String(m.1), "\(openHost)/single/app:1.0")
        XCTAssertEqual(String(m.2), want["digest"] as? String)
        XCTAssertEqual(Int(m.3), (want["layers"] as! [Any]).count)
        XCTAssertEqual(Int(m.4), layerBytes(want), "bytes = sum of the pushed layer sizes")
        XCTAssertGreaterThan(Double(m.5)!, 0)

        let j = try fetch(["--json", "--parallel", "1", "single/app@\(want["digest"] as! String)"], ["CR_BASE": fx.url])
        XCTAssertEqual(j.status, 0, j.stderr)
        XCTAssertEqual(lines(j.stdout).count, 1)
        let o = try parseJSON(j.stdout)
        XCTAssertEqual(o["manifestDigest"] as? String, want["digest"] as? String)
        XCTAssertEqual(o["bytes"] as? Int, layerBytes(want))
        XCTAssertEqual(o["layers"] as? Int, 2)
        XCTAssertEqual(o["platform"] as? String, "linux/amd64")
        XCTAssertEqual(o["registry"] as? String, fx.url)
        XCTAssertTrue(o["indexDigest"] is NSNull)
        XCTAssertNotNil(o["seconds"] as? Double)
        XCTAssertNotNil(o["megabytesPerSecond"] as? Double)
    }

    func testPlatformFromAnIndexPicksArm64() throws {
        let want = try fx.image("multi/app:1.0")
        let entries = want["manifests"] as! [[String: Any]]
        let arm = try XCTUnwrap(entries.first { ($0["platform"] as? [String: Any])?["architecture"] as? String == "arm64" })
        let amd = try XCTUnwrap(entries.first { ($0["platform"] as? [String: Any])?["architecture"] as? String == "amd64" })
        XCTAssertNotEqual(arm["digest"] as? String, amd["digest"] as? String)

        let r = try fetch(["--platform", "linux/arm64/v8", "--json", "multi/app:1.0"], ["CR_BASE": fx.url])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try parseJSON(r.stdout)
        XCTAssertEqual(o["manifestDigest"] as? String, arm["digest"] as? String)
        XCTAssertEqual(o["indexDigest"] as? String, want["digest"] as? String)
        XCTAssertEqual(o["platform"] as? String, "linux/arm64/v8")
        XCTAssertEqual(o["bytes"] as? Int, layerBytes(arm))

        let d = try fetch(["multi/app:1.0"], ["CR_BASE": fx.url])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stdout.contains(" \(amd["digest"] as! String) "), "default linux/amd64: \(d.stdout)")

        let none = try fetch(["--platform", "linux/s390x", "multi/app:1.0"], ["CR_BASE": fx.url])
        XCTAssertEqual(none.status, 1)
        XCTAssertEqual(lines(none.stderr).count, 1, none.stderr)
        XCTAssertTrue(none.stderr.contains("linux/s390x"), none.stderr)
    }

    func testMissingTagFailsWithTheRegistrysCode() throws {
        let r = try fetch(["single/app:nope"], ["CR_BASE": fx.url])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("MANIFEST_UNKNOWN"), r.stderr)
        XCTAssertTrue(r.stderr.contains(fx.url), "names the registry: \(r.stderr)")
    }

    func testReferenceCarryingItsRegistry() throws {
        let want = try fx.image("docker/app:1.0")
        for args in [["--plain-http", "\(openHost)/docker/app:1.0"], ["http://\(openHost)/docker/app:1.0"],
                     ["--plain-http", "\(openHost)/docker/app@\(want["digest"] as! String)"]] {
            let r = try fetch(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stdout.hasPrefix("\(openHost)/docker/app"), r.stdout)
            XCTAssertTrue(r.stdout.contains(" \(want["digest"] as! String) 2 layers, \(layerBytes(want)) bytes in "), r.stdout)
        }
        // Without --plain-http the registry is https, which the plain-http registry does not speak.
        let tls = try fetch(["\(openHost)/docker/app:1.0"])
        XCTAssertEqual(tls.status, 1)
        XCTAssertEqual(lines(tls.stderr).count, 1, tls.stderr)
        XCTAssertTrue(tls.stderr.contains("https://\(openHost)"), tls.stderr)
    }

    func testCredentialsAndCACertOverTLS() throws {
        let b = try XCTUnwrap(Self.basic)
        let ca = try XCTUnwrap(b.ca)
        let host = b.info["host"] as! String
        let want = try b.image("single/app:1.0")
        let good = try fetch(["\(host)/single/app:1.0"], ["CA_CERT": ca, "CR_USERNAME": b.username!, "CR_PASSWORD": b.password!])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(good.stdout.contains(" \(want["digest"] as! String) 2 layers, \(layerBytes(want)) bytes in "), good.stdout)

        // The CA from a certs.d root (as podman and skopeo keep it) instead of CA_CERT.
        let root = try makeTemporaryDirectory("certs.d")
        defer { try? FileManager.default.removeItem(at: root) }
        let hostDir = root.appendingPathComponent(host)
        try FileManager.default.createDirectory(at: hostDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca, toPath: hostDir.appendingPathComponent("ca.crt").path)
        let certsD = try fetch(["--json", "single/app:1.0"], ["CR_BASE": b.url, "REGISTRY_CERTS_DIRS": root.path,
                                                             "CR_USERNAME": b.username!, "CR_PASSWORD": b.password!])
        XCTAssertEqual(certsD.status, 0, certsD.stderr)
        XCTAssertEqual(try parseJSON(certsD.stdout)["manifestDigest"] as? String, want["digest"] as? String)

        let wrong = try fetch(["single/app:1.0"], ["CR_BASE": b.url, "CA_CERT": ca, "CR_USERNAME": b.username!, "CR_PASSWORD": "not-the-password",
                                                   "LOG_LEVEL": "debug"])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertEqual(wrong.stdout, "")
        let last = try XCTUnwrap(lines(wrong.stderr).last)
        XCTAssertTrue(last.hasPrefix("cr-agent fetch: \(b.url): "), "one line naming the registry: \(wrong.stderr)")
        XCTAssertTrue(last.contains("401"), String(last))
        XCTAssertFalse(wrong.stderr.contains("not-the-password"), "the password never reaches stderr")
        XCTAssertFalse(wrong.stderr.contains(b.password!))

        let anonymous = try fetch(["single/app:1.0"], ["CR_BASE": b.url, "CA_CERT": ca])
        XCTAssertEqual(anonymous.status, 1)
        XCTAssertEqual(lines(anonymous.stderr).count, 1, anonymous.stderr)
        XCTAssertTrue(anonymous.stderr.contains("CR_USERNAME"), anonymous.stderr)

        let untrusted = try fetch(["single/app:1.0"], ["CR_BASE": b.url, "CR_USERNAME": b.username!, "CR_PASSWORD": b.password!])
        XCTAssertEqual(untrusted.status, 1, "without CA_CERT the test CA is not trusted")
        XCTAssertEqual(lines(untrusted.stderr).count, 1, untrusted.stderr)
    }

    func testCorruptLayerFailsVerification() throws {
        let stub = try MisbehavingRegistry()
        defer { stub.stop() }
        let r = try fetch(["baddigest:latest"], ["CR_BASE": stub.url])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("cr-agent fetch: \(stub.url): integrity check failed: "), r.stderr)
        let layer = try XCTUnwrap((stub.image("baddigest")["layer"] as? [String: Any])?["digest"] as? String)
        XCTAssertTrue(r.stderr.contains(layer), r.stderr)
    }

    func testUsageAndConfigurationErrorsExitTwoWithOneLine() throws {
        let cases: [([String], [String: String], String)] = [
            ([], ["CR_BASE": fx.url], "reference"),
            (["--platform", "linux", "single/app:1.0"], ["CR_BASE": fx.url], "--platform"),
            (["--platform", "linux/amd64/v8/extra", "single/app:1.0"], ["CR_BASE": fx.url], "--platform"),
            (["--platform", "Linux/AMD64", "single/app:1.0"], ["CR_BASE": fx.url], "--platform"),
            (["--platform=linux//amd64", "single/app:1.0"], ["CR_BASE": fx.url], "--platform"),
            (["--platform"], ["CR_BASE": fx.url], "--platform"),
            (["--parallel", "0", "single/app:1.0"], ["CR_BASE": fx.url], "--parallel"),
            (["--parallel", "many", "single/app:1.0"], ["CR_BASE": fx.url], "--parallel"),
            (["--frobnicate", "single/app:1.0"], ["CR_BASE": fx.url], "--frobnicate"),
            (["single/app:1.0", "docker/app:1.0"], ["CR_BASE": fx.url], "one image reference"),
            (["single/app:1.0"], [:], "CR_BASE"),
            (["Single/App:1.0"], ["CR_BASE": fx.url], "repository"),
            (["\(openHost)/single/app:1.0"], ["CR_BASE": fx.url], "CR_BASE"),
            (["single/app:1.0"], ["CR_BASE": "ftp://\(openHost)"], "CR_BASE"),
            (["--plain-http", "single/app:1.0"], ["CR_BASE": "https://\(openHost)"], "--plain-http"),
            (["single/app:1.0"], ["CR_BASE": fx.url, "LOG_LEVEL": "chatty"], "LOG_LEVEL"),
            (["single/app:1.0"], ["CR_BASE": fx.url, "CR_PASSWORD": "secret-pw"], "CR_USERNAME"),
            (["single/app:1.0"], ["CR_BASE": fx.url, "CR_USERNAME": "someone"], "CR_PASSWORD"),
            (["single/app:1.0"], ["CR_BASE": fx.url, "CA_CERT": "/nonexistent/ca.pem"], "CA_CERT"),
        ]
        for (args, env, mentions) in cases {
            let r = try fetch(args, env)
            XCTAssertEqual(r.status, 2, "\(args) \(env): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
            XCTAssertEqual(lines(r.stderr).count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(mentions), "\(args) should mention \(mentions): \(r.stderr)")
        }
    }

    func testHelp() throws {
        let h = try fetch(["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("--platform os/arch[/variant]"), h.stdout)
        XCTAssertTrue(h.stdout.contains("CR_BASE"), h.stdout)
        let top = try runProcess(agentPath, ["--help"])
        XCTAssertTrue(top.stdout.contains("cr-agent fetch"), top.stdout)
    }

    /// A registry that accepts connections and never answers keeps the fetch waiting; SIGINT ends it with 130.
    func testSigintExits130() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let p = try BackgroundProcess(agentPath, ["fetch", "single/app:1.0"],
                                      environment: ["PATH": "/usr/bin:/bin", "CR_BASE": "http://127.0.0.1:\(port)", "LOG_LEVEL": "debug"])
        XCTAssertTrue(waitUntil(seconds: 10) { p.stderr.contains("\"msg\":\"fetching\"") || !p.process.isRunning }, p.stderr)
        XCTAssertTrue(p.process.isRunning, p.stderr)
        XCTAssertEqual(p.stop(signal: SIGINT), 130, p.stderr)
        XCTAssertEqual(p.stdout, "")
        XCTAssertTrue(p.stderr.hasSuffix("cr-agent fetch: interrupted before the fetch finished\n"), p.stderr)
    }

    /// The one credential chain: fetch takes the broker's CR_CREDENTIALS, and the Docker config file's
    /// entry for the registry's host (not another host's), against the htpasswd registry over TLS.
    func testCredentialsFromCRCredentialsAndTheDockerConfig() throws {
        let b = Self.basic!
        let host = b.info["host"] as! String
        let want = try b.image("single/app:1.0")
        let env = ["CR_BASE": b.url, "CA_CERT": b.ca!]
        let anonymous = try fetch(["single/app:1.0"], env)
        XCTAssertEqual(anonymous.status, 1, "the registry wants credentials: \(anonymous.stderr)")

        let json = #"{"type":"harbor-cr", "username":"\#(b.username!)", "password":"\#(b.password!)", "registryBase":"\#(b.url)"}"# + "\n"
        let broker = try fetch(["--json", "single/app:1.0"], env.merging(["CR_CREDENTIALS": Data(json.utf8).base64EncodedString(), "LOG_LEVEL": "debug"]) { $1 })
        XCTAssertEqual(broker.status, 0, broker.stderr)
        XCTAssertEqual(try parseJSON(broker.stdout)["manifestDigest"] as? String, want["digest"] as? String)
        XCTAssertFalse(broker.stderr.contains(b.password!), "the password is not logged")

        let dir = try makeTemporaryDirectory("docker-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let auth = Data("\(b.username!):\(b.password!)".utf8).base64EncodedString()
        for (key, status) in [("other.example:5000", Int32(1)), ("https://\(host)", Int32(0))] {
            try #"{"auths":{"\#(key)":{"auth":"\#(auth)"}}}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            let r = try fetch(["--json", "single/app:1.0"], env.merging(["DOCKER_CONFIG": dir.path]) { $1 })
            XCTAssertEqual(r.status, status, "entry for \(key): \(r.stderr)")
            if status == 0 { XCTAssertEqual(try parseJSON(r.stdout)["manifestDigest"] as? String, want["digest"] as? String) }
        }
    }

    /// SIGINT and SIGTERM while a layer trickles in from the misbehaving stub (one byte a second): 130
    /// and 143, nothing on stdout, the last line says which.
    func testSignalsWhileALayerTricklesExit130And143() throws {
        let stub = try MisbehavingRegistry()
        defer { stub.stop() }
        let host = "127.0.0.1:\(stub.info["port"] as! Int)"
        for (sig, status, word) in [(SIGINT, Int32(130), "interrupted"), (SIGTERM, Int32(143), "terminated")] {
            try stub.reset()
            let p = try BackgroundProcess(agentPath, ["fetch", "--plain-http", "\(host)/slow:latest"], environment: ["PATH": "/usr/bin:/bin"])
            XCTAssertTrue(waitUntil(seconds: 20) { ((try? stub.record()["slow_bytes_sent"] as? Int) ?? 0) >= 1 || !p.process.isRunning }, p.stderr)
            XCTAssertTrue(p.process.isRunning, p.stderr)
            XCTAssertEqual(p.stop(signal: sig), status, p.stderr)
            XCTAssertEqual(p.stdout, "")
            XCTAssertTrue(p.stderr.hasSuffix("cr-agent fetch: \(word) before the fetch finished\n"), p.stderr)
        }
    }
}

/// A socket on 127.0.0.1 that accepts connections (the kernel's backlog) and never answers: a registry
/// that keeps a command waiting. Its file descriptor (the caller closes it) and port.
func silentListener() throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, sa, &len) == 0
        }
    }
    guard bound else { close(fd); throw POSIXError(.EADDRNOTAVAIL) }
    return (fd, Int(UInt16(bigEndian: addr.sin_port)))
}
