// rpm's sqlite database (rpm 4.16+: Fedora, RHEL 9, ...): the `blob` column of the `Packages` table, read with
// libsqlite3 through a small read-only VFS whose reads go to `FileContents`, so a spooled database is neither
// copied to another file nor loaded whole into memory.
import CEpoll
import CSystemLibs
#if canImport(Glibc)
import Glibc
#endif

enum RpmSQLiteDatabase {
    /// Rows read from `Packages`, rejected ones (oversized, unreadable) included; the rest are not read.
    static let maxRows = RpmCataloger.maxPackages
    /// SQLite virtual-machine instructions one database may take (a sound one with 200,000 rows needs a few
    /// million); past it the read stops with a warning. Checked every `progressInterval` instructions, when
    /// the scan's stop flag is polled too.
    static let maxOperations = 100_000_000
    static let progressInterval: Int32 = 1000

    /// Calls `body` with the blob of every row of `Packages` until it returns false; sqlite errors and blobs
    /// larger than `maxBlobBytes` become warnings. The file is untrusted: it is opened read-only and
    /// immutable, in defensive mode with views, triggers, extensions and schema functions off, and refused
    /// unless `Packages` is a plain table and the file has no triggers.
    static func forEachBlob(_ contents: FileContents, maxBlobBytes: Int, maxRows: Int = maxRows,
                            maxOperations: Int = maxOperations, work: CatalogWork = CatalogWork(),
                            warnings: inout CatalogWarnings, _ body: (_ blob: [UInt8]) -> Bool) {
        if work.isStopped { return }
        let source = VFSSource(contents)
        let vfs = source.makeVFS()
        guard sqlite3_vfs_register(vfs, 0) == SQLITE_OK else {
            warnings.add("sqlite refused to register its reader")
            source.free(vfs)
            return
        }
        var db: OpaquePointer?
        let progress = Progress(operationsLeft: maxOperations, work: work)
        defer {
            sqlite3_close_v2(db)
            sqlite3_vfs_unregister(vfs)
            source.free(vfs)
            withExtendedLifetime(progress) {}
        }
        // immutable=1: no locks, no journal or WAL look-ups (the file is a snapshot from a layer).
        let rc = sqlite3_open_v2("file:rpmdb.sqlite?immutable=1", &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, vfs.pointee.zName)
        guard rc == SQLITE_OK, let db else {
            warnings.add("sqlite cannot open the database: \(db.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)")")
            return
        }
        for (verb, on, what) in [(CEP_SQLITE_DBCONFIG_DEFENSIVE, 1, "defensive mode"), (CEP_SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, "triggers off"),
                                 (CEP_SQLITE_DBCONFIG_ENABLE_VIEW, 0, "views off"), (CEP_SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, "untrusted schema"),
                                 (CEP_SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, "extensions off")] {
            var now: Int32 = -1
            guard cep_sqlite_db_config_flag(UnsafeMutableRawPointer(db), Int32(verb), Int32(on), &now) == SQLITE_OK, now == Int32(on) else {
                warnings.add("sqlite cannot be set to \(what); the database is not read")
                return
            }
        }
        // No value bigger than a header blob may be made (a generated column or a schema function).
        sqlite3_limit(db, SQLITE_LIMIT_LENGTH, Int32(clamping: max(maxBlobBytes, 1 << 20) * 2))
        sqlite3_progress_handler(db, progressInterval, { context in
            guard let context else { return 1 }
            return Unmanaged<Progress>.fromOpaque(context).takeUnretainedValue().tick()
        }, Unmanaged.passUnretained(progress).toOpaque())

        func stopped(_ what: String) -> Bool {
            if progress.cancelled { return true }
            if progress.exhausted {
                warnings.add("\(what) stopped: the database took more than \(maxOperations) sqlite operations")
                return true
            }
            return false
        }
        guard let refusal = schemaRefusal(db, source: source) else {
            if !stopped("reading the schema") { warnings.add("sqlite cannot read the schema: \(source.describe(String(cString: sqlite3_errmsg(db))))") }
            return
        }
        if !refusal.isEmpty {
            warnings.add("\(refusal); the database is not read")
            return
        }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT blob FROM Packages", -1, &statement, nil) == SQLITE_OK, let statement else {
            if !stopped("reading the Packages table") {
                warnings.add("sqlite cannot read the Packages table: \(source.describe(String(cString: sqlite3_errmsg(db))))")
            }
            return
        }
        defer { sqlite3_finalize(statement) }
        var row = 0
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else {
                if !stopped("reading row \(row + 1)") {
                    warnings.add("sqlite stopped after \(row) rows: \(source.describe(String(cString: sqlite3_errmsg(db))))")
                }
                break
            }
            guard row < maxRows else {
                warnings.add("more than \(maxRows) rows in Packages; the rest are not read")
                break
            }
            row += 1
            let count = Int(sqlite3_column_bytes(statement, 0))
            if work.count(1 + max(0, count)) { break }
            guard count <= maxBlobBytes else {
                warnings.add("row \(row): header blob of \(count) bytes is larger than \(maxBlobBytes); skipped")
                continue
            }
            // The column's bytes live only until the next step: copy them out now.
            let blob: [UInt8]
            if count > 0, let p = sqlite3_column_blob(statement, 0) {
                blob = Array(UnsafeRawBufferPointer(start: p, count: count))
            } else {
                blob = []
            }
            if !body(blob) { break }
        }
    }

    /// Why the schema is not read ("" when it is fine): `Packages` must be a plain table (a view may recurse
    /// forever; a generated column computes its value), and the file may hold no triggers. nil when sqlite
    /// cannot read the schema at all.
    private static func schemaRefusal(_ db: OpaquePointer, source: VFSSource) -> String? {
        var statement: OpaquePointer?
        let sql = "SELECT type, name FROM sqlite_master WHERE type = 'trigger' OR name = 'Packages' COLLATE NOCASE"
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { return nil }
        defer { sqlite3_finalize(statement) }
        var packagesType: String?
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { return nil }
            let type = text(statement, 0), name = text(statement, 1)
            if type == "trigger" { return "the database has a trigger (\(quoted(name))), which rpm never creates" }
            packagesType = type
        }
        guard let type = packagesType else { return "the database has no Packages table" }
        guard type == "table" else { return "Packages is a \(quoted(type)), not a table" }
        var columns: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_xinfo('Packages') WHERE hidden != 0", -1, &columns, nil) == SQLITE_OK,
              let columns else { return nil }
        defer { sqlite3_finalize(columns) }
        guard sqlite3_step(columns) == SQLITE_ROW else { return nil }
        if sqlite3_column_int64(columns, 0) != 0 { return "the Packages table has generated or hidden columns, which rpm never creates" }
        return ""
    }

    private static func text(_ statement: OpaquePointer, _ column: Int32) -> String {
        guard let p = sqlite3_column_text(statement, column) else { return "" }
        let n = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: min(n, 200)), as: UTF8.self)
    }

    private static func quoted(_ s: String) -> String { "\"" + s + "\"" }

    /// The progress handler's state: an operation budget and the scan's stop flag.
    private final class Progress {
        var operationsLeft: Int
        let work: CatalogWork
        var exhausted = false
        var cancelled = false

        init(operationsLeft: Int, work: CatalogWork) {
            self.operationsLeft = operationsLeft
            self.work = work
        }

        /// Non-zero interrupts the statement.
        func tick() -> Int32 {
            operationsLeft -= Int(RpmSQLiteDatabase.progressInterval)
            if work.count(Int(RpmSQLiteDatabase.progressInterval)) || work.isStopped { cancelled = true; return 1 }
            if operationsLeft <= 0 { exhausted = true; return 1 }
            return 0
        }
    }
}

/// The file behind the VFS: sqlite asks for byte ranges, `FileContents` answers them.
private final class VFSSource {
    let contents: FileContents
    var readError: ScanError?
    let methods: UnsafeMutablePointer<sqlite3_io_methods>

    init(_ contents: FileContents) {
        self.contents = contents
        methods = .allocate(capacity: 1)
        methods.initialize(to: VFSSource.ioMethods())
    }

    deinit {
        methods.deallocate()
    }

    /// An sqlite error message, with the read error behind it when there was one.
    func describe(_ message: String) -> String {
        readError.map { "\(message) (\($0))" } ?? message
    }

    /// A VFS (uniquely named after this source) whose `pAppData` is this source, retained until `free`.
    func makeVFS() -> UnsafeMutablePointer<sqlite3_vfs> {
        let unique = "cr-agent-rpmdb-\(UInt(bitPattern: ObjectIdentifier(self).hashValue))"
        let vfsName = strdup(unique)!
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: sqlite3_vfs())
        vfs.pointee.iVersion = 1
        vfs.pointee.szOsFile = Int32(MemoryLayout<sqlite3_file>.stride + MemoryLayout<UnsafeMutableRawPointer>.stride)
        vfs.pointee.mxPathname = 256
        vfs.pointee.zName = UnsafePointer(vfsName)
        vfs.pointee.pAppData = Unmanaged.passRetained(self).toOpaque()
        vfs.pointee.xOpen = { vfs, _, file, flags, outFlags in
            guard let vfs, let file, let app = vfs.pointee.pAppData else { return SQLITE_CANTOPEN }
            file.pointee.pMethods = nil
            // Only the database itself: no journals, WAL or temp files (nothing is written).
            guard flags & SQLITE_OPEN_MAIN_DB != 0 else { return SQLITE_CANTOPEN }
            UnsafeMutableRawPointer(file).storeBytes(of: app, toByteOffset: MemoryLayout<sqlite3_file>.stride,
                                                     as: UnsafeMutableRawPointer.self)
            file.pointee.pMethods = UnsafePointer(Unmanaged<VFSSource>.fromOpaque(app).takeUnretainedValue().methods)
            outFlags?.pointee = SQLITE_OPEN_READONLY
            return SQLITE_OK
        }
        vfs.pointee.xDelete = { _, _, _ in SQLITE_READONLY }
        vfs.pointee.xAccess = { _, _, _, result in
            result?.pointee = 0
            return SQLITE_OK
        }
        vfs.pointee.xFullPathname = { _, name, n, out in
            guard let name, let out, n > 0 else { return SQLITE_CANTOPEN }
            strncpy(out, name, Int(n) - 1)
            out[Int(n) - 1] = 0
            return SQLITE_OK
        }
        vfs.pointee.xRandomness = { _, n, out in
            if let out, n > 0 { memset(out, 0, Int(n)) }
            return n
        }
        vfs.pointee.xSleep = { _, microseconds in microseconds }
        vfs.pointee.xCurrentTime = { _, out in
            out?.pointee = 2440587.5 + Double(time(nil)) / 86400.0
            return SQLITE_OK
        }
        vfs.pointee.xGetLastError = { _, _, _ in 0 }
        return vfs
    }

    /// Releases what `makeVFS` allocated (after sqlite3_vfs_unregister).
    func free(_ vfs: UnsafeMutablePointer<sqlite3_vfs>) {
        if let app = vfs.pointee.pAppData { Unmanaged<VFSSource>.fromOpaque(app).release() }
        Glibc.free(UnsafeMutableRawPointer(mutating: vfs.pointee.zName))
        vfs.deinitialize(count: 1)
        vfs.deallocate()
    }

    static func source(_ file: UnsafeMutablePointer<sqlite3_file>?) -> VFSSource? {
        guard let file else { return nil }
        let app = UnsafeMutableRawPointer(file).load(fromByteOffset: MemoryLayout<sqlite3_file>.stride,
                                                     as: UnsafeMutableRawPointer.self)
        return Unmanaged<VFSSource>.fromOpaque(app).takeUnretainedValue()
    }

    static func ioMethods() -> sqlite3_io_methods {
        var m = sqlite3_io_methods()
        m.iVersion = 1
        m.xClose = { _ in SQLITE_OK }
        m.xRead = { file, buffer, amount, offset in
            guard let source = VFSSource.source(file), let buffer, amount >= 0, offset >= 0 else { return SQLITE_IOERR }
            let want = Int(amount)
            var bytes: [UInt8]
            do throws(ScanError) { bytes = try source.contents.read(offset: Int(offset), count: want) } catch {
                source.readError = error
                return SQLITE_IOERR
            }
            // rpm keeps its database in WAL mode (header bytes 18-19 = 2). This VFS has no shared memory, so
            // sqlite reads it as a rollback-journal database: the main file only. A WAL file's contents are
            // not seen (the rpm cataloger warns when a non-empty rpmdb.sqlite-wal exists).
            let o = Int(offset)
            if o <= 18, o + bytes.count >= 20, bytes[18 - o] == 2, bytes[19 - o] == 2 {
                bytes[18 - o] = 1
                bytes[19 - o] = 1
            }
            if !bytes.isEmpty { bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            if bytes.count < want {
                memset(buffer + bytes.count, 0, want - bytes.count)
                return 522   // SQLITE_IOERR_SHORT_READ
            }
            return SQLITE_OK
        }
        m.xWrite = { _, _, _, _ in SQLITE_READONLY }
        m.xTruncate = { _, _ in SQLITE_READONLY }
        m.xSync = { _, _ in SQLITE_OK }
        m.xFileSize = { file, size in
            guard let source = VFSSource.source(file) else { return SQLITE_IOERR }
            size?.pointee = sqlite3_int64(source.contents.count)
            return SQLITE_OK
        }
        m.xLock = { _, _ in SQLITE_OK }
        m.xUnlock = { _, _ in SQLITE_OK }
        m.xCheckReservedLock = { _, result in
            result?.pointee = 0
            return SQLITE_OK
        }
        m.xFileControl = { _, _, _ in SQLITE_NOTFOUND }
        m.xSectorSize = { _ in 4096 }
        m.xDeviceCharacteristics = { _ in SQLITE_IOCAP_IMMUTABLE }
        return m
    }
}
