// The README's first command as a newcomer runs it: scripts/demo.sh in a fresh `git clone` of this
// checkout's HEAD, with the binaries under test and the demo's image cache handed over by environment
// (no release build, no second mmdebstrap run). Its summary must agree with `cr-agent scan` of the same
// images, the reports folder must hold one report per image, and no process it started may outlive it,
// whether it ends by itself or by Ctrl-C.
import Foundation
import TestSupport
import XCTest

final class DemoTests: XCTestCase {
    /// One row of the printed summary: the columns are two or more spaces apart.
    struct Row {
        let image: String
        let os: String
        let packages: [String: Int]
    }

    var clone: URL!
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory("cr-demo")
        clone = scratch.appendingPathComponent("clone")
        let r = try runProcess("git", ["clone", "-q", repositoryRoot.path, clone.path], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        // The Python environment is shared as the worktrees share it (scripts/deps.sh --demo then only checks it).
        try FileManager.default.createSymbolicLink(at: clone.appendingPathComponent(".venv"),
                                                   withDestinationURL: repositoryRoot.appendingPathComponent(".venv"))
        // The binaries under test, side by side as scripts/build-release.sh leaves them.
        let bin = scratch.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("cr-agent").path, withDestinationPath: agentExecutablePath)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("broker").path, withDestinationPath: brokerExecutablePath)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        // The accuracy fixtures' cache of this checkout (read only): its Debian root spares a mmdebstrap run.
        env["CR_ACCURACY_CACHE"] = env["CR_ACCURACY_CACHE"] ?? repositoryRoot.appendingPathComponent(".build-accuracy").path
        return env.merging([
            "DEMO_RELEASE_DIR": scratch.appendingPathComponent("bin").path,
            // Kept in this checkout's state folder: built once (the Debian root taken from the accuracy
            // cache when it is there), reused by every later run.
            "DEMO_IMAGE_CACHE": repositoryRoot.appendingPathComponent(".build-demo/images").path,
            "SWIFT_BACKTRACE": "enable=no",
        ]) { $1 }
    }

    static func rows(_ stdout: String) -> [Row] {
        stdout.split(separator: "\n").filter { $0.hasPrefix("demo/") }.map { line in
            let cols = line.split(separator: /\s{2,}/).map(String.init)
            var packages: [String: Int] = [:]
            for item in (cols.count > 2 ? cols[2] : "").split(separator: ", ") {
                let parts = item.split(separator: " ")
                if parts.count == 2, let n = Int(parts[1]) { packages[String(parts[0])] = n }
            }
            return Row(image: cols[0], os: cols.count > 1 ? cols[1] : "", packages: packages)
        }
    }

    /// The OS and the packages per ecosystem of a snyk-docker-plugin scan result, each dep-graph's root
    /// (the image or the application target itself) left out.
    static func counts(_ result: [String: Any]) -> (os: String, packages: [String: Int]) {
        var os = "", packages: [String: Int] = [:]
        for sr in result["scanResults"] as? [[String: Any]] ?? [] {
            for fact in sr["facts"] as? [[String: Any]] ?? [] {
                if fact["type"] as? String == "imageOsReleasePrettyName" { os = fact["data"] as? String ?? os }
                guard fact["type"] as? String == "depGraph", let g = fact["data"] as? [String: Any],
                      let graph = g["graph"] as? [String: Any], let nodes = graph["nodes"] as? [[String: Any]],
                      let eco = (g["pkgManager"] as? [String: Any])?["name"] as? String else { continue }
                let root = nodes.first { $0["nodeId"] as? String == graph["rootNodeId"] as? String }?["pkgId"] as? String
                let n = (g["pkgs"] as? [[String: Any]] ?? []).filter { $0["id"] as? String != root }.count
                packages[eco, default: 0] += n
            }
        }
        return (os, packages)
    }

    /// Pids from the demo's pids.json that are still running (zombies count as gone), and any live process
    /// whose command line names the clone.
    func leftovers(started: Int = 5) throws -> [String] {
        var left: [String] = []
        let data = try Data(contentsOf: clone.appendingPathComponent(".build-demo/pids.json"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let pids = ((obj["parts"] as? [String: Int])?.values.map { $0 } ?? []) + (obj["others"] as? [Int] ?? [])
        XCTAssertEqual(pids.count, started, "registry harness, docker-registry, cr-agent, broker server, broker client: \(obj)")
        for pid in pids {
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] != "Z" {
                left.append("pid \(pid): \(stat.prefix(80))")
            }
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
            guard let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let cmdline = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            if cmdline.contains(clone.path) { left.append("pid \(entry): \(cmdline.prefix(200))") }
        }
        return left
    }

    func testTheDemoInAFreshCloneScansEveryImageThroughTheBrokerAsCrAgentScanDoes() throws {
        let started = Date()
        let r = try runProcess("/bin/bash", [clone.appendingPathComponent("scripts/demo.sh").path],
                               environment: environment, timeout: 1500)
        let seconds = Date().timeIntervalSince(started)
        print("DemoTests: the demo took \(String(format: "%.1f", seconds)) s")
        XCTAssertEqual(r.status, 0, "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr.suffix(4000))")
        let rows = Self.rows(r.stdout)
        XCTAssertEqual(Set(rows.map(\.image)), ["demo/debian:12", "demo/rocky-rpm:9.3", "demo/alpine-apk:3.19", "demo/shop-app:1.0"], r.stdout)
        XCTAssertTrue(r.stdout.contains("4 scanned, 0 failed"), r.stdout)
        XCTAssertTrue(r.stderr.contains("listed through /broker/<token>/list"), r.stderr)

        // One report per image (plus the summary), each the scan result the relay carried.
        let reports = clone.appendingPathComponent(".build-demo/reports")
        let files = try FileManager.default.contentsOfDirectory(atPath: reports.path).sorted()
        XCTAssertEqual(files, ["demo_alpine-apk_3.19.json", "demo_debian_12.json", "demo_rocky-rpm_9.3.json",
                               "demo_shop-app_1.0.json", "summary.json"])
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("summary.json"))) as? [String: Any])
        let images = try XCTUnwrap(summary["images"] as? [String: [String: String]])

        // The same images scanned directly, from the OCI layouts the demo built, package for package.
        for row in rows {
            let oci = try XCTUnwrap(images[row.image]?["oci_dir"], row.image)
            let scan = try runProcess(agentExecutablePath, ["scan", "--format", "json", "oci:\(oci)"], timeout: 300)
            XCTAssertEqual(scan.status, 0, scan.stderr)
            let direct = Self.counts(try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(scan.stdout.utf8)) as? [String: Any]))
            XCTAssertEqual(row.packages, direct.packages, "\(row.image): the demo's summary against cr-agent scan")
            XCTAssertEqual(row.os, direct.os, row.image)
            let name = row.image.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ":", with: "_") + ".json"
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent(name))) as? [String: Any])
            XCTAssertEqual(Self.counts(report).packages, direct.packages, "\(name) against cr-agent scan")
        }
        // What the builders put in: the demo is not empty where it must not be.
        let byImage = Dictionary(uniqueKeysWithValues: rows.map { ($0.image, $0.packages) })
        XCTAssertEqual(byImage["demo/alpine-apk:3.19"], ["apk": 17])
        XCTAssertEqual(byImage["demo/rocky-rpm:9.3"], ["rpm": 5])
        XCTAssertGreaterThan(byImage["demo/debian:12"]?["deb"] ?? 0, 80)
        XCTAssertEqual(byImage["demo/shop-app:1.0"]?["npm"], 4, "the application's node_modules")
        XCTAssertGreaterThanOrEqual(byImage["demo/shop-app:1.0"]?["pip"] ?? 0, 3, "the application's venv")
        XCTAssertGreaterThanOrEqual(byImage["demo/shop-app:1.0"]?["maven"] ?? 0, 2, "the application's jars")

        XCTAssertTrue(r.stderr.contains("none of their processes is left"), r.stderr)
        XCTAssertEqual(try leftovers(), [])
    }

    func testCtrlCStopsEveryPartTheDemoStarted() throws {
        var env = environment
        env["DEMO_KEEP_RUNNING"] = "1"   // after the summary everything keeps running until Ctrl-C
        let demo = try BackgroundProcess("/bin/bash", [clone.appendingPathComponent("scripts/demo.sh").path], environment: env)
        let up = waitUntil(seconds: 1200) { demo.stderr.contains("keeps running until Ctrl-C") || !demo.process.isRunning }
        XCTAssertTrue(up && demo.process.isRunning, "the demo did not get to its summary:\n\(demo.stderr.suffix(4000))")
        // The shell has exec'd the demo's Python: SIGINT to this pid is what Ctrl-C sends it.
        let status = demo.stop(signal: SIGINT, seconds: 60)
        XCTAssertEqual(status, 130, demo.stderr.suffix(2000).description)
        XCTAssertTrue(demo.stderr.contains("none of their processes is left"), demo.stderr.suffix(2000).description)
        XCTAssertEqual(try leftovers(), [])
    }

    func testAPartThatDoesNotComeUpIsOneLineWithItsLogAndStopsTheOthers() throws {
        // A broker that fails at once, on purpose: the step after the registry and the agent are up.
        let broker = scratch.appendingPathComponent("bin/broker")
        try FileManager.default.removeItem(at: broker)
        try "#!/bin/sh\necho \"broker: listen tcp: address already in use (a stand-in failing on purpose)\" >&2\nexit 3\n"
            .write(to: broker, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: broker.path)
        let r = try runProcess("/bin/bash", [clone.appendingPathComponent("scripts/demo.sh").path],
                               environment: environment, timeout: 1200)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("demo: broker server exited with status 3 before answering /healthcheck"), r.stderr)
        XCTAssertTrue(r.stderr.contains("address already in use (a stand-in failing on purpose)"), "the tail of its log: \(r.stderr)")
        XCTAssertEqual(Self.rows(r.stdout).count, 0, r.stdout)
        XCTAssertTrue(r.stderr.contains("none of their processes is left"), r.stderr)
        XCTAssertEqual(try leftovers(started: 4), [], "all but the broker client were started")
    }
}
