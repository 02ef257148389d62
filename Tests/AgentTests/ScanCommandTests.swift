// `cr-agent scan` as users run it, against the real registry, an OCI layout and a docker-archive made
// from it by skopeo: formats, output file, exit codes and one-line errors.
import Core
import Foundation
import TestSupport
import XCTest

final class ScanCommandTests: XCTestCase {
    nonisolated(unsafe) static var fx: RegistryFixture?
    nonisolated(unsafe) static var archive: String?

    override class func setUp() {
        super.setUp()
        do {
            let f = try RegistryFixture.start(auth: "none", pushing: ["basic"])
            fx = f
            let file = f.dir.appendingPathComponent("single.tar").path
            let r = try runProcess("skopeo", ["copy", "--quiet", "oci:\(f.dir.path)/expected:single/app:1.0", "docker-archive:\(file):single/app:1.0"], timeout: 60)
            if r.status == 0 { archive = file } else { XCTFail("skopeo could not write a docker-archive: \(r.stderr)") }
        } catch {
            XCTFail("cannot start the registry: \(error)")
        }
    }

    override class func tearDown() {
        fx?.stop()
        super.tearDown()
    }

    var fx: RegistryFixture { Self.fx! }
    var host: String { fx.info["host"] as! String }
    var agent: String { agentExecutablePath }

    func scan(_ args: [String], env: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(agent, ["scan"] + args, environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"].merging(env) { $1 }, timeout: 120)
    }

    func expectedPackages() -> Set<String> { ["base-files 12.4+deb12u5", "libc6 2.36-9+deb12u4", "fixture-app 1.0.0"] }

    /// name + version pairs from the snyk JSON's depGraphs. The OS graph's root is the image itself
    /// (`docker-image|...`); an application graph's root is the application's own package.
    func packages(fromSnykJSON text: String) throws -> Set<String> {
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        var out = Set<String>()
        for result in json["scanResults"] as! [[String: Any]] {
            for fact in result["facts"] as! [[String: Any]] where fact["type"] as? String == "depGraph" {
                let graph = fact["data"] as! [String: Any]
                for p in graph["pkgs"] as! [[String: Any]] where !(p["id"] as! String).hasPrefix("docker-image|") {
                    let info = p["info"] as! [String: Any]
                    let name = (info["name"] as! String).split(separator: "/").last.map(String.init)!
                    out.insert("\(name) \(info["version"] as! String)")
                }
            }
        }
        return out
    }

    func testTableFromTheRegistry() throws {
        let r = try scan(["--plain-http", "\(host)/single/app:1.0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Debian GNU/Linux 12 (bookworm)"), r.stdout)
        XCTAssertTrue(r.stdout.range(of: #"libc6\s+2\.36-9\+deb12u4\s+deb\s+/var/lib/dpkg/status"#, options: .regularExpression) != nil, r.stdout)
        XCTAssertEqual(r.stderr, "", "nothing on stderr when not a terminal and nothing went wrong")
    }

    func testJSONIsTheSnykScanResultAndMatchesEverySource() throws {
        let fromRegistry = try scan(["--plain-http", "--format", "json", "docker://\(host)/single/app:1.0"])
        XCTAssertEqual(fromRegistry.status, 0, fromRegistry.stderr)
        XCTAssertEqual(try packages(fromSnykJSON: fromRegistry.stdout), expectedPackages())
        let fromLayout = try scan(["--format", "json", "oci:\(fx.dir.path)/expected:single/app:1.0"])
        XCTAssertEqual(fromLayout.status, 0, fromLayout.stderr)
        XCTAssertEqual(try packages(fromSnykJSON: fromLayout.stdout), expectedPackages())
        let archive = try XCTUnwrap(Self.archive)
        let fromArchive = try scan(["--format", "json", "docker-archive:\(archive)"])
        XCTAssertEqual(fromArchive.status, 0, fromArchive.stderr)
        XCTAssertEqual(try packages(fromSnykJSON: fromArchive.stdout), expectedPackages())
    }

    func testSBOMFormatsAreReproducibleAndGoToAFile() throws {
        let out = fx.dir.appendingPathComponent("bom.json").path
        let env = ["SOURCE_DATE_EPOCH": "1700000000"]
        let a = try scan(["--plain-http", "--format", "cyclonedx", "--output", out, "\(host)/single/app:1.0"], env: env)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, "", "the report went to the file")
        let first = try Data(contentsOf: URL(fileURLWithPath: out))
        let bom = try JSONSerialization.jsonObject(with: first) as! [String: Any]
        XCTAssertEqual(bom["specVersion"] as? String, "1.5")
        _ = try scan(["--plain-http", "--format", "cyclonedx", "--output", out, "\(host)/single/app:1.0"], env: env)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), first, "same input, same bytes")
        let spdx = try scan(["--plain-http", "--format", "spdx", "\(host)/single/app:1.0"], env: env)
        let doc = try JSONSerialization.jsonObject(with: Data(spdx.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(doc["spdxVersion"] as? String, "SPDX-2.3")
    }

    func testLayerFindingsCachedOnDiskAreUsedInsteadOfTheLayers() throws {
        // A private copy of the layout whose layer blobs are destroyed after the first (caching) scan.
        let copy = fx.dir.appendingPathComponent("layout-copy")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: fx.dir.appendingPathComponent("expected"), to: copy)
        let cache = fx.dir.appendingPathComponent("scan-cache").path
        let ref = "oci:\(copy.path):single/app:1.0"
        let first = try scan(["--format", "json", ref], env: ["SCAN_CACHE_DIR": cache])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)
        for layer in try fx.image("single/app:1.0")["layers"] as! [[String: Any]] {
            let hex = (layer["digest"] as! String).dropFirst(7)
            try Data("not a layer".utf8).write(to: copy.appendingPathComponent("blobs/sha256/\(hex)"))
        }
        let second = try scan(["--format", "json", ref], env: ["SCAN_CACHE_DIR": cache])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try packages(fromSnykJSON: second.stdout), expectedPackages())
        let uncached = try scan(["--format", "json", ref])
        XCTAssertEqual(uncached.status, 1, "without the cache the destroyed layers are read and fail")
    }

    /// With SCAN_CACHE_DIR, a registry image's config is kept beside its layers' findings (under a name
    /// that is not the digest, checked against the digest when read), and the rescan reports the same.
    func testARegistryRescanKeepsTheConfigBesideTheFindings() throws {
        let cache = fx.dir.appendingPathComponent("scan-cache-registry").path
        try? FileManager.default.removeItem(atPath: cache)
        let ref = "\(host)/single/app:1.0"
        let first = try scan(["--plain-http", "--format", "json", ref], env: ["SCAN_CACHE_DIR": cache])
        XCTAssertEqual(first.status, 0, first.stderr)
        let configDigest = try XCTUnwrap((try fx.image("single/app:1.0")["config"] as? [String: Any])?["digest"] as? String)
        let kept = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("config-") }
        XCTAssertEqual(kept.count, 1, "\(kept)")
        XCTAssertFalse(kept[0].contains(String(configDigest.dropFirst(7))), "the file name is not the digest")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: cache + "/" + kept[0])))
        XCTAssertEqual(SHA256.digest(bytes), configDigest)
        let second = try scan(["--plain-http", "--format", "json", ref], env: ["SCAN_CACHE_DIR": cache])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try packages(fromSnykJSON: second.stdout), try packages(fromSnykJSON: first.stdout))
        XCTAssertEqual(try packages(fromSnykJSON: second.stdout), expectedPackages())
    }

    func testFailuresAreOneLineWithTheRightExitCode() throws {
        let cases: [([String], [String: String], Int32, String)] = [
            (["--plain-http", "\(host)/single/app:9.9"], [:], 1, "MANIFEST_UNKNOWN"),
            (["--plain-http", "\(host)/chart/app:0.1.0"], [:], 1, "not a container image"),
            (["--plain-http", "\(host)/single/app:1.0"], ["SNYK_MAX_IMAGE_SIZE_IN_BYTES": "100"], 1, "over the 100-byte limit"),
            (["oci:/nonexistent/layout"], [:], 1, "/nonexistent/layout/index.json"),
            (["--format", "xml", "\(host)/single/app:1.0"], [:], 2, "--format"),
            (["--platform", "linux", "\(host)/single/app:1.0"], [:], 2, "--platform"),
            ([], [:], 2, "reference is required"),
            (["--frobnicate", "x"], [:], 2, "unknown option"),
            (["\(host)/single/app:1.0"], ["SNYK_MAX_IMAGE_SIZE_IN_BYTES": "lots"], 2, "SNYK_MAX_IMAGE_SIZE_IN_BYTES"),
            // Read as the service reads it: a bad cap is an error, not silently no cap.
            (["\(host)/single/app:1.0"], ["SCAN_CACHE_DIR": fx.dir.appendingPathComponent("bad-cap").path, "SCAN_CACHE_MAX_BYTES": "1GB"],
             2, "SCAN_CACHE_MAX_BYTES"),
            (["\(host)/single/app:1.0"], ["SCAN_CACHE_MAX_BYTES": "-1"], 2, "SCAN_CACHE_MAX_BYTES"),
            (["\(host)/single/app:1.0"], ["CR_CREDENTIALS": "%%%"], 2, "CR_CREDENTIALS"),
        ]
        for (args, env, status, needle) in cases {
            let r = try scan(args, env: env)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args): no report on failure")
        }
    }

    /// A layer declared gzip that is a plain tar: the magic bytes win, and the report says so.
    func testMagicBytesWinOverTheDeclaredMediaTypeWithAWarning() throws {
        let layout = fx.dir.appendingPathComponent("mislabelled")
        try? FileManager.default.removeItem(at: layout)
        try FileManager.default.copyItem(at: fx.dir.appendingPathComponent("expected"), to: layout)
        let image = try fx.image("plain/app:1.0")
        let manifestPath = layout.appendingPathComponent("blobs/sha256/\((image["digest"] as! String).dropFirst(7))")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestPath)) as! [String: Any]
        var layers = manifest["layers"] as! [[String: Any]]
        XCTAssertEqual(layers[0]["mediaType"] as? String, "application/vnd.oci.image.layer.v1.tar")
        layers[0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        manifest["layers"] = layers
        let bytes = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        let digest = SHA256.digest([UInt8](bytes))
        try bytes.write(to: layout.appendingPathComponent("blobs/sha256/\(digest.dropFirst(7))"))
        let index: [String: Any] = ["schemaVersion": 2, "manifests": [["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                                     "size": bytes.count, "annotations": ["org.opencontainers.image.ref.name": "mislabelled"]]]]
        try JSONSerialization.data(withJSONObject: index).write(to: layout.appendingPathComponent("index.json"))
        let r = try scan(["oci:\(layout.path):mislabelled"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Warning: layer \(((image["layers"] as! [[String: Any]])[0]["digest"] as! String)) is declared"), r.stdout)
        XCTAssertTrue(r.stdout.contains("but is an uncompressed tar"), r.stdout)
    }

    func testProgressIsDrawnOnlyOnATerminal() throws {
        // `script` runs the scan on a pseudo-terminal, so its stderr is a terminal there.
        let cmd = "\(agent) scan --plain-http --format json \(host)/single/app:1.0 >/dev/null"
        let onTerminal = try runProcess("script", ["-q", "-e", "-c", cmd, "/dev/null"], environment: ["PATH": "/usr/bin:/bin", "TERM": "dumb"])
        XCTAssertEqual(onTerminal.status, 0, onTerminal.stderr)
        XCTAssertTrue(onTerminal.stdout.contains("layer 1/2"), onTerminal.stdout)
        let piped = try scan(["--plain-http", "--format", "json", "\(host)/single/app:1.0"])
        XCTAssertFalse(piped.stderr.contains("layer 1/2"))
    }

    func testInterruptedScanExitsWith130() throws {
        let stub = try MisbehavingRegistry()
        defer { stub.stop() }
        try stub.reset()
        let host = stub.info["host"] as! String
        // The rate-limited image makes the scan wait (Retry-After: 1) after its first request.
        let p = try BackgroundProcess(agent, ["scan", "--plain-http", "\(host)/ratelimit:latest"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(waitUntil(seconds: 10) {
            ((try? stub.record())?["counters"] as? [String: Any])?["ratelimit"] as? Int ?? 0 >= 1
        }, "the scan never reached the registry")
        XCTAssertEqual(p.stop(signal: SIGINT), 130)
        XCTAssertTrue(p.stderr.contains("interrupted"), p.stderr)
        XCTAssertEqual(p.stdout, "")
    }

    func testACorruptLayerFailsTheScan() throws {
        let stub = try MisbehavingRegistry()
        defer { stub.stop() }
        let host = stub.info["host"] as! String
        let r = try scan(["--plain-http", "\(host)/baddigest:latest"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("integrity"), r.stderr)
    }
}
