// The rpm cataloger on real rpm databases: packages built with rpmbuild and installed with `rpm --justdb`
// (Debian's rpm 4.18 writes rpmdb.sqlite), rpm -qa as the oracle; the same header blobs re-stored as real
// BerkeleyDB hash files (db5.3_load: little- and big-endian, 512-byte pages, checksummed pages) and as NDB files
// written to rpm's layout by Tests/catalogers/os/rpmdb-convert.py (Debian's rpm has no NDB backend, so no NDB
// writer exists here). Every format must give rpm's own answer.
@testable import AgentKit
import Foundation
import TestSupport
import XCTest

final class RpmCatalogerTests: XCTestCase {
    nonisolated(unsafe) static var fixture: URL?
    nonisolated(unsafe) static var fixtureError: String?

    override class func setUp() {
        super.setUp()
        do {
            let dir = try makeTemporaryDirectory("rpmdb")
            let script = repositoryRoot.appendingPathComponent("Tests/catalogers/os/build-rpmdb.sh").path
            let r = try runProcess(script, [dir.path, projectPython], timeout: 120)
            if r.status == 0 { fixture = dir } else { fixtureError = "build-rpmdb.sh failed: \(r.stdout)\(r.stderr)" }
        } catch {
            fixtureError = "build-rpmdb.sh: \(error)"
        }
    }

    override class func tearDown() {
        if let fixture { try? FileManager.default.removeItem(at: fixture) }
        super.tearDown()
    }

    func fixtureFile(_ relative: String) throws -> [UInt8] {
        guard let dir = Self.fixture else { throw MissingPrerequisite(Self.fixtureError ?? "no fixture") }
        return Array(try Data(contentsOf: dir.appendingPathComponent(relative)))
    }

    /// rpm's own answer, one line per package, as the cataloger should report it:
    /// `name|version|arch|epoch|release|sourceRpm|license|vendor|size` (empty for absent values).
    func expected() throws -> [String] {
        guard let dir = Self.fixture else { throw MissingPrerequisite(Self.fixtureError ?? "no fixture") }
        let text = try String(contentsOf: dir.appendingPathComponent("expected.txt"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map { $0 == "(none)" ? "" : String($0) }
            let version = f[1].isEmpty ? "\(f[2])-\(f[3])" : "\(f[1]):\(f[2])-\(f[3])"
            return [f[0], version, f[4], f[1], f[3], f[5], f[6], f[7], f[8]].joined(separator: "|")
        }.sorted()
    }

    func describe(_ packages: [Package]) -> [String] {
        packages.map { p in
            let m = p.metadata
            return [p.name, p.version, m["arch"] ?? "", m["epoch"] ?? "", m["release"] ?? "", m["sourceRpm"] ?? "",
                    m["license"] ?? "", m["vendor"] ?? "", m["size"] ?? ""].joined(separator: "|")
        }.sorted()
    }

    /// Catalogs `bytes` as the file at `path`, through a spool file (random access, as large databases arrive).
    func catalog(_ bytes: [UInt8], path: String, spooled: Bool = true) throws -> CatalogResult {
        let contents: FileContents
        if spooled {
            let spool = try SpoolFile(budget: SpoolBudget(limit: 1 << 30))
            try bytes.withUnsafeBytes { try spool.append($0) }
            contents = .spool(spool)
        } else {
            contents = .memory(bytes)
        }
        let entry = CatalogEntry(path: path, size: bytes.count, mode: 0o644)
        XCTAssertEqual(RpmCataloger().interest(in: entry), .whole, path)
        return RpmCataloger().catalog(CatalogFile(entry: entry, layerDigest: "sha256:r1", contents: contents))
    }

    func testSQLiteMatchesRpmQuery() throws {
        let db = try fixtureFile("root/var/lib/rpm/rpmdb.sqlite")
        let want = try expected()
        XCTAssertEqual(want.count, 5, "four packages and a gpg-pubkey")
        for spooled in [true, false] {
            let r = try catalog(db, path: "/var/lib/rpm/rpmdb.sqlite", spooled: spooled)
            XCTAssertEqual(r.warnings, [])
            XCTAssertEqual(describe(r.packages), want)
            XCTAssertTrue(r.packages.allSatisfy { $0.ecosystem == .rpm && $0.location.path == "/var/lib/rpm/rpmdb.sqlite" })
        }
        // The rows the cases below rely on, in plain view.
        let r = try catalog(db, path: "/usr/lib/sysimage/rpm/rpmdb.sqlite")
        let byName = Dictionary(uniqueKeysWithValues: r.packages.map { ($0.name, $0) })
        XCTAssertEqual(byName["cr-alpha"]?.version, "1.2.3-4.el9")
        XCTAssertEqual(byName["cr-alpha"]?.metadata["arch"], "noarch")
        XCTAssertEqual(byName["cr-alpha"]?.metadata["vendor"], "Example Corp")
        XCTAssertEqual(byName["cr-beta"]?.version, "2:0.9-1")
        XCTAssertEqual(byName["cr-beta"]?.metadata["epoch"], "2")
        XCTAssertEqual(byName["cr-gamma"]?.version, "0:2024.01-7.fc40")
        XCTAssertEqual(byName["cr-gamma"]?.metadata["vendor"], "Ünïcödé Packaging Ltd")
        XCTAssertEqual(byName["cr-delta"]?.version, "10.0~rc1-0.1.20240101git")
        XCTAssertNil(byName["gpg-pubkey"]?.metadata["arch"])
        XCTAssertEqual(byName["gpg-pubkey"]?.metadata["license"], "pubkey")
    }

    func testBerkeleyDBHashFilesMatch() throws {
        let want = try expected()
        for variant in ["Packages", "Packages-be", "Packages-chksum"] {
            let r = try catalog(try fixtureFile("bdb/\(variant)"), path: "/var/lib/rpm/Packages")
            XCTAssertEqual(r.warnings, [], variant)
            XCTAssertEqual(describe(r.packages), want, variant)
        }
        // 512-byte pages, 50 copies of every header: 13 buckets, chained bucket pages, thousands of overflow pages.
        let r = try catalog(try fixtureFile("bdb/Packages-512"), path: "/usr/lib/sysimage/rpm/Packages")
        XCTAssertEqual(r.warnings, [])
        XCTAssertEqual(describe(r.packages), want.flatMap { Array(repeating: $0, count: 50) }.sorted())
        print("rpm: BerkeleyDB with 512-byte pages: \(r.packages.count) packages")
    }

    func testNDBFilesMatch() throws {
        let want = try expected()
        let r = try catalog(try fixtureFile("ndb/Packages.db"), path: "/var/lib/rpm/Packages.db")
        XCTAssertEqual(r.warnings, [])
        XCTAssertEqual(describe(r.packages), want)
        // 300 copies: two slot pages, free slots between used ones.
        let big = try catalog(try fixtureFile("ndb/Packages-300.db"), path: "/usr/lib/sysimage/rpm/Packages.db")
        XCTAssertEqual(big.warnings, [])
        XCTAssertEqual(describe(big.packages), want.flatMap { Array(repeating: $0, count: 300) }.sorted())
    }

    func testInterest() {
        let c = RpmCataloger()
        func interest(_ path: String, size: Int = 10) -> CatalogInterest { c.interest(in: CatalogEntry(path: path, size: size, mode: 0o644)) }
        for dir in ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/"] {
            for name in ["Packages", "Packages.db", "rpmdb.sqlite", "rpmdb.sqlite-wal"] { XCTAssertEqual(interest(dir + name), .whole, dir + name) }
            for name in ["Name", "Index.db", "rpmdb.sqlite-shm", "Packages.bak", ".rpm.lock"] { XCTAssertEqual(interest(dir + name), .none, dir + name) }
            XCTAssertEqual(interest(dir + "rpmdb.sqlite-wal", size: 0), .none)
        }
        XCTAssertEqual(interest("/var/lib/rpm/sub/Packages"), .none)
        XCTAssertEqual(interest("/root/.rpmdb/rpmdb.sqlite"), .none)
    }

    func testNonEmptyWALIsAWarning() throws {
        let r = try catalog(Array(repeating: 7, count: 4120), path: "/var/lib/rpm/rpmdb.sqlite-wal")
        XCTAssertEqual(r.packages, [])
        XCTAssertEqual(r.warnings, ["/var/lib/rpm/rpmdb.sqlite-wal: 4120 bytes of changes not yet checkpointed into rpmdb.sqlite; packages they install or remove are not seen"])
    }

    /// Every format, cut short at many points and with bytes flipped: warnings and whatever could be read,
    /// never a crash, never a package rpm did not list.
    func testDamagedDatabasesNeverCrash() throws {
        let want = Set(try expected())
        let cases: [(String, String)] = [("root/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite"),
                                         ("bdb/Packages", "/var/lib/rpm/Packages"),
                                         ("bdb/Packages-be", "/var/lib/rpm/Packages"),
                                         ("ndb/Packages.db", "/var/lib/rpm/Packages.db")]
        var rng = SystemRandomNumberGenerator()
        for (file, path) in cases {
            let bytes = try fixtureFile(file)
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 40)) {
                let r = try catalog(Array(bytes[0..<cut]), path: path, spooled: false)
                XCTAssertTrue(Set(describe(r.packages)).isSubset(of: want), "\(file) cut at \(cut)")
                XCTAssertLessThanOrEqual(r.warnings.count, 42)
            }
            for _ in 0..<40 {
                var damaged = bytes
                for _ in 0..<8 { damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                let r = try catalog(damaged, path: path, spooled: false)
                XCTAssertLessThanOrEqual(r.warnings.count, 42)
            }
        }
    }

    func testTruncatedBerkeleyDBReportsWhatItLost() throws {
        let bytes = try fixtureFile("bdb/Packages")
        let r = try catalog(Array(bytes[0..<(bytes.count / 2)]), path: "/var/lib/rpm/Packages")
        XCTAssertTrue(r.warnings.contains { $0.contains("truncated") }, "\(r.warnings)")
    }

    func testHeaderParserRejectsBadBlobs() throws {
        let db = try fixtureFile("ndb/Packages.db")
        var blobs: [[UInt8]] = []
        var warnings = CatalogWarnings(path: "x")
        try NDBPackages(.memory(db)).forEachBlob(maxBlobBytes: 1 << 20, warnings: &warnings) { blobs.append($0); return true }
        XCTAssertEqual(blobs.count, 5)
        let blob = blobs[0]
        XCTAssertNoThrow(try RpmHeader.parse(blob))
        // Every strict prefix: the preamble's counts no longer fit.
        for cut in 0..<blob.count {
            XCTAssertThrowsError(try RpmHeader.parse(Array(blob[0..<cut])), "prefix \(cut)")
        }
        func with(_ patch: (inout [UInt8]) -> Void) -> [UInt8] { var b = blob; patch(&b); return b }
        XCTAssertThrowsError(try RpmHeader.parse(with { $0[0] = 0xFF }))                 // index count far too large
        XCTAssertThrowsError(try RpmHeader.parse(with { $0[0...3] = [0, 0, 0, 0] }))     // no entries
        XCTAssertThrowsError(try RpmHeader.parse(with { $0[4] = 0x7F }))                 // data length past the blob
        // Find the NAME entry and point it outside the store: the header has no usable name.
        let il = Int(RpmDBBytes.u32be(blob, 0))
        let nameEntry = (0..<il).first { RpmDBBytes.u32be(blob, 8 + 16 * $0) == 1000 }!
        XCTAssertThrowsError(try RpmHeader.parse(with { $0[8 + 16 * nameEntry + 8] = 0x7F }))
        // A bad LICENSE offset only drops the license.
        let licenseEntry = (0..<il).first { RpmDBBytes.u32be(blob, 8 + 16 * $0) == 1014 }!
        let info = try RpmHeader.parse(with { $0[8 + 16 * licenseEntry + 8] = 0x7F })
        XCTAssertNil(info.license)
        XCTAssertEqual(info.problems.count, 1)
    }

    /// Hostile shapes that would make a naive reader loop or go quadratic: a header whose 65,535 entries all
    /// name one unterminated string, BerkeleyDB items sharing one overflow chain that loops, NDB slots that
    /// all name the same blob.
    func testCraftedInputsStayBounded() throws {
        var header: [UInt8] = [0x00, 0x00, 0xFF, 0xFF, 0x00, 0x10, 0x00, 0x00]      // il 65535, dl 1 MiB
        for _ in 0..<0xFFFF { header += [0, 0, 0x03, 0xF6, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1] }   // LICENSE, STRING, offset 0
        header += Array(repeating: 0x41, count: 1 << 20)
        var start = Date()
        XCTAssertThrowsError(try RpmHeader.parse(header))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)

        // BerkeleyDB: page 0 meta, page 1 the only bucket with 20 pairs whose values all start the overflow
        // chain 2 -> 3 -> ... -> 9 -> 2 (each page claiming no bytes), as long as the claimed item length.
        let size = 512
        var file = [UInt8](repeating: 0, count: size * 10)
        func put32(_ at: Int, _ v: UInt32) { for k in 0..<4 { file[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        func put16(_ at: Int, _ v: UInt16) { file[at] = UInt8(v & 0xFF); file[at + 1] = UInt8(v >> 8) }
        put32(12, 0x061561); put32(16, 9); put32(20, UInt32(size)); file[25] = 8
        put32(32, 9); put32(72, 0); put32(96, 1)                          // last page 9, max bucket 0, spares[0] = 1
        let p1 = size
        file[p1 + 25] = 13
        put16(p1 + 20, 40)
        var top = size
        for k in 0..<40 {
            if k % 2 == 0 {
                top -= 2; file[p1 + top] = 1; file[p1 + top + 1] = UInt8(k)                  // key: one byte
            } else {
                top -= 12; file[p1 + top] = 3; put32(p1 + top + 4, 2); put32(p1 + top + 8, 1 << 20)  // value: overflow
            }
            put16(p1 + 26 + 2 * k, UInt16(top))
        }
        for pg in 2...9 {
            file[pg * size + 25] = 7
            put32(pg * size + 16, pg == 9 ? 2 : UInt32(pg + 1))
        }
        start = Date()
        let r = try catalog(file, path: "/var/lib/rpm/Packages")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(r.packages, [])
        XCTAssertTrue(r.warnings.contains { $0.contains("reading stopped") }, "\(r.warnings)")

        var ndb = try fixtureFile("ndb/Packages.db")
        let firstSlot = Array(ndb[32..<48])
        for slot in 3..<256 { ndb.replaceSubrange((slot * 16)..<(slot * 16 + 16), with: firstSlot) }
        let n = try catalog(ndb, path: "/var/lib/rpm/Packages.db")
        XCTAssertLessThan(n.packages.count, 100)
        XCTAssertTrue(n.warnings.contains { $0.contains("overlapping slots") }, "\(n.warnings)")
    }
}
