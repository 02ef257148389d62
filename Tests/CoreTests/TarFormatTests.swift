// TarReader over archives written by real tools: Python's tarfile in GNU, PAX and USTAR formats (every
// entry type, long names and links, base-256 numbers, the ustar prefix), GNU tar's sparse files, and PAX
// global headers; each archive read at 1, 7, 512 and 65536-byte chunks with identical events.
import Core
import XCTest

final class TarFormatTests: XCTestCase {
    /// One entry of the fixture archives: what is stored, and what the reader must report.
    struct Spec {
        var name: String
        var type: String                // tarfile's type flag: "0" file, "5" dir, "2" symlink, "1" hardlink, "3", "4", "6"
        var path: String                // expected normalized path
        var link = ""
        var expectedLink = ""
        var size = 0
        var mode = 0o644
        var mtime = 1_700_000_000
        var uid = 0
        var gid = 0
        var dev = [0, 0]
        var formats: Set<String> = ["gnu", "pax", "ustar"]

        var kind: TarEntry.Kind {
            switch type {
            case "0": return .file
            case "5": return .directory
            case "2": return .symlink
            case "1": return .hardlink
            case "3": return .characterDevice
            case "4": return .blockDevice
            default: return .fifo
            }
        }
    }

    static let longDir = "./" + String(repeating: "d", count: 60) + "/" + String(repeating: "f", count: 80)
    static let veryLong = "./long/" + String(repeating: "x", count: 300)
    static let longTarget = "/" + String(repeating: "t", count: 150)

    static let specs: [Spec] = [
        Spec(name: "./", type: "5", path: "/", mode: 0o755),
        Spec(name: "./etc", type: "5", path: "/etc", mode: 0o755),
        Spec(name: "./etc/os-release", type: "0", path: "/etc/os-release", size: 40),
        Spec(name: "./usr/lib/x", type: "0", path: "/usr/lib/x", size: 1000, mode: 0o755),
        Spec(name: "./exact512", type: "0", path: "/exact512", size: 512),
        Spec(name: "./empty", type: "0", path: "/empty"),
        Spec(name: "./bin/sh", type: "2", path: "/bin/sh", link: "busybox", expectedLink: "busybox", mode: 0o777),
        Spec(name: "./bin/ls", type: "1", path: "/bin/ls", link: "./usr/lib/x", expectedLink: "/usr/lib/x", mode: 0o755),
        Spec(name: "./dev/null", type: "3", path: "/dev/null", mode: 0o666, dev: [1, 3]),
        Spec(name: "./dev/sda", type: "4", path: "/dev/sda", mode: 0o660, dev: [8, 0]),
        Spec(name: "./run/fifo", type: "6", path: "/run/fifo", mode: 0o600),
        Spec(name: longDir, type: "0", path: String(longDir.dropFirst()), size: 100),
        Spec(name: veryLong, type: "0", path: String(veryLong.dropFirst()), size: 10, formats: ["gnu", "pax"]),
        Spec(name: "./lnk", type: "2", path: "/lnk", link: longTarget, expectedLink: longTarget, mode: 0o777, formats: ["gnu", "pax"]),
        Spec(name: "./café/ñ.txt", type: "0", path: "/café/ñ.txt", size: 5),
        Spec(name: "./owned", type: "0", path: "/owned", size: 3, uid: 3_000_000, gid: 4_000_000, formats: ["gnu", "pax"]),
        Spec(name: "./old", type: "0", path: "/old", size: 1, mtime: -1000, formats: ["gnu", "pax"]),
        Spec(name: "usr//share/./doc/../man", type: "0", path: "/usr/share/man", size: 2),
        Spec(name: "/abs/file", type: "0", path: "/abs/file", size: 2),
        Spec(name: "./setuid", type: "0", path: "/setuid", mode: 0o4755),
        Spec(name: "./big", type: "0", path: "/big", size: 200_000),
    ]

    static let made = Result { () throws -> [String: [UInt8]] in
        var json: [[String: Any]] = []
        for s in specs {
            json.append(["name": s.name, "type": s.type, "link": s.link, "size": s.size, "mode": s.mode, "mtime": s.mtime,
                         "uid": s.uid, "gid": s.gid, "dev": s.dev, "formats": Array(s.formats)])
        }
        let spec = [UInt8](try JSONSerialization.data(withJSONObject: json))
        var files = try TarFixture.python("""
        import io, json, tarfile
        types = {'0': tarfile.REGTYPE, '5': tarfile.DIRTYPE, '2': tarfile.SYMTYPE, '1': tarfile.LNKTYPE,
                 '3': tarfile.CHRTYPE, '4': tarfile.BLKTYPE, '6': tarfile.FIFOTYPE}
        def contents(size, seed):
            return bytes((i * 31 + seed) & 0xff for i in range(size))
        spec = json.load(open('spec.json'))
        for fname, fmt in [('gnu', tarfile.GNU_FORMAT), ('pax', tarfile.PAX_FORMAT), ('ustar', tarfile.USTAR_FORMAT)]:
            with tarfile.open(fname + '.tar', 'w', format=fmt, encoding='utf-8') as t:
                for seed, e in enumerate(spec):
                    if fname not in e['formats']:
                        continue
                    ti = tarfile.TarInfo(e['name'])
                    ti.type = types[e['type']]
                    ti.linkname, ti.mode, ti.mtime, ti.uid, ti.gid = e['link'], e['mode'], e['mtime'], e['uid'], e['gid']
                    ti.devmajor, ti.devminor = e['dev']
                    data = contents(e['size'], seed) if ti.type == tarfile.REGTYPE else b''
                    ti.size = len(data)
                    t.addfile(ti, io.BytesIO(data) if data else None)
        # Global PAX headers: a harmless comment and mtime, and one that tries to set every entry's path.
        with tarfile.open('global.tar', 'w', format=tarfile.PAX_FORMAT, pax_headers={'comment': 'hi', 'mtime': '1234'}) as t:
            ti = tarfile.TarInfo('a'); ti.size = 1; t.addfile(ti, io.BytesIO(b'A'))
        with tarfile.open('global-path.tar', 'w', format=tarfile.PAX_FORMAT, pax_headers={'path': 'evil'}) as t:
            ti = tarfile.TarInfo('a'); ti.size = 1; t.addfile(ti, io.BytesIO(b'A'))
        """, inputs: ["spec.json": spec])
        // GNU tar's sparse files: old GNU 'S' with extension blocks (10 data regions > 4 in the header), and
        // PAX sparse formats 1.0, 0.1 and 0.0; each between two plain files.
        let sparse = try TarFixture.shell("""
        printf before > before && printf after > after &&
        python3 -c "
        f = open('sparse', 'wb')
        for k in range(10):
            f.seek(k * 1024 * 1024); f.write(bytes([65 + k]) * 4096)
        f.truncate(11 * 1024 * 1024)
        " &&
        tar --format=gnu --sparse -cf sparse-gnu.tar before sparse after &&
        tar --format=pax --sparse -cf sparse-pax10.tar before sparse after &&
        tar --format=pax --sparse-version=0.1 --sparse -cf sparse-pax01.tar before sparse after &&
        tar --format=pax --sparse-version=0.0 --sparse -cf sparse-pax00.tar before sparse after &&
        rm sparse before after
        """)
        files.merge(sparse) { a, _ in a }
        return files
    }

    func fixture(_ name: String) throws -> [UInt8] {
        try XCTUnwrap(try Self.made.get()[name], name)
    }

    /// The events a correct reader reports for `format`'s archive (header offsets left at 0).
    func expectedEvents(_ format: String) -> [TarRecorder.Event] {
        var events: [TarRecorder.Event] = []
        for (seed, s) in Self.specs.enumerated() where s.formats.contains(format) {
            events.append(.entry(TarEntry(path: s.path, kind: s.kind, linkName: s.expectedLink, size: s.size, mode: UInt32(s.mode),
                                          mtime: Int64(s.mtime), uid: s.uid, gid: s.gid)))
            if s.size > 0 { events.append(.data(TarCraft.contents(s.size, seed: seed))) }
            events.append(.end)
        }
        return events
    }

    func withoutOffsets(_ events: [TarRecorder.Event]) -> [TarRecorder.Event] {
        events.map { if case .entry(var e) = $0 { e.headerOffset = 0; return .entry(e) } else { return $0 } }
    }

    func checkFormat(_ format: String) throws {
        let outcome = TarOutcome.readAtEveryChunkSize(try fixture(format + ".tar"))
        XCTAssertNil(outcome.error)
        let got = withoutOffsets(outcome.events), want = expectedEvents(format)
        XCTAssertEqual(got.count, want.count, format)
        for (g, w) in zip(got, want) where g != w { XCTFail("\(format): got \(g), want \(w)") }
    }

    func testGNUFormatEveryEntryTypeLongNamesAndBase256() throws { try checkFormat("gnu") }

    func testPAXFormatPathLinkpathUidGidMtimeRecords() throws { try checkFormat("pax") }

    func testUSTARFormatWithTheNamePrefixField() throws { try checkFormat("ustar") }

    func testHeaderOffsetsPointAtEachEntrysFirstHeader() throws {
        let gnu = try fixture("gnu.tar")
        let entries = TarOutcome.read(gnu, chunk: 65536).entries
        XCTAssertEqual(entries.first?.headerOffset, 0)
        for e in entries {
            // Every offset starts a header block; a GNU long name's 'L' header comes first.
            XCTAssertEqual(e.headerOffset % 512, 0)
            let typeflag = gnu[e.headerOffset + 156]
            XCTAssertTrue(typeflag == UInt8(ascii: "L") || typeflag == UInt8(ascii: "K") || e.path.count < 100, e.path)
        }
        XCTAssertEqual(gnu[entries.first { $0.path.hasPrefix("/long/") }!.headerOffset + 156], UInt8(ascii: "L"))
    }

    func testGNUSparseFilesAreSkippedWithAWarningAndDoNotDisturbTheNextEntry() throws {
        for name in ["sparse-gnu.tar", "sparse-pax10.tar", "sparse-pax01.tar", "sparse-pax00.tar"] {
            let outcome = TarOutcome.readAtEveryChunkSize(try fixture(name))
            XCTAssertNil(outcome.error, name)
            XCTAssertEqual(outcome.entries.map(\.path), ["/before", "/after"], name)
            XCTAssertEqual(outcome.data("/before"), Array("before".utf8), name)
            XCTAssertEqual(outcome.data("/after"), Array("after".utf8), name)
            XCTAssertEqual(outcome.warnings, ["tar entry /sparse is a GNU sparse file; skipped (sparse files are not read)"], name)
        }
    }

    func testGlobalPAXHeadersSetDefaultsButNeverPaths() throws {
        let global = TarOutcome.readAtEveryChunkSize(try fixture("global.tar"))
        XCTAssertNil(global.error)
        XCTAssertEqual(global.entries.map(\.path), ["/a"])
        XCTAssertEqual(global.entries.first?.mtime, 1234)
        XCTAssertEqual(global.warnings, [])
        let evil = TarOutcome.readAtEveryChunkSize(try fixture("global-path.tar"))
        XCTAssertNil(evil.error)
        XCTAssertEqual(evil.entries.map(\.path), ["/a"])
        XCTAssertEqual(evil.warnings, ["global PAX header at byte 0 sets path, linkpath or size; ignored, as Docker and containerd ignore them"])
    }

    func testDataArrivesAsSlicesOfTheFedChunk() throws {
        let gnu = try fixture("gnu.tar")
        let reader = TarReader()
        var recorder = TarRecorder()
        try TarFixture.withBytes(gnu) { (all) throws(StreamError) in
            try reader.feed(all, to: &recorder)
            try reader.finish(&recorder)
            let range = UnsafeRawPointer(all.baseAddress!)..<(UnsafeRawPointer(all.baseAddress!) + all.count)
            XCTAssertFalse(recorder.dataPointers.isEmpty)
            XCTAssertTrue(recorder.dataPointers.allSatisfy { range.contains($0) }, "data was copied")
        }
        XCTAssertTrue(reader.reachedEnd)
        XCTAssertEqual(reader.bytesRead, gnu.count)
        XCTAssertEqual(reader.entryCount, expectedEvents("gnu").filter { if case .entry = $0 { return true } else { return false } }.count)
    }

    func testSkippedDataStillEndsEachEntry() throws {
        let outcome = TarOutcome.readAtEveryChunkSize(try fixture("pax.tar")) { $0.path == "/big" || $0.path == "/usr/lib/x" }
        XCTAssertNil(outcome.error)
        let expected = withoutOffsets(expectedEvents("pax")).enumerated().filter { k, e in
            if case .data = e, k > 0, case .entry(let entry) = expectedEvents("pax")[k - 1] { return entry.path != "/big" && entry.path != "/usr/lib/x" }
            return true
        }.map(\.1)
        XCTAssertEqual(withoutOffsets(outcome.events), expected)
    }
}
