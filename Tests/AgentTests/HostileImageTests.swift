// Hostile images built at test time (OCI layouts and docker-archives) scanned by the real `cr-agent scan`:
// each test states how the scan must end (exit 0 with a capped warning, or exit 1 with a precise error,
// or 130/143 on a signal), and never with a crash or a hang.
import Core
import Foundation
import TestSupport
import XCTest

final class HostileImageTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("hostile") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func scan(_ args: [String], env: [String: String] = [:], timeout: Double = 180) throws -> ProcessResult {
        try runProcess(agentExecutablePath, ["scan"] + args,
                       environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "SWIFT_BACKTRACE": "enable=no"].merging(env) { $1 },
                       timeout: timeout)
    }

    // MARK: point 1: sizes from the image never trap

    /// Descriptor sizes near Int.max (whose sum would pass it): exit 1, one line naming the size and its
    /// range. The manifest parser refuses any size past 1 TiB; the scanner's own checked sum stays behind it.
    func testDescriptorSizesSummingPastIntMaxAreAnError() throws {
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("sizes"))
        let fake = "sha256:" + String(repeating: "ab", count: 32)
        let big = Int.max - 10
        try layout.image(layers: [layout.layerDescriptor(digest: fake, size: big), layout.layerDescriptor(digest: fake, size: big)])
        let r = try scan(["oci:\(layout.root.path):hostile"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("size \(big) is outside 0...1099511627776"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)

        // One size at Int.max: refused the same way, never added to the config's size.
        try layout.image(layers: [layout.layerDescriptor(digest: fake, size: Int.max)])
        let one = try scan(["oci:\(layout.root.path):hostile"])
        XCTAssertEqual(one.status, 1, one.stderr)
        XCTAssertTrue(one.stderr.contains("size \(Int.max) is outside"), one.stderr)
    }

    /// A tar header whose base-256 size field is past Int.max: exit 1, the error names the size field.
    func testTarSizeFieldPastIntMaxIsAnError() throws {
        var field = [UInt8](repeating: 0xFF, count: 12)
        field[0] = 0x80                       // base-256, positive, 2^88 - 1: far past Int.max
        let tar = Tar.header("etc/huge", size: 0, rawSize: field) + Tar.end
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("tarsize"))
        try layout.image(layers: [layout.layer(tar)])
        let r = try scan(["oci:\(layout.root.path):hostile"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("invalid size field"), r.stderr)

        // A PAX `size` record past Int.max: the PAX header is malformed, and the record is named.
        let paxLayout = try OCILayoutBuilder(dir.appendingPathComponent("paxsize"))
        try paxLayout.image(layers: [paxLayout.layer(Tar.pax(["size": "99999999999999999999"]) + Tar.header("etc/huge", size: 0) + Tar.end)])
        let p = try scan(["oci:\(paxLayout.root.path):hostile"])
        XCTAssertEqual(p.status, 1, p.stderr)
        XCTAssertTrue(p.stderr.contains("malformed PAX extended header at byte 0: invalid size \"99999999999999999999\""), p.stderr)

        // The same member inside a docker-archive: refused while the archive is indexed.
        let archive = dir.appendingPathComponent("archive.tar")
        try Data(tar).write(to: archive)
        let a = try scan(["docker-archive:\(archive.path)"])
        XCTAssertEqual(a.status, 1, a.stderr)
        XCTAssertTrue(a.stderr.contains("invalid size field"), a.stderr)
    }

    // MARK: point 2: no recursion the input chooses

    /// 25,000 foreign layers and one real one: the scan loops over them (no stack overflow) and says so
    /// in exactly one warning. Then 25,000 copies of one layer with the cache on: 24,999 cache hits in a
    /// row, again without a frame per layer.
    func testTensOfThousandsOfForeignAndCachedLayers() throws {
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("many"))
        let real = try layout.layer(Tar.file("etc/os-release", Array("ID=debian\nVERSION_ID=12\n".utf8)) + Tar.end)
        let foreign = (0..<25_000).map { i in
            ["mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar",
             "digest": "sha256:" + String(format: "%064x", i), "size": 1] as [String: Any]
        }
        try layout.image(layers: foreign + [real])
        let r = try scan(["oci:\(layout.root.path):hostile"])
        XCTAssertEqual(r.status, 0, String(r.stderr.suffix(2000)))
        let warnings = r.stdout.split(separator: "\n").filter { $0.hasPrefix("Warning:") }
        XCTAssertEqual(warnings, ["Warning: 25000 foreign (non-distributable) layer(s) were not pulled; packages in them are not reported"])

        try layout.image(layers: Array(repeating: real, count: 25_000))
        let cached = try scan(["oci:\(layout.root.path):hostile"], env: ["SCAN_CACHE_DIR": dir.appendingPathComponent("cache").path])
        XCTAssertEqual(cached.status, 0, String(cached.stderr.suffix(2000)))
        XCTAssertTrue(cached.stdout.contains("debian 12"), String(cached.stdout.prefix(2000)))
    }

    // MARK: point 3: bounded findings

    /// 400 entries whose PAX paths are 600 KB each (240 MB of tar, ~0.3 MB gzipped): each is skipped with
    /// a warning, but at most 100 warnings of at most 1 KiB are kept, plus one summary; the process's
    /// peak resident memory stays under 100 MiB (kept whole, the warnings alone would be 240 MB).
    func testAFloodOfOverlongPAXPathsKeepsWarningsAndMemoryBounded() throws {
        var tar: [UInt8] = []
        let longName = String(repeating: "a", count: 600_000)
        for i in 0..<400 {
            tar += Tar.pax(["path": "\(longName)/\(i)"]) + Tar.header("x\(i)", size: 0)
        }
        tar += Tar.file("etc/os-release", Array("ID=alpine\nVERSION_ID=3.19.1\n".utf8)) + Tar.end
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("pax"))
        try layout.image(layers: [layout.layer(try gzip(tar), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip")])
        let (r, peakKiB) = try scanMeasuringPeakMemory(["oci:\(layout.root.path):hostile"])
        XCTAssertEqual(r.status, 0, String(r.stderr.suffix(2000)))
        let warnings = r.stdout.split(separator: "\n").filter { $0.hasPrefix("Warning:") }
        XCTAssertEqual(warnings.count, 101, "100 kept and one summary")
        XCTAssertTrue(warnings.allSatisfy { $0.utf8.count <= 1024 + "Warning: ".utf8.count }, "each warning cut to 1 KiB")
        XCTAssertTrue(warnings.last!.contains("300 more warning(s) not shown"), String(warnings.last!))
        XCTAssertTrue(r.stdout.contains("alpine 3.19.1") || r.stdout.contains("Alpine"), "the scan read on past the flood")
        XCTAssertLessThan(peakKiB, 100 * 1024, "peak RSS \(peakKiB) KiB")
        print("HostileImageTests: peak RSS of the PAX flood scan: \(peakKiB) KiB")
    }

    /// What an image says is shown on a terminal only without control characters: an os-release whose
    /// PRETTY_NAME clears the screen and retitles the window reaches the table as harmless `?`s, and an
    /// entry whose name carries escapes reaches the table's warnings as `?`s and the stderr log as
    /// `\u` escapes (8-bit CSI and bidi overrides included, which JSON alone would leave raw).
    func testControlCharactersFromTheImageNeverReachTheTerminal() throws {
        let hostile = "PRETTY_NAME=\"Evil\u{1B}]0;pwned\u{07}\u{1B}[2J\u{9B}31m\u{202E}txt.exe\"\nID=evil\nVERSION_ID=1\n"
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("ansi"))
        let climbing = Tar.header("../\u{1B}[2J\u{9B}0m\u{202E}name", size: 0)
        try layout.image(layers: [layout.layer(Tar.file("etc/os-release", Array(hostile.utf8)) + climbing + Tar.end)])
        let r = try scan(["oci:\(layout.root.path):hostile"], env: ["LOG_LEVEL": "warn"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Evil?]0;pwned??[2J?31m?txt.exe"), r.stdout)
        XCTAssertTrue(r.stdout.contains("tar entry /?[2J?0m?name climbs above the root"), r.stdout)
        XCTAssertTrue(r.stderr.contains(#"/\u001b[2J\u009b0m\u202ename climbs above the root"#), r.stderr)
        let unsafe: (Unicode.Scalar) -> Bool = { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B || $0.value == 0x202E }
        XCTAssertFalse(r.stdout.unicodeScalars.contains(where: unsafe))
        XCTAssertFalse(r.stderr.unicodeScalars.contains(where: unsafe))
    }

    // MARK: point 6: every scan can be stopped

    /// A layer of 15 GiB of zeros that gzip squeezes to ~15 MB keeps the reactor thread inflating for many
    /// seconds. SIGINT and SIGTERM stop it cooperatively (the stop is seen between 64 KiB of tar bytes,
    /// not after the layer): exit 130 and 143 with the scan's own message, not the watcher's fallback.
    func testSignalsStopABusyInflate() throws {
        let layout = try zerosImage()
        for (sig, status, name) in [(SIGINT, Int32(130), "SIGINT"), (SIGTERM, Int32(143), "SIGTERM")] {
            let p = try BackgroundProcess(agentExecutablePath, ["scan", "oci:\(layout.root.path):hostile"],
                                          environment: ["PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no"])
            // Busy: it has burnt half a second of CPU, so it is inflating, not starting up.
            XCTAssertTrue(waitUntil(seconds: 30) { cpuSeconds(p.process.processIdentifier) >= 0.5 }, "the scan never got busy")
            XCTAssertEqual(p.stop(signal: sig, seconds: 10), status, p.stderr)
            XCTAssertTrue(p.stderr.contains("interrupted by \(name) before the scan finished"), p.stderr)
            XCTAssertFalse(p.stderr.contains("did not stop"), "stopped by the scan itself, not the fallback: \(p.stderr)")
            XCTAssertEqual(p.stdout, "")
        }
    }

    /// A 60 MB dpkg status (about 150,000 stanzas) keeps the scan busy for seconds in the cataloger (parse,
    /// then one package per stanza), the merge and the report. One whole run gives the CPU time T the scan
    /// takes on this build and machine; SIGINT sent once later runs have used 0.15 T, 0.5 T and 0.9 T
    /// (cataloging, merging, writing the report) ends each with 130 and the scan's own line: never the 1 s
    /// fallback (a cataloger that does not poll), never exit 0 (a signal swallowed while the report is
    /// written). A run that finished before its point is not counted; two must be interrupted.
    func testSIGINTStopsABusyCatalogerAndTheReport() throws {
        var stanzas: [UInt8] = []
        for i in 0..<20_000 {
            stanzas += Array("Package: pkg\(i)\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: 1.\(i)\nMaintainer: A <a@b.c>\nDescription: x\n".utf8)
            stanzas += Array(repeating: Array(" a long description line\n".utf8), count: 12).flatMap { $0 } + [0x0A]
        }
        var status: [UInt8] = []
        while status.count + stanzas.count < 60_000_000 { status += stanzas }
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("dpkg"))
        try layout.image(layers: [layout.layer(Tar.file("var/lib/dpkg/status", status) + Tar.end)])
        status = []
        let report = dir.appendingPathComponent("report.json").path
        func start() throws -> BackgroundProcess {
            try BackgroundProcess(agentExecutablePath, ["scan", "--format", "json", "--output", report, "oci:\(layout.root.path):hostile"],
                                  environment: ["PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no"])
        }
        let whole = try start()
        var total = 0.0
        XCTAssertTrue(waitUntil(seconds: 300) {
            total = max(total, cpuSeconds(whole.process.processIdentifier))
            return !whole.process.isRunning
        })
        XCTAssertEqual(whole.stop(signal: SIGKILL), 0, whole.stderr)
        XCTAssertGreaterThan(total, 0.2, "the scan was too quick to interrupt")
        var interrupted = 0
        for fraction in [0.15, 0.5, 0.9] {
            let p = try start()
            XCTAssertTrue(waitUntil(seconds: 300) { cpuSeconds(p.process.processIdentifier) >= fraction * total || !p.process.isRunning })
            guard p.process.isRunning else {
                XCTAssertEqual(p.stop(signal: SIGKILL), 0, p.stderr)     // it finished first: fine
                continue
            }
            XCTAssertEqual(p.stop(signal: SIGINT, seconds: 10), 130, "at \(fraction) T: \(p.stderr)")
            XCTAssertTrue(p.stderr.contains("interrupted by SIGINT"), p.stderr)
            XCTAssertFalse(p.stderr.contains("did not stop"), "stopped by the scan itself, not the fallback: \(p.stderr)")
            interrupted += 1
        }
        XCTAssertGreaterThanOrEqual(interrupted, 2, "the scan finished too fast to be interrupted")
    }

    /// The same busy layer with a 300 ms SCAN_TIMEOUT_MS: exit 1 and the deadline named, on one line.
    func testTheDeadlineStopsABusyInflate() throws {
        let layout = try zerosImage()
        let r = try scan(["oci:\(layout.root.path):hostile"], env: ["SCAN_TIMEOUT_MS": "300"], timeout: 60)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "cr-agent scan: oci:\(layout.root.path):hostile: stopped after the 300 ms deadline (SCAN_TIMEOUT_MS)\n")
        XCTAssertEqual(r.stdout, "")
        let bad = try scan(["oci:\(layout.root.path):hostile"], env: ["SCAN_TIMEOUT_MS": "soon"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("SCAN_TIMEOUT_MS"), bad.stderr)
    }

    // MARK: helpers

    /// One layer: 240 gzip members of 64 MiB of zeros each (a gzip stream may hold many members),
    /// ~16 MB on disk, made and hashed by the shell's tools.
    func zerosImage() throws -> OCILayoutBuilder {
        let blob = dir.appendingPathComponent("zeros.gz")
        let made = try runProcess("/bin/sh", ["-c", "head -c 67108864 /dev/zero | gzip -9 > \(blob.path).1 && "
                                                    + "for i in $(seq 240); do cat \(blob.path).1; done > \(blob.path) && sha256sum \(blob.path)"], timeout: 120)
        XCTAssertEqual(made.status, 0, made.stderr)
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("zeros"))
        let hex = String(made.stdout.prefix(64))
        try FileManager.default.moveItem(at: blob, to: layout.root.appendingPathComponent("blobs/sha256/\(hex)"))
        let size = try FileManager.default.attributesOfItem(atPath: layout.root.appendingPathComponent("blobs/sha256/\(hex)").path)[.size] as! Int
        try layout.image(layers: [layout.layerDescriptor(digest: "sha256:" + hex, size: size, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip")])
        return layout
    }

    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let plain = dir.appendingPathComponent("layer-\(UUID().uuidString.prefix(6)).tar")
        try Data(bytes).write(to: plain)
        let r = try runProcess("gzip", ["-n", "-f", plain.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz")))
    }

    /// Runs the scan under Python, which reports the child's peak resident set (ru_maxrss, KiB).
    func scanMeasuringPeakMemory(_ args: [String]) throws -> (ProcessResult, Int) {
        let script = "import resource,subprocess,sys\nr=subprocess.run(sys.argv[1:])\nsys.stderr.write('\\npeak-rss-kib=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\nsys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)\n"
        let r = try runProcess(projectPython, ["-c", script, agentExecutablePath, "scan"] + args,
                               environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "SWIFT_BACKTRACE": "enable=no"], timeout: 300)
        let peak = r.stderr.firstMatch(of: /peak-rss-kib=(\d+)/).map { Int($0.1)! } ?? Int.max
        return (r, peak)
    }
}

/// Writes an OCI image layout by hand, so its descriptors may say what no real tool would write.
struct OCILayoutBuilder {
    let root: URL

    init(_ root: URL) throws {
        self.root = root
        try FileManager.default.createDirectory(at: root.appendingPathComponent("blobs/sha256"), withIntermediateDirectories: true)
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: root.appendingPathComponent("oci-layout"))
    }

    @discardableResult
    func blob(_ bytes: [UInt8]) throws -> (digest: String, size: Int) {
        let digest = SHA256.digest(bytes)
        try Data(bytes).write(to: root.appendingPathComponent("blobs/sha256/\(digest.dropFirst(7))"))
        return (digest, bytes.count)
    }

    func layerDescriptor(digest: String, size: Int, mediaType: String = "application/vnd.oci.image.layer.v1.tar") -> [String: Any] {
        ["mediaType": mediaType, "digest": digest, "size": size]
    }

    func layer(_ bytes: [UInt8], mediaType: String = "application/vnd.oci.image.layer.v1.tar") throws -> [String: Any] {
        let b = try blob(bytes)
        return layerDescriptor(digest: b.digest, size: b.size, mediaType: mediaType)
    }

    /// Writes the config (by default no diff_ids: the layers need not be hashed uncompressed), the
    /// manifest and an index naming it `hostile`.
    func image(layers: [[String: Any]], diffIDs: [String] = []) throws {
        let config = try JSONSerialization.data(withJSONObject: ["architecture": "amd64", "os": "linux",
                                                                 "rootfs": ["type": "layers", "diff_ids": diffIDs]] as [String: Any])
        let c = try blob([UInt8](config))
        let manifest = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": c.digest, "size": c.size],
            "layers": layers,
        ] as [String: Any])
        let m = try blob([UInt8](manifest))
        let index = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2,
            "manifests": [["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m.digest, "size": m.size,
                           "annotations": ["org.opencontainers.image.ref.name": "hostile"]]],
        ] as [String: Any])
        try index.write(to: root.appendingPathComponent("index.json"))
    }
}

/// Tar blocks written by hand (ustar headers, PAX records), including fields no archiver would write.
enum Tar {
    static let end = [UInt8](repeating: 0, count: 1024)

    /// A ustar header; `rawSize` replaces the 12-byte size field as is (base-256 experiments).
    static func header(_ name: String, size: Int, type: UInt8 = 0x30, rawSize: [UInt8]? = nil) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ at: Int) { for (k, b) in s.utf8.enumerated() { h[at + k] = b } }
        put(String(name.prefix(100)), 0)
        put("0000644", 100); put("0000000", 108); put("0000000", 116)
        if let rawSize { for k in 0..<12 { h[124 + k] = rawSize[k] } } else { put(String(format: "%011o", size), 124) }
        put("00000000000", 136)
        h[156] = type
        put("ustar", 257); put("00", 263)
        for k in 148..<156 { h[k] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o", sum), 148)
        h[154] = 0; h[155] = 0x20
        return h
    }

    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    static func file(_ name: String, _ data: [UInt8]) -> [UInt8] { header(name, size: data.count) + padded(data) }

    /// A PAX extended header ('x') with these records.
    static func pax(_ records: [String: String]) -> [UInt8] {
        var body: [UInt8] = []
        for (k, v) in records.sorted(by: { $0.key < $1.key }) {
            let rest = " \(k)=\(v)\n".utf8.count
            var n = rest + String(rest).count
            if String(n).count + rest != n { n = rest + String(n).count }
            body += Array("\(n) \(k)=\(v)\n".utf8)
        }
        return header("PaxHeader", size: body.count, type: 0x78) + padded(body)
    }
}
