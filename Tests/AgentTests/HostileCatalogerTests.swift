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
        var warnings = PackageDBWarnings(path: "db", limit: 100)
        var delivered = 0
        RpmSQLiteDatabase.forEachBlob(.memory(db), maxBlobBytes: 4, maxRows: 10, warnings: &warnings) { _ in delivered += 1; return true }
        XCTAssertEqual(delivered, 0)
        XCTAssertEqual(warnings.lines.count, 11)
        XCTAssertEqual(warnings.lines.last, "db: more than 10 rows in Packages; the rest are not read")
    }

    func testOperationBudget() throws {
        let db = try sqliteFile("many-rows.sqlite")
        var warnings = PackageDBWarnings(path: "db")
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
        var warnings = PackageDBWarnings(path: "db")
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
}
