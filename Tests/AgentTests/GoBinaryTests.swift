// GoBinaryCataloger on real Go executables: one from a Debian package (age) and several built here by
// Debian's Go from a local module proxy (Tests/catalogers/app/go-binaries.sh) for amd64, 386, mips and
// ppc64; expectations from `go version -m` and git, never from our own parser. Also the pre-1.18 pointer
// format on a synthetic ELF, syft's ldflags rule against Python's `re`, and damaged binaries.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class GoBinaryTests: XCTestCase {
    let go = GoBinaryCataloger()

    /// The binaries built by go-binaries.sh (once per machine and version of the script).
    static let built: Result<String, Error> = {
        do {
            let script = repositoryRoot.appendingPathComponent("Tests/catalogers/app/go-binaries.sh").path
            let digest = SHA256.digest(Array(try Data(contentsOf: URL(fileURLWithPath: script))))
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("cr-agent-app-fixtures/go-\(digest.dropFirst(7).prefix(12))").path
            let r = try runProcess("/bin/bash", [script, out], timeout: 600)
            guard r.status == 0 else { throw NSError(domain: "go", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: "go-binaries.sh: \(r.stderr)"]) }
            return .success(out)
        } catch {
            return .failure(error)
        }
    }()

    /// `go version -m` of a built binary: the Go version and each `mod`/`dep` line with its `=>` line.
    struct GoVersionM {
        var goVersion = ""
        var modules: [(kind: String, path: String, version: String, sum: String, replace: [String]?)] = []
        var settings: [String: String] = [:]
    }

    func goVersionM(_ text: String) -> GoVersionM {
        var out = GoVersionM()
        for line in text.split(separator: "\n") {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if !line.hasPrefix("\t"), let colon = line.range(of: ": ") { out.goVersion = String(line[colon.upperBound...]); continue }
            guard cols.count >= 3 else { continue }
            switch cols[1] {
            case "mod", "dep":
                out.modules.append((cols[1], cols[2], cols.count > 3 ? cols[3] : "", cols.count > 4 ? cols[4] : "", nil))
            case "=>":
                out.modules[out.modules.count - 1].replace = Array(cols[2...])
            case "build":
                let kv = cols[2]
                if let eq = kv.firstIndex(of: "=") { out.settings[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]) }
            default: break
            }
        }
        return out
    }

    func scan(_ path: String, mode: UInt32 = 0o755) throws -> CatalogResult {
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let entry = CatalogEntry(path: "/usr/local/bin/" + (path as NSString).lastPathComponent, size: bytes.count, mode: mode)
        guard case .wholeIfPrefix(let prefix) = go.interest(in: entry), bytes.starts(with: prefix) else { return CatalogResult() }
        return go.catalog(CatalogFile(entry: entry, layerDigest: "sha256:go", contents: .memory(bytes)))
    }

    func testInterestIsExecutableELF() {
        XCTAssertEqual(go.interest(in: CatalogEntry(path: "/usr/bin/x", size: 5000, mode: 0o755)), .wholeIfPrefix([0x7F, 0x45, 0x4C, 0x46]))
        XCTAssertEqual(go.interest(in: CatalogEntry(path: "/usr/bin/x", size: 5000, mode: 0o100)), .wholeIfPrefix([0x7F, 0x45, 0x4C, 0x46]))
        XCTAssertEqual(go.interest(in: CatalogEntry(path: "/usr/lib/libx.so", size: 5000, mode: 0o644)), .none)
        XCTAssertEqual(go.interest(in: CatalogEntry(path: "/usr/bin/tiny", size: 10, mode: 0o755)), .none)
    }

    func testModulesOfBinariesBuiltHere() throws {
        let dir = try Self.built.get()
        let vcs = try String(contentsOfFile: dir + "/vcs.txt", encoding: .utf8).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let vcsTime = try XCTUnwrap(ISO8601DateFormatter().date(from: vcs[1]))
        let stamp = DateFormatter()
        stamp.dateFormat = "yyyyMMddHHmmss"
        stamp.timeZone = TimeZone(identifier: "UTC")
        let mainVersions = ["app-ldflags": "v1.4.2", "app-vcs": "v0.0.0-\(stamp.string(from: vcsTime))-\(vcs[0].prefix(12))"]
        let arches = ["app-386": "386", "app-mips": "mips", "app-ppc64": "ppc64", "app-stripped": "amd64", "app-ldflags": "amd64", "app-vcs": "amd64"]

        for (binary, arch) in arches {
            let oracle = goVersionM(try String(contentsOfFile: "\(dir)/\(binary).txt", encoding: .utf8))
            XCTAssertEqual(oracle.settings["GOARCH"], arch)
            let r = try scan("\(dir)/\(binary)")
            XCTAssertEqual(r.warnings, [], binary)
            var expected: [String] = []
            if let v = mainVersions[binary] { expected.append("example.org/app@\(v)") }
            // From go version -m: lib as is; other replaced by a module (reported under the replacement's
            // path); local replaced by a directory with no version (left out: syft would say UNKNOWN).
            let lib = try XCTUnwrap(oracle.modules.first { $0.path == "example.org/lib" })
            let other = try XCTUnwrap(oracle.modules.first { $0.path == "example.org/other" }?.replace)
            XCTAssertEqual(oracle.modules.first { $0.path == "example.org/local" }?.replace?.first, "./local")
            expected.append("example.org/lib@\(lib.version)")
            expected.append("\(other[0])@\(other[1])")
            expected.append("stdlib@\(oracle.goVersion)")
            XCTAssertEqual(Set(r.packages.map { "\($0.name)@\($0.version)" }), Set(expected), binary)
            XCTAssertEqual(r.packages.count, expected.count, binary)

            let libPkg = try XCTUnwrap(r.packages.first { $0.name == "example.org/lib" })
            XCTAssertEqual(libPkg.metadata["h1Digest"], lib.sum)
            XCTAssertEqual(Purl(package: libPkg, os: nil).description, "pkg:golang/example.org/lib@v1.2.3")
            XCTAssertEqual(libPkg.namespace, "example.org")
            XCTAssertEqual(libPkg.metadata["arch"], arch)
            XCTAssertEqual(libPkg.metadata["mainModule"], "example.org/app")
            XCTAssertEqual(r.packages.first { $0.name == "example.org/fork" }?.metadata["h1Digest"], other[2])
            let stdlib = try XCTUnwrap(r.packages.first { $0.name == "stdlib" })
            XCTAssertEqual(Purl(package: stdlib, os: nil).description, "pkg:golang/stdlib@\(oracle.goVersion.dropFirst(2))")
            XCTAssertTrue(r.packages.allSatisfy { $0.ecosystem == .golang && $0.location.path == "/usr/local/bin/\(binary)" })
        }
    }

    func testModuleLessBuildAndDebianBinary() throws {
        let dir = try Self.built.get()
        let nomod = goVersionM(try String(contentsOfFile: dir + "/nomod.txt", encoding: .utf8))
        XCTAssertEqual(try scan(dir + "/nomod").packages.map { "\($0.name)@\($0.version)" }, ["stdlib@\(nomod.goVersion)"],
                       "path only: the main module has no version (syft: UNKNOWN), the standard library is reported")

        let root = try debianFixtureRoot()
        let age = root + "/usr/bin/age"
        let oracle = goVersionM(try runProcess(try which("go"), ["version", "-m", age]).stdout)
        XCTAssertFalse(oracle.goVersion.isEmpty)
        let r = try scan(age)
        XCTAssertEqual(r.warnings, [])
        XCTAssertEqual(r.packages.map { "\($0.name)@\($0.version)" }, ["stdlib@\(oracle.goVersion)"], "Debian builds Go in GOPATH mode: no modules")
    }

    func testOtherELFFilesGiveNothing() throws {
        for path in ["/bin/ls", "/usr/bin/python3", "/lib/x86_64-linux-gnu/libc.so.6"] where FileManager.default.fileExists(atPath: path) {
            let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { $0.hasPrefix("/") ? $0 : (path as NSString).deletingLastPathComponent + "/" + $0 } ?? path
            let r = try scan(real)
            XCTAssertEqual(r.packages.count, 0, path)
            XCTAssertEqual(r.warnings, [], path)
        }
    }

    func testDamagedBinariesNeverCrash() throws {
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: try Self.built.get() + "/app-386")))
        let magic = try XCTUnwrap(GoBuildInfo.findBlob(bytes) ?? bytes.indices.first { bytes[$0] == 0xFF && Array(bytes[$0..<($0 + 14)]) == GoBuildInfo.magic })
        var cuts = [64, 100, 1000, bytes.count / 2, magic, magic + 20, magic + 40, magic + 200, bytes.count - 1]
        cuts += stride(from: 0, to: bytes.count, by: bytes.count / 40).map { $0 }
        for cut in cuts where cut < bytes.count {
            let r = catalogOne(go, path: "/bin/cut", Array(bytes[..<cut]), mode: 0o755)
            XCTAssertLessThanOrEqual(r.packages.count, 5)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var b = bytes
            for _ in 0..<8 {
                let at = Bool.random(using: &rng) ? Int.random(in: 0..<64, using: &rng) : magic + Int.random(in: 0..<600, using: &rng)
                b[at] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = catalogOne(go, path: "/bin/flipped", b, mode: 0o755)
        }
    }

    /// Go 1.17 and older: the header holds two pointers to Go string headers.
    func testPointerFormat() throws {
        for (is64, bigEndian) in [(true, false), (false, true)] {
            let mod = "path\tex.org/old\nmod\tex.org/old\tv0.9.0\th1:x=\ndep\tgolang.org/x/text\tv0.3.7\th1:y=\n"
            let sentinel = [UInt8](repeating: 0x30, count: 16)
            let modBytes = sentinel + Array(mod.utf8) + [UInt8](repeating: 0x31, count: 15) + [0x0A]
            let elf = SyntheticELF.pointerFormat(is64: is64, bigEndian: bigEndian, version: "go1.16.15", modinfo: modBytes)
            let r = catalogOne(go, path: "/bin/old", elf, mode: 0o755)
            XCTAssertEqual(r.warnings, [])
            XCTAssertEqual(r.packages.map { "\($0.name)@\($0.version)" }, ["ex.org/old@v0.9.0", "golang.org/x/text@v0.3.7", "stdlib@go1.16.15"],
                           "is64 \(is64) bigEndian \(bigEndian)")
        }
    }

    /// The fuzz seeds (Tests/catalogers/app/make-fuzz-corpus.py) are tiny ELF files with a `.go.buildinfo`
    /// section (inline format) or a pointer-format blob, little- and big-endian, 64- and 32-bit.
    func testFuzzSeedsAreGoBinaries() throws {
        let dir = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/elf").path
        let modules = ["ex.org/cmd@v1.2.3", "golang.org/x/text@v0.14.0", "ex.org/new@v1.1.0"]
        for (seed, goVersion) in [("inline-le64", "go1.22.1"), ("inline-be32", "go1.21.0"), ("pointer-le64", "go1.16.15"), ("pointer-be32", "go1.10")] {
            let r = try scan("\(dir)/\(seed)")
            XCTAssertEqual(r.warnings, [], seed)
            XCTAssertEqual(r.packages.map { "\($0.name)@\($0.version)" }, modules + ["stdlib@\(goVersion)"], seed)
        }
        // Every other file there is a regression the fuzzer found: it must just not crash.
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) { _ = try scan("\(dir)/\(f)") }
    }

    /// Module info far past the first 64 KiB of the segment (a binary with thousands of dependencies).
    func testLargeModuleInfo() throws {
        let deps = (0..<3000).map { "dep\tex.org/m\($0)\tv1.\($0).0\th1:\(String(repeating: "x", count: 44))=\n" }.joined()
        let mod = "path\tex.org/big\nmod\tex.org/big\tv9.9.9\t\n" + deps
        let modBytes = [UInt8](repeating: 0x30, count: 16) + Array(mod.utf8) + [UInt8](repeating: 0x31, count: 15) + [0x0A]
        XCTAssertGreaterThan(modBytes.count, 200_000)
        for (is64, bigEndian) in [(true, false), (false, true)] {
            let r = catalogOne(go, path: "/bin/big", SyntheticELF.inlineFormat(is64: is64, bigEndian: bigEndian, version: "go1.23.4", modinfo: modBytes), mode: 0o755)
            XCTAssertEqual(r.warnings, [])
            XCTAssertEqual(r.packages.count, 3002)
            XCTAssertEqual(r.packages.last.map { "\($0.name)@\($0.version)" }, "stdlib@go1.23.4")
            XCTAssertEqual(r.packages[2999].name, "ex.org/m2998")
        }
    }

    func testBuildInfoLines() throws {
        let text = "path\tex.org/cmd\nmod\tex.org/cmd\t(devel)\t\ndep\ta.org/x\tv1.0.0\th1:a=\n=>\tb.org/y\tv2.0.0\th1:b=\n" +
            "build\t-ldflags=\"-s -w -X 'main.Version=v3.1.0'\"\nbuild\t\"we ird\"=`raw value`\nbuild\tCGO_ENABLED=0\ndep\tlast.org/no-newline\tv1"
        let info = try GoBuildInfo.parse(text)
        XCTAssertEqual(info.path, "ex.org/cmd")
        XCTAssertEqual(info.main, GoModule(path: "ex.org/cmd", version: "(devel)", sum: ""))
        XCTAssertEqual(info.deps, [GoModule(path: "a.org/x", version: "v1.0.0", sum: "h1:a=", replace: [GoModule(path: "b.org/y", version: "v2.0.0", sum: "h1:b=")])],
                       "a last line without a newline is ignored, as in Go")
        XCTAssertEqual(info.setting("-ldflags"), "-s -w -X 'main.Version=v3.1.0'")
        XCTAssertEqual(info.setting("we ird"), "raw value")
        for bad in ["mod\tonly-one\n", "=>\ta\tb\tc\n", "dep\ta\tb\n=>\ta\tb\n", "build\tnoequals\n", "build\t=x\n", "build\tk=a b\n", "build\tk=\"unterminated\n"] {
            XCTAssertThrowsError(try GoBuildInfo.parse(bad), bad)
        }
        var p = GoBuildInfo()
        p.goVersion = "go1.21.0 X:boringcrypto"
        p.path = "ex.org/cmd"
        p.main = info.main
        p.settings = info.settings
        let pkgs = GoBinaryCataloger.packages(p, location: PackageLocation(layerDigest: "l", path: "/p"))
        XCTAssertEqual(pkgs.map { "\($0.name)@\($0.version)" }, ["ex.org/cmd@v3.1.0", "stdlib@go1.21.0"])
    }

    func testMainModuleFromADevelDependencyOrThePath() {
        var info = GoBuildInfo()
        info.goVersion = "go1.22.0"
        info.path = "command-line-arguments"
        info.main = GoModule(path: "command-line-arguments")
        info.deps = [GoModule(path: "ex.org/real", version: "(devel)"), GoModule(path: "ex.org/dep", version: "v1.0.0", sum: "h1:z=")]
        info.settings = [("-ldflags", "-X ex.org/real/internal/build.GitVersion=2.5.0-rc.1 -X main.commit=abc")]
        let pkgs = GoBinaryCataloger.packages(info, location: PackageLocation(layerDigest: "l", path: "/p"))
        // syft's version pattern stops at the first byte outside [-\\w]: `2.5.0-rc.1` gives `v2.5.0-rc`.
        XCTAssertEqual(pkgs.map { "\($0.name)@\($0.version)" }, ["ex.org/real@v2.5.0-rc", "ex.org/dep@v1.0.0", "stdlib@go1.22.0"])
    }

    /// syft's ldflags patterns, run by Python's `re` (the same backtracking semantics as Go's regexp
    /// for these patterns) on a table of flags; ours must agree on every row.
    func testLDFlagsVersionAgreesWithRegex() throws {
        let rows: [(String, String)] = [
            ("-X main.version=1.2.3", "ex.org/app"),
            ("-s -w -X main.Version=v1.2.3-rc.1+meta", "ex.org/app"),
            ("-X ex.org/app/internal/version.Version=4.5.6", "ex.org/app"),
            ("-X ex.org/app/cmd.gitVersion=v0.1.2 -X main.commit=deadbeef", "ex.org/app"),
            ("-X main.buildVersion=release/v7.8.9-abc_def", "ex.org/app"),
            ("-X main.tag=2.0.0", "ex.org/app"),
            ("-X main.Tag=refs/tags/v3.0.0", "ex.org/app"),
            ("-X main.ver=12.34.56.78", "ex.org/app"),
            ("-X main.version=1234.5", "ex.org/app"),
            ("-X main.version=dev", "ex.org/app"),
            ("-X other.org/x.version=1.2.3", "ex.org/app"),
            ("-X main.versionString=1.2.3", "ex.org/app"),
            ("-X ex.org/app.Version=1.2.3", "ex.org/app"),
            ("-X ex.org/app/a.b.c.version=9.9.9 -X main.version=1.1.1", "ex.org/app"),
            ("-X main.version=v1x2y3", "ex.org/app"),
            ("-X main.version=1.2.3 -X main.tag=4.5.6", "ex.org/app"),
            ("-X 'main.version=1.2.3'", "ex.org/app"),
            ("xmain.Version=0.0.1", ""),
            ("-X github.com/a/b/v2/pkg.Version=2.2.2", "github.com/a/b/v2"),
        ]
        try checkLDFlagsAgainstRegex(rows)
    }

    /// Random flags made of the pattern's own pieces (dots, slashes, `=`, digits, spaces, newlines, the module
    /// path): the linear matcher must give the backtracking regexp's answer on each.
    func testLDFlagsRandomFlagsAgreeWithRegex() throws {
        let pieces = ["main", ".", "ver", "Version", "tag", "=", "/", "1", "22", "3", " ", "\n", "v", "-", "x", "m/", "m", "_"]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        var rows: [(String, String)] = []
        for _ in 0..<600 {
            var flags = ""
            for _ in 0..<(4 + next(30)) { flags += pieces[next(pieces.count)] }
            rows.append((flags, ["m", "m/x", "main", ""][next(4)]))
        }
        try checkLDFlagsAgainstRegex(rows)
    }

    func checkLDFlagsAgainstRegex(_ rows: [(String, String)]) throws {
        let py = """
        import json, re, sys
        rows = json.load(sys.stdin)
        pats = [r'\\.[a-zA-Z0-9]*([rR]elease)?([gG]it)?([bB]uild)?[vV]er(sion)?=(\\S+/)*(?P<version>v?\\d+.\\d+.\\d+[-\\w]*)',
                r'\\.[a-zA-Z0-9]*([tT]ag)=(\\S+/)*(?P<version>v?\\d+.\\d+.\\d+[-\\w]*)']
        out = []
        for flags, mod in rows:
            v = None
            for p in pats:
                m = re.search('(main|%s\\\\/[^\\\\s]*)' % mod.replace('/', '\\\\/') + p, flags, re.ASCII)
                if m:
                    v = m.group('version')
                    break
            out.append(v)
        print(json.dumps(out))
        """
        let input = try JSONSerialization.data(withJSONObject: rows.map { [$0.0, $0.1] })
        let r = try runProcess("python3", ["-c", py], stdin: input)
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [Any])
        XCTAssertEqual(expected.count, rows.count)
        for (row, want) in zip(rows, expected) {
            XCTAssertEqual(GoMainModuleVersion.fromLDFlags(row.0, mainModule: row.1), want as? String, "\(row.0) (module \(row.1))")
        }
    }

    func testPseudoVersionTimestamp() {
        XCTAssertEqual(GoMainModuleVersion.pseudoTimestamp("2024-03-05T07:08:09Z"), "20240305070809")
        XCTAssertEqual(GoMainModuleVersion.pseudoTimestamp("2024-03-05T01:08:09+02:30"), "20240304223809")
        XCTAssertEqual(GoMainModuleVersion.pseudoTimestamp("2024-12-31T23:30:00.123456-01:00"), "20250101003000")
        XCTAssertEqual(GoMainModuleVersion.pseudoTimestamp("yesterday"), "00010101000000")
        XCTAssertEqual(GoMainModuleVersion.guess(ldflags: nil, mainModule: "m", revision: "0123456789abcdef", time: "2024-03-05T07:08:09Z"),
                       "v0.0.0-20240305070809-0123456789ab")
        XCTAssertNil(GoMainModuleVersion.guess(ldflags: "-s -w", mainModule: "m", revision: "0123", time: nil))
    }
}

/// A minimal ELF (no sections, one PT_LOAD) holding a pre-Go-1.18 build info blob: the 32-byte header
/// with two pointers to Go string headers, which point at the version and module-info bytes.
enum SyntheticELF {
    static func pointerFormat(is64: Bool, bigEndian: Bool, version: String, modinfo: [UInt8]) -> [UInt8] {
        elf(is64: is64, bigEndian: bigEndian, data: { base, w, put in
            var data: [UInt8] = []
            // Layout in the data segment: blob (32) | version string header | mod string header | bytes.
            let vHdr = 32, mHdr = 32 + 2 * w, vBytes = 32 + 4 * w
            let mBytes = vBytes + version.utf8.count
            data += [0xFF] + Array(" Go buildinf:".utf8) + [UInt8(w), bigEndian ? 1 : 0]
            put(base + UInt64(vHdr), w, &data)
            put(base + UInt64(mHdr), w, &data)
            data += [UInt8](repeating: 0, count: 32 - data.count)
            put(base + UInt64(vBytes), w, &data); put(UInt64(version.utf8.count), w, &data)
            put(base + UInt64(mBytes), w, &data); put(UInt64(modinfo.count), w, &data)
            return data + Array(version.utf8) + modinfo
        })
    }

    /// Go 1.18+: the 32-byte header with the inline flag, then varint-prefixed version and module info.
    static func inlineFormat(is64: Bool, bigEndian: Bool, version: String, modinfo: [UInt8]) -> [UInt8] {
        elf(is64: is64, bigEndian: bigEndian, data: { _, w, _ in
            func uvarint(_ v: Int) -> [UInt8] {
                var v = UInt64(v), out: [UInt8] = []
                repeat { out.append(UInt8(v & 0x7F) | (v > 0x7F ? 0x80 : 0)); v >>= 7 } while v > 0
                return out
            }
            var data = [0xFF] + Array(" Go buildinf:".utf8) + [UInt8(w), (bigEndian ? 1 : 0) | 2]
            data += [UInt8](repeating: 0, count: 16)
            return data + uvarint(version.utf8.count) + Array(version.utf8) + uvarint(modinfo.count) + modinfo
        })
    }

    /// An ELF file with one writable PT_LOAD at 0x400000 + 256 holding `data(base, pointer width, put)`.
    static func elf(is64: Bool, bigEndian: Bool, data makeData: (UInt64, Int, (UInt64, Int, inout [UInt8]) -> Void) -> [UInt8]) -> [UInt8] {
        let base: UInt64 = 0x400000
        let ehsize = is64 ? 64 : 52, phsize = is64 ? 56 : 32
        let dataOff = 256
        func put(_ v: UInt64, _ width: Int, into b: inout [UInt8]) {
            for k in 0..<width {
                let shift = bigEndian ? UInt64(8 * (width - 1 - k)) : UInt64(8 * k)
                b.append(UInt8(truncatingIfNeeded: v >> shift))
            }
        }
        let w = is64 ? 8 : 4
        let data = makeData(base + UInt64(dataOff), w) { v, width, b in put(v, width, into: &b) }

        var f: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, is64 ? 2 : 1, bigEndian ? 2 : 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        put(2, 2, into: &f); put(is64 ? 62 : 3, 2, into: &f); put(1, 4, into: &f)   // type, machine, version
        put(base, w, into: &f)                       // entry
        put(UInt64(ehsize), w, into: &f)             // phoff
        put(0, w, into: &f)                          // shoff
        put(0, 4, into: &f)                          // flags
        put(UInt64(ehsize), 2, into: &f); put(UInt64(phsize), 2, into: &f); put(1, 2, into: &f)
        put(is64 ? 64 : 40, 2, into: &f); put(0, 2, into: &f); put(0, 2, into: &f)
        // PT_LOAD, writable, not executable.
        if is64 {
            put(1, 4, into: &f); put(6, 4, into: &f); put(UInt64(dataOff), 8, into: &f); put(base + UInt64(dataOff), 8, into: &f)
            put(base + UInt64(dataOff), 8, into: &f); put(UInt64(data.count), 8, into: &f); put(UInt64(data.count), 8, into: &f); put(16, 8, into: &f)
        } else {
            put(1, 4, into: &f); put(UInt64(dataOff), 4, into: &f); put(base + UInt64(dataOff), 4, into: &f); put(base + UInt64(dataOff), 4, into: &f)
            put(UInt64(data.count), 4, into: &f); put(UInt64(data.count), 4, into: &f); put(6, 4, into: &f); put(16, 4, into: &f)
        }
        f += [UInt8](repeating: 0, count: dataOff - f.count)
        return f + data
    }
}
