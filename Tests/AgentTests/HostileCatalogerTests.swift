// Hostile inputs for the catalogers, built at test time: untrusted rpmdb.sqlite files (a recursive VIEW, a
// trigger, a generated column, more rows than the cap), adversarial inputs whose work must grow linearly
// (counted by `CatalogWork`, never timed: sizes N and 4N, growth at most 5x), sizes that overflow in binary
// headers, archives nested past the cap, and catalogers that stop soon after the scan is cancelled.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class HostileCatalogerTests: XCTestCase {
    nonisolated(unsafe) static var sqliteDir: URL?
    nonisolated(unsafe) static var sqliteError: String?
    /// Rows of many-rows.sqlite: one more than the cataloger reads.
    static let manyRows = RpmSQLiteDatabase.maxRows + 1

    override class func setUp() {
        super.setUp()
        do {
            let dir = try makeTemporaryDirectory("hostile-sqlite")
            let script = repositoryRoot.appendingPathComponent("Tests/catalogers/hostile/make-rpmdb-sqlite.py").path
            let r = try runProcess(projectPython, [script, dir.path, String(manyRows)], timeout: 300)
            if r.status == 0 { sqliteDir = dir } else { sqliteError = "make-rpmdb-sqlite.py failed: \(r.stdout)\(r.stderr)" }
        } catch {
            sqliteError = "make-rpmdb-sqlite.py: \(error)"
        }
    }

    override class func tearDown() {
        if let sqliteDir { try? FileManager.default.removeItem(at: sqliteDir) }
        super.tearDown()
    }

    func sqliteFile(_ name: String) throws -> [UInt8] {
        guard let dir = Self.sqliteDir else { throw MissingPrerequisite(Self.sqliteError ?? "no hostile sqlite files") }
        return Array(try Data(contentsOf: dir.appendingPathComponent(name)))
    }

    /// Catalogs `bytes` as the file at `path` with `cataloger`; the file (with its work counter) is returned too.
    func catalog(_ cataloger: any Cataloger, _ bytes: [UInt8], path: String, mode: UInt32 = 0o644,
                 cancellation: Cancellation = Cancellation()) -> (CatalogResult, CatalogFile) {
        let file = CatalogFile(entry: CatalogEntry(path: path, size: bytes.count, mode: mode), layerDigest: "sha256:hostile",
                               contents: .memory(bytes), cancellation: cancellation)
        return (cataloger.catalog(file), file)
    }

    // MARK: point 5: untrusted SQLite

    func testRecursiveViewNamedPackagesIsRefused() throws {
        let db = try sqliteFile("recursive-view.sqlite")
        XCTAssertEqual(db.count, 4096, "the headline file is one 4 KiB page")
        let (r, file) = catalog(RpmCataloger(), db, path: "/var/lib/rpm/rpmdb.sqlite")
        XCTAssertEqual(r.packages, [])
        XCTAssertEqual(r.warnings, ["/var/lib/rpm/rpmdb.sqlite: Packages is a \"view\", not a table; the database is not read"])
        XCTAssertLessThan(file.work.steps, 100_000)
    }

    func testTriggerIsRefusedByName() throws {
        let (r, _) = catalog(RpmCataloger(), try sqliteFile("trigger.sqlite"), path: "/usr/lib/sysimage/rpm/rpmdb.sqlite")
        XCTAssertEqual(r.packages, [])
        XCTAssertEqual(r.warnings, ["/usr/lib/sysimage/rpm/rpmdb.sqlite: the database has a trigger (\"evil_trigger\"), which rpm never creates; the database is not read"])
    }

    func testGeneratedColumnIsRefused() throws {
        let (r, _) = catalog(RpmCataloger(), try sqliteFile("generated.sqlite"), path: "/var/lib/rpm/rpmdb.sqlite")
        XCTAssertEqual(r.packages, [])
        XCTAssertEqual(r.warnings, ["/var/lib/rpm/rpmdb.sqlite: the Packages table has generated or hidden columns, which rpm never creates; the database is not read"])
    }

    /// A legitimate database with one row more than the cap: exactly the cap is read, with one warning.
    func testRowCapOnLegitimateDatabase() throws {
        let (r, _) = catalog(RpmCataloger(), try sqliteFile("many-rows.sqlite"), path: "/var/lib/rpm/rpmdb.sqlite")
        XCTAssertEqual(r.packages.count, RpmSQLiteDatabase.maxRows)
        XCTAssertEqual(r.packages.first?.name, "pkg-0")
        XCTAssertEqual(r.warnings, ["/var/lib/rpm/rpmdb.sqlite: more than \(RpmSQLiteDatabase.maxRows) rows in Packages; the rest are not read"])
    }

    /// Rejected rows count against the cap: 50 rows all larger than the blob limit, a cap of 10.
    func testRowCapCountsRejectedRows() throws {
        let db = try sqliteFile("many-rows.sqlite")
        var warnings = CatalogWarnings(path: "db", limit: 100)
        var delivered = 0
        RpmSQLiteDatabase.forEachBlob(.memory(db), maxBlobBytes: 4, maxRows: 10, warnings: &warnings) { _ in delivered += 1; return true }
        XCTAssertEqual(delivered, 0)
        XCTAssertEqual(warnings.lines.count, 11)
        XCTAssertEqual(warnings.lines.last, "db: more than 10 rows in Packages; the rest are not read")
    }

    func testOperationBudget() throws {
        let db = try sqliteFile("many-rows.sqlite")
        var warnings = CatalogWarnings(path: "db")
        var delivered = 0
        RpmSQLiteDatabase.forEachBlob(.memory(db), maxBlobBytes: 1 << 20, maxOperations: 50_000, warnings: &warnings) { _ in delivered += 1; return true }
        XCTAssertGreaterThan(delivered, 0)
        XCTAssertLessThan(delivered, 50_000)
        XCTAssertEqual(warnings.lines.count, 1)
        XCTAssertTrue(warnings.lines[0].hasSuffix("stopped: the database took more than 50000 sqlite operations"), warnings.lines[0])
    }

    func testSQLiteStopsWhenCancelled() throws {
        let db = try sqliteFile("many-rows.sqlite")
        let cancellation = Cancellation()
        var delivered = 0
        var warnings = CatalogWarnings(path: "db")
        let work = CatalogWork(cancellation: cancellation)
        RpmSQLiteDatabase.forEachBlob(.memory(db), maxBlobBytes: 1 << 20, work: work, warnings: &warnings) { _ in
            delivered += 1
            if delivered == 1000 { cancellation.cancel(.signal(15)) }
            return true
        }
        XCTAssertGreaterThanOrEqual(delivered, 1000)
        XCTAssertLessThan(delivered, 5000, "stopped within a few thousand rows of the signal")
        XCTAssertEqual(warnings.lines, [])
    }

    // MARK: point 4: work linear in the input (sizes N and 4N, growth at most 5x, and a per-byte bound)

    /// Runs `work(n)` for n and 4n; the work at 4n is at most 5x the work at n and at most `perByte` times
    /// the input's size.
    func assertLinear(_ what: String, n: Int, perByte: Int, _ work: (Int) -> (steps: Int, bytes: Int),
                      file: StaticString = #filePath, line: UInt = #line) {
        let small = work(n), large = work(4 * n)
        XCTAssertGreaterThan(small.steps, 0, what, file: file, line: line)
        let ratio = Double(large.steps) / Double(max(small.steps, 1))
        XCTAssertLessThanOrEqual(ratio, 5, "\(what): work grew \(ratio)x for 4x the input (\(small.steps) -> \(large.steps) steps)", file: file, line: line)
        XCTAssertLessThanOrEqual(large.steps, perByte * large.bytes, "\(what): \(large.steps) steps for \(large.bytes) bytes", file: file, line: line)
        print("linear: \(what): \(small.steps) -> \(large.steps) steps (\(ratio)x) for \(small.bytes) -> \(large.bytes) bytes")
    }

    /// `main.ver=` after `main.ver=` with no space: each start used to re-scan the rest of the run.
    func testGoLDFlagsMatcherIsLinear() {
        assertLinear("go ldflags", n: 3000, perByte: 40) { n in
            let flags = String(repeating: "m/x.ver=main.ver=a/", count: n)
            let work = CatalogWork()
            XCTAssertNil(GoMainModuleVersion.fromLDFlags(flags, mainModule: "m", work: work))
            return (work.steps, flags.utf8.count)
        }
        // A module path that nearly matches everywhere (KMP, not a compare at every start).
        assertLinear("go ldflags, long module", n: 3000, perByte: 40) { n in
            let module = String(repeating: "a", count: n)
            let flags = String(repeating: "a", count: 4 * n)
            let work = CatalogWork()
            XCTAssertNil(GoMainModuleVersion.fromLDFlags(flags, mainModule: module, work: work))
            return (work.steps, flags.utf8.count + module.utf8.count)
        }
    }

    /// One field with n continuation lines: the value used to be copied whole for each.
    func testPythonContinuationLinesAreLinear() {
        assertLinear("python METADATA continuation lines", n: 5000, perByte: 4) { n in
            let text = "Metadata-Version: 2.1\nName: x\nVersion: 1\nLicense: a\n" + String(repeating: " more license text\n", count: n)
            let work = CatalogWork()
            let fields = PythonCataloger.headerFields(Array(text.utf8), work: work) { _ in }
            XCTAssertEqual(fields["License"]?.utf8.count, 1 + n * 19)
            return (work.steps, text.utf8.count)
        }
    }

    /// A chain of n libraries where only the last claims a DLL: one walk per library used to be O(n^2).
    func testDotNetDependencyWalkIsLinear() {
        assertLinear(".NET deps.json chain", n: 1000, perByte: 1) { n in
            var target: [String] = [], libraries: [String] = []
            for i in 0..<n {
                let deps = i + 1 < n ? "\"dependencies\": {\"L\(i + 1)\": \"1.0\"}" : "\"runtime\": {\"L.dll\": {}}"
                target.append("\"L\(i)/1.0\": {\(deps)}")
                libraries.append("\"L\(i)/1.0\": {\"type\": \"package\"}")
            }
            let json = "{\"targets\": {\"t\": {\(target.joined(separator: ","))}}, \"libraries\": {\(libraries.joined(separator: ","))}}"
            let (r, file) = catalog(DotNetDepsCataloger(), Array(json.utf8), path: "/app/app.deps.json")
            XCTAssertEqual(r.packages.count, n)
            return (file.work.steps, json.utf8.count)
        }
    }

    /// n central-directory entries all naming one stored entry of n * 64 bytes: each used to be read again.
    func testZipEntriesSharingDataAreReadOnce() {
        assertLinear("zip entries sharing one entry's data", n: 256, perByte: 2) { n in
            let blob = [UInt8](repeating: 0x41, count: n * 64)
            let zip = Self.zip(entries: (0..<n).map { ("lib/x\($0).jar", blob) }, shareFirstData: true)
            let (r, file) = catalog(JavaArchiveCataloger(), zip, path: "/app/app.jar")
            XCTAssertEqual(r.warnings, ["/app/app.jar:lib/x0.jar: not read: no end-of-central-directory record (not a zip archive)",
                                        "/app/app.jar: entry lib/x1.jar skipped: its data is another entry's (read once only)",
                                        "/app/app.jar: \(n - 2) more entries sharing or overlapping other entries' data skipped"])
            return (file.work.steps, zip.count)
        }
    }

    /// A manifest of n named sections and n pom.properties of other artifacts: the archive's group ID, which
    /// reads every manifest section, used to be worked out again for each pom.
    func testJavaGroupIDIsWorkedOutOnce() {
        assertLinear("java group ID over many poms", n: 300, perByte: 4) { n in
            var entries = [("META-INF/MANIFEST.MF", Array(("Manifest-Version: 1.0\n\n" + (0..<n).map { "Name: s\($0)\nX: y\n\n" }.joined()).utf8))]
            for i in 0..<n { entries.append(("META-INF/maven/g/a\(i)/pom.properties", Array("groupId=g\nartifactId=a\(i)\nversion=1\n".utf8))) }
            let zip = Self.zip(entries: entries, shareFirstData: false)
            let (r, file) = catalog(JavaArchiveCataloger(), zip, path: "/app/app-1.0.jar")
            XCTAssertEqual(r.packages.count, n + 1)
            return (file.work.steps, zip.count)
        }
    }

    /// `a-a-a-...`: every separator used to scan the rest of the name.
    func testJavaFileNameIsLinear() {
        assertLinear("java archive file name", n: 20_000, perByte: 16) { n in
            let name = String(repeating: "a-", count: n) + "a"
            let work = CatalogWork()
            _ = JavaArchiveFilename("/lib/" + name + ".jar", work: work)
            return (work.steps, name.utf8.count)
        }
    }

    /// n sections all named at offset 0 of a NUL-free name table of 256n bytes.
    func testELFSectionNamesAreBounded() {
        assertLinear("ELF section names", n: 500, perByte: 2) { n in
            let elf = Self.elf(sections: n, nameTableBytes: 256 * n)
            let work = CatalogWork()
            do { _ = try ELFFile(.memory(elf), work: work) } catch { XCTFail("\(error)") }
            return (work.steps, elf.count)
        }
    }

    /// n writable segments mapping the same 1 MiB of the file at successive addresses, the first one claiming
    /// n MiB of memory: the Go build-info search used to read the file once per segment.
    func testGoBuildInfoSearchReadsTheFileOnce() {
        assertLinear("go build info search over aliased segments", n: 16, perByte: 2) { n in
            let elf = Self.elf(aliasedSegments: n, fileBytes: 1 << 20)
            let work = CatalogWork()
            let file = try? ELFFile(.memory(elf), work: work)
            XCTAssertNotNil(file)
            XCTAssertNil(file.flatMap { try? GoBuildInfo.read($0, work: work) })
            return (work.steps, elf.count)
        }
    }

    // MARK: point 1: sizes and counts from the bytes never trap

    func testOverflowingZipSizes() {
        // zip64 directory fields and an entry whose zip64 sizes and offset are all 2^64-1.
        var zip = Self.zip(entries: [("a.txt", Array("hello".utf8))], shareFirstData: false, zip64Extra: [.max, .max, .max])
        let (r, _) = catalog(JavaArchiveCataloger(), zip, path: "/app/a.jar")
        XCTAssertEqual(r.packages, [])
        XCTAssertTrue(r.warnings.contains { $0.contains("a.txt: sizes or offset out of range; skipped") }, "\(r.warnings)")
        // The end record's own sizes at their maximum.
        let eocd = zip.count - 22
        for k in 8..<20 { zip[eocd + k] = 0xFF }
        let (r2, _) = catalog(JavaArchiveCataloger(), zip, path: "/app/a.jar")
        XCTAssertTrue(r2.warnings.contains { $0.contains("not read") }, "\(r2.warnings)")
    }

    func testOverflowingRpmHeaderCounts() {
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 64)
        XCTAssertThrowsError(try RpmHeader.parse(huge)) { XCTAssertTrue("\($0)".contains("claims 4294967295 index entries"), "\($0)") }
        // NAME, VERSION, RELEASE and a LONGSIZE of 2^64-1.
        var data: [UInt8] = [], index: [UInt8] = []
        func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
        for (tag, value) in [(1000, "n"), (1001, "1"), (1002, "2")] {
            index += be32(UInt32(tag)) + be32(6) + be32(UInt32(data.count)) + be32(1)
            data += Array(value.utf8) + [0]
        }
        while data.count % 8 != 0 { data.append(0) }
        index += be32(5009) + be32(5) + be32(UInt32(data.count)) + be32(1)
        data += [UInt8](repeating: 0xFF, count: 8)
        let blob = be32(4) + be32(UInt32(data.count)) + index + data
        let info = try? RpmHeader.parse(blob)
        XCTAssertEqual(info?.name, "n")
        XCTAssertNil(info?.size)
        XCTAssertEqual(info?.problems, ["tag 5009 (LONGSIZE): 18446744073709551615 is out of range"])
    }

    func testOverflowingBerkeleyDBAndNDBFields() {
        // A hash meta page claiming 2^32-1 pages and buckets, with spares at their maximum.
        var meta = [UInt8](repeating: 0, count: 1024)
        func le32(_ v: UInt32, at o: Int) { withUnsafeBytes(of: v.littleEndian) { meta.replaceSubrange(o..<(o + 4), with: $0) } }
        le32(0x061561, at: 12); le32(9, at: 16); le32(512, at: 20); meta[25] = 8
        le32(.max, at: 32); le32(.max, at: 72)
        for k in 0..<32 { le32(.max, at: 96 + 4 * k) }
        let (bdb, _) = catalog(RpmCataloger(), meta, path: "/var/lib/rpm/Packages")
        XCTAssertEqual(bdb.packages, [])
        XCTAssertTrue(bdb.warnings.contains { $0.contains("names 4294967295 as the last page") }, "\(bdb.warnings)")
        XCTAssertTrue(bdb.warnings.contains { $0.contains("past the last page") }, "\(bdb.warnings)")

        // NDB: 2^32-1 slot pages, then one page whose slots name blocks at the top of the range.
        var ndb = [UInt8](repeating: 0, count: 8192)
        func put(_ v: UInt32, at o: Int) { withUnsafeBytes(of: v.littleEndian) { ndb.replaceSubrange(o..<(o + 4), with: $0) } }
        put(0x506D_7052, at: 0); put(.max, at: 12)
        let (many, _) = catalog(RpmCataloger(), ndb, path: "/var/lib/rpm/Packages.db")
        XCTAssertEqual(many.warnings, ["/var/lib/rpm/Packages.db: corrupt input: rpm NDB claims 4294967295 slot pages (1...2048 allowed)"])
        put(1, at: 12)
        for o in stride(from: 32, to: 4096, by: 16) { put(0x746F_6C53, at: o); put(1, at: o + 4); put(.max, at: o + 8); put(.max, at: o + 12) }
        let (slots, _) = catalog(RpmCataloger(), ndb, path: "/var/lib/rpm/Packages.db")
        XCTAssertEqual(slots.packages, [])
        XCTAssertTrue(slots.warnings.contains { $0.contains("points at blocks 4294967295+4294967295, outside the blob area") }, "\(slots.warnings)")
    }

    func testOverflowingELFOffsets() {
        var elf = Self.elf(sections: 1, nameTableBytes: 16)
        // e_phoff and e_shoff at 2^64-1, e_phnum 1.
        for k in 32..<48 { elf[k] = 0xFF }
        elf[56] = 1
        XCTAssertThrowsError(try ELFFile(.memory(elf))) { XCTAssertTrue("\($0)".contains("ELF header table past the end of the file"), "\($0)") }
        let (r, _) = catalog(GoBinaryCataloger(), elf, path: "/usr/bin/x", mode: 0o755)
        XCTAssertEqual(r.packages, [])
    }

    // MARK: point 2: archives nested past the cap

    func testNestedArchivesPastTheDepthCap() {
        // level6.jar inside level5.jar ... inside level0.jar, each with its own pom.properties.
        var inner: [UInt8] = []
        for level in stride(from: 6, through: 0, by: -1) {
            var entries = [("META-INF/MANIFEST.MF", Array("Manifest-Version: 1.0\n".utf8)),
                           ("META-INF/maven/org.example/level\(level)/pom.properties",
                            Array("groupId=org.example\nartifactId=level\(level)\nversion=1.\(level)\n".utf8))]
            if !inner.isEmpty { entries.append(("lib/level\(level + 1)-1.\(level + 1).jar", inner)) }
            inner = Self.zip(entries: entries, shareFirstData: false)
        }
        let (r, _) = catalog(JavaArchiveCataloger(), inner, path: "/app/level0-1.0.jar")
        XCTAssertEqual(r.packages.count, 4)
        XCTAssertEqual(Set(r.packages.map(\.name)), ["level0", "level1", "level2", "level3"])
        XCTAssertEqual(r.warnings.count, 1)
        XCTAssertTrue(r.warnings[0].hasSuffix("1 archive(s) inside not read: nested more than 3 deep"), r.warnings[0])
    }

    // MARK: point 6: catalogers stop soon after the scan is cancelled

    func testCatalogersStopWhenCancelled() {
        let stopped = Cancellation()
        stopped.cancel(.signal(2))
        let budget = 2 * CatalogWork.pollEvery + (1 << 16)
        // dpkg: 40,000 stanzas.
        let stanza = "Package: p\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n"
        let status = Array(String(repeating: stanza, count: 40_000).utf8)
        let (full, _) = catalog(DpkgCataloger(), status, path: "/var/lib/dpkg/status")
        XCTAssertEqual(full.packages.count, 40_000)
        let (dpkg, dpkgFile) = catalog(DpkgCataloger(), status, path: "/var/lib/dpkg/status", cancellation: stopped)
        XCTAssertLessThan(dpkg.packages.count, 2000)
        XCTAssertLessThanOrEqual(dpkgFile.work.steps, budget)
        // apk: the same walk.
        let apk = Array(String(repeating: "P:p\nV:1\n\n", count: 100_000).utf8)
        let (a, aFile) = catalog(ApkCataloger(), apk, path: "/lib/apk/db/installed", cancellation: stopped)
        XCTAssertLessThan(a.packages.count, 10_000)
        XCTAssertLessThanOrEqual(aFile.work.steps, budget)
        // Python metadata with a million continuation lines.
        let metadata = Array(("Name: x\nVersion: 1\nLicense: a\n" + String(repeating: " b\n", count: 1_000_000)).utf8)
        let (_, pyFile) = catalog(PythonCataloger(), metadata, path: "/site-packages/x-1.dist-info/METADATA", cancellation: stopped)
        XCTAssertLessThanOrEqual(pyFile.work.steps, budget)
        // A jar with 2,000 nested jars: none is opened.
        let jar = Self.zip(entries: (0..<2000).map { ("lib/x\($0).jar", [UInt8](repeating: 0, count: 100)) }, shareFirstData: false)
        let (j, jFile) = catalog(JavaArchiveCataloger(), jar, path: "/app/a.jar", cancellation: stopped)
        XCTAssertEqual(j.packages, [])
        XCTAssertLessThanOrEqual(jFile.work.steps, budget)
        // rpmdb.sqlite (the progress handler sees the flag).
        if let db = try? sqliteFile("many-rows.sqlite") {
            let (rpm, rpmFile) = catalog(RpmCataloger(), db, path: "/var/lib/rpm/rpmdb.sqlite", cancellation: stopped)
            XCTAssertEqual(rpm.packages.count, 0)
            XCTAssertLessThanOrEqual(rpmFile.work.steps, budget)
        }
    }

    // MARK: point 3: one file's result is bounded

    func testWarningsAndStringsAreCapped() {
        // 100,000 garbage lines in a dpkg status: 20 lines and a count; a 1 MB package name is cut.
        let garbage = String(repeating: "no colon here \u{1B}[31m\n", count: 100_000)
        let (r, _) = catalog(DpkgCataloger(), Array(garbage.utf8), path: "/var/lib/dpkg/status")
        XCTAssertEqual(r.warnings.count, 21)
        XCTAssertTrue(r.warnings.allSatisfy { $0.utf8.count <= CatalogCaps.maxWarningBytes && !$0.contains("\u{1B}") })
        let longName = String(repeating: "n", count: 1 << 20)
        let (big, _) = catalog(NpmCataloger(), Array("{\"name\": \"\(longName)\", \"version\": \"1\"}".utf8), path: "/app/package.json")
        XCTAssertEqual(big.packages.count, 1)
        XCTAssertEqual(big.packages.first?.name.utf8.count, CatalogCaps.maxFieldBytes)
        XCTAssertEqual(CatalogCaps.truncate("aé" + String(repeating: "b", count: 10), maxBytes: 5), "a...")
    }

    /// Application catalogers collect warnings as the package databases do (`CatalogWarnings`): a few lines
    /// and one count, each line naming the file.
    func testApplicationCatalogersCapWarningFloodsAsDatabasesDo() {
        let garbage = String(repeating: "not toml \u{1B}[31m\n", count: 100)
        let (cargo, _) = catalog(CargoLockCataloger(), Array(garbage.utf8), path: "/src/Cargo.lock")
        XCTAssertEqual(cargo.warnings, (1...4).map { "/src/Cargo.lock: line \($0): no '=' after the key" }
                                       + ["/src/Cargo.lock: 96 more warnings like these"])
        let (npm, _) = catalog(NpmCataloger(), Array("{\"name\":".utf8), path: "/app/package.json")
        XCTAssertEqual(npm.warnings.count, 1)
        XCTAssertTrue(npm.warnings[0].hasPrefix("/app/package.json: package.json skipped: "), npm.warnings[0])
        var warnings = CatalogWarnings(path: "/app/a.jar", limit: 2)
        for i in 1...5 { warnings.add("entry \(i) damaged", about: "/app/a.jar:lib/b.jar") }
        XCTAssertEqual(warnings.all, ["/app/a.jar:lib/b.jar: entry 1 damaged", "/app/a.jar:lib/b.jar: entry 2 damaged",
                                      "/app/a.jar: 3 more warnings like these"])
    }

    // MARK: hand-built inputs

    /// A zip of stored entries (CRC left 0: the reader does not check it). With `shareFirstData`, only the
    /// first entry's data is written and every central-directory entry points at it. `zip64Extra` gives
    /// every entry a zip64 extra field with these (uncompressed, compressed, offset) values.
    static func zip(entries: [(String, [UInt8])], shareFirstData: Bool, zip64Extra: [UInt64]? = nil) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian, Array.init) }
        var out: [UInt8] = [], central: [UInt8] = []
        var offsets: [Int] = []
        for (k, (name, data)) in entries.enumerated() {
            if shareFirstData, k > 0 { offsets.append(offsets[0]); continue }
            offsets.append(out.count)
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(data.count) + le32(data.count)
                + le16(name.utf8.count) + le16(0) + Array(name.utf8) + data
        }
        for (k, (name, data)) in entries.enumerated() {
            var extra: [UInt8] = []
            var sizes = (data.count, data.count, offsets[k])
            if let z = zip64Extra {
                extra = le16(1) + le16(24) + z.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
                sizes = (0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF)
            }
            central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(sizes.1) + le32(sizes.0) + le16(name.utf8.count) + le16(extra.count) + le16(0) + le16(0) + le16(0)
                + le32(0) + le32(sizes.2) + Array(name.utf8) + extra
        }
        let cdOffset = out.count
        out += central
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count) + le32(central.count) + le32(cdOffset) + le16(0)
        return out
    }

    /// A 64-bit little-endian ELF file of `fileBytes` bytes whose `segments` writable loadable segments all map
    /// the whole file, segment k at address k MiB; the first claims `segments` MiB of memory.
    static func elf(aliasedSegments segments: Int, fileBytes: Int) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        func le64(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(v).littleEndian, Array.init) }
        var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le16(2) + le16(62) + le32(1) + le64(0) + le64(64) + le64(0) + le32(0) + le16(64) + le16(56) + le16(segments)
            + le16(64) + le16(0) + le16(0)
        for k in 0..<segments {
            out += le32(1) + le32(2) + le64(0) + le64(k << 20) + le64(k << 20) + le64(fileBytes)
                + le64(k == 0 ? segments << 20 : fileBytes) + le64(4096)
        }
        out += [UInt8](repeating: 0, count: fileBytes - out.count)
        return out
    }

    /// A 64-bit little-endian ELF file with `sections` section headers, all named at offset 0 of one
    /// section-name table of `nameTableBytes` bytes with no NUL.
    static func elf(sections: Int, nameTableBytes: Int) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        func le64(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(v).littleEndian, Array.init) }
        let namesOffset = 64, shoff = 64 + nameTableBytes
        var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le16(2) + le16(62) + le32(1) + le64(0) + le64(0) + le64(shoff) + le32(0) + le16(64) + le16(56) + le16(0)
            + le16(64) + le16(sections) + le16(0)
        out += [UInt8](repeating: 0x61, count: nameTableBytes)
        for _ in 0..<sections {
            out += le32(0) + le32(3) + le64(0) + le64(0) + le64(namesOffset) + le64(nameTableBytes) + le32(0) + le32(0) + le64(1) + le64(0)
        }
        return out
    }
}
