// TarReader on hand-made bytes: sizes past 8 GiB, V7 headers and signed checksums, corrupt and truncated
// archives, zero blocks, header-only types, path normalization and escapes, limits, and odd type flags.
import Core
import XCTest

final class TarEdgeCaseTests: XCTestCase {
    typealias Craft = TarCraft

    func testPathNormalizationTable() {
        let table: [(String, String, Bool)] = [
            ("a/b", "/a/b", false), ("./a/b", "/a/b", false), ("/a/b/", "/a/b", false), ("a//b///c", "/a/b/c", false),
            ("./", "/", false), (".", "/", false), ("", "/", false), ("a/./b/.", "/a/b", false), ("a/b/../c", "/a/c", false),
            ("../etc/passwd", "/etc/passwd", true), ("a/../../b", "/b", true), ("/..", "/", true), ("a/..", "/", false),
            ("..a/b..", "/..a/b..", false), ("./.wh..wh..opq", "/.wh..wh..opq", false),
        ]
        for (raw, path, escapes) in table {
            let n = TarPath.normalize(raw)
            XCTAssertEqual(n.path, path, raw)
            XCTAssertEqual(n.escapesRoot, escapes, raw)
        }
    }

    func testEscapingPathsAreClampedFlaggedAndWarned() {
        let tar = Craft.file("../../etc/passwd", Array("x".utf8)) + Craft.header("ok", type: 0x31, link: "../../etc/shadow")
            + Craft.endOfArchive
        let o = TarOutcome.readAtEveryChunkSize(tar)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.path), ["/etc/passwd", "/ok"])
        XCTAssertEqual(o.entries.map(\.escapesRoot), [true, true])
        XCTAssertEqual(o.entries.last?.linkName, "/etc/shadow")
        XCTAssertEqual(o.warnings, ["tar entry /etc/passwd climbs above the root with \"..\"; read as clamped at the root",
                                    "tar entry /ok (link to /etc/shadow) climbs above the root with \"..\"; read as clamped at the root"])
    }

    func testSizesPast8GiBInBase256AndPAX() throws {
        let nine: Int = 9 << 30
        var base256 = [UInt8](repeating: 0, count: 12)
        base256[0] = 0x80
        for k in 0..<8 { base256[11 - k] = UInt8(truncatingIfNeeded: nine >> (8 * k)) }
        let ten: Int = 10 << 30
        for (head, size) in [(Craft.header("huge", size: 0, sizeField: base256, magic: .gnu), nine),
                             (Craft.pax([("size", "\(ten)")]) + Craft.header("huge", size: 0), ten)] {
            // Stream the data (zeros) in 1 MiB chunks without keeping it; the reader never buffers it.
            let reader = TarReader()
            var recorder = TarRecorder()
            recorder.skip = { _ in true }
            let zeros = [UInt8](repeating: 0, count: 1 << 20)
            try TarFixture.withBytes(head) { (b) throws(StreamError) in try reader.feed(b, to: &recorder) }
            try TarFixture.withBytes(zeros) { (b) throws(StreamError) in
                for _ in 0..<(size >> 20) { try reader.feed(b, to: &recorder) }
            }
            try TarFixture.withBytes(Craft.file("next", [1, 2]) + Craft.endOfArchive) { (b) throws(StreamError) in
                try reader.feed(b, to: &recorder)
            }
            try reader.finish(&recorder)
            XCTAssertEqual(recorder.entries.map(\.path), ["/huge", "/next"])
            XCTAssertEqual(recorder.entries.first?.size, size)
            XCTAssertEqual(recorder.events.last, .end)
            XCTAssertEqual(reader.bytesRead, head.count + size + 512 * 2 + 1024)
        }
    }

    func testV7HeadersAndSignedChecksums() {
        let tar = Craft.header("dir/", type: 0, magic: .v7) + Craft.header("dir/f", type: 0, size: 3, magic: .v7) + Craft.padded([1, 2, 3])
            + Craft.header("x", rawName: [0x78, 0xE9, 0xFF, 0xF0], signedChecksum: true)
            + Craft.endOfArchive
        let o = TarOutcome.readAtEveryChunkSize(tar)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.kind), [.directory, .file, .file])
        XCTAssertEqual(o.entries.map(\.path), ["/dir", "/dir/f", "/x\u{FFFD}\u{FFFD}\u{FFFD}"])
        XCTAssertEqual(o.data("/dir/f"), [1, 2, 3])
    }

    func testABadChecksumIsACorruptArchive() {
        var first = Craft.file("a", [1]) + Craft.endOfArchive
        first[0] ^= 0x01
        XCTAssertEqual(TarOutcome.readAtEveryChunkSize(first).error?.message,
                       "not a tar archive: the first header block's checksum does not match (stored 0o\(String(Int(checksumOf(first), radix: 8)!, radix: 8)), computed 0o\(String(sum(first), radix: 8)))")
        var later = Craft.file("a", [1]) + Craft.file("b", [2]) + Craft.endOfArchive
        later[1024 + 100] = 0x37
        let e = TarOutcome.readAtEveryChunkSize(later).error
        XCTAssertEqual(e?.kind, .corrupt)
        XCTAssertTrue(e?.message.hasPrefix("tar header at byte 1024 is corrupt: checksum stored 0o") ?? false, "\(String(describing: e))")
        // Plain text is not a tar archive either.
        XCTAssertEqual(TarOutcome.read(Array(String(repeating: "hello ", count: 100).utf8), chunk: 512).error?.kind, .corrupt)
    }

    private func checksumOf(_ block: [UInt8]) -> String { String(decoding: block[148..<154], as: UTF8.self) }
    private func sum(_ block: [UInt8]) -> Int { block[0..<512].enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 32 : Int($1.element)) } }

    func testTruncationInsideDataOrAHeaderIsAnError() {
        let tar = Craft.file("a", [UInt8](repeating: 7, count: 1000)) + Craft.file("b", [1]) + Craft.endOfArchive
        let cases: [(Int, StreamError)] = [
            (512 + 300, StreamError(.truncated, "tar archive ends inside entry /a: 300 of 1000 bytes")),
            (512, StreamError(.truncated, "tar archive ends inside entry /a: 0 of 1000 bytes")),
            (1536 + 100, StreamError(.truncated, "tar archive ends inside a header block at byte 1536 (100 of 512 bytes)")),
            (200, StreamError(.truncated, "tar archive ends inside a header block at byte 0 (200 of 512 bytes)")),
        ]
        for (cut, error) in cases {
            XCTAssertEqual(TarOutcome.readAtEveryChunkSize(Array(tar[0..<cut])).error, error, "cut at \(cut)")
        }
        // A GNU long name whose entry never comes.
        let long = Craft.header("././@LongLink", type: UInt8(ascii: "L"), size: 600, magic: .gnu) + [UInt8](repeating: 0x61, count: 100)
        XCTAssertEqual(TarOutcome.readAtEveryChunkSize(long).error,
                       StreamError(.truncated, "tar archive ends inside the GNU long name header at byte 0: 100 of 600 bytes"))
    }

    func testTruncationAtABlockBoundaryOnlyWarns() {
        let body = Craft.file("a", [UInt8](repeating: 7, count: 1000)) + Craft.file("b", [1])
        let cases: [([UInt8], String)] = [
            (body, "tar archive ends without its end-of-archive marker (after 2560 bytes)"),
            (body + [UInt8](repeating: 0, count: 512), "tar archive ends after one zero block; the end-of-archive marker has two"),
            (body + [UInt8](repeating: 0, count: 700), "tar archive ends inside its end-of-archive marker (after 3260 bytes)"),
            (Array(body[0..<(512 + 1000 + 10)]), "tar archive ends inside the block padding after entry /a"),
            ([], "tar archive ends without its end-of-archive marker (after 0 bytes)"),
        ]
        for (bytes, warning) in cases {
            let o = TarOutcome.readAtEveryChunkSize(bytes)
            XCTAssertNil(o.error, warning)
            XCTAssertEqual(o.warnings, [warning])
        }
        XCTAssertEqual(TarOutcome.read(body, chunk: 512).entries.map(\.path), ["/a", "/b"])
    }

    func testALoneZeroBlockWarnsAndReadingGoesOn() {
        let tar = Craft.file("a", [1]) + [UInt8](repeating: 0, count: 512) + Craft.file("b", [2]) + Craft.endOfArchive
        let o = TarOutcome.readAtEveryChunkSize(tar)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.path), ["/a", "/b"])
        XCTAssertEqual(o.warnings, ["tar archive has a lone zero block at byte 1024; reading on"])
    }

    func testBytesAfterTheEndOfArchiveAreIgnored() throws {
        let tar = Craft.file("a", [1]) + Craft.endOfArchive + Array("trailing garbage".utf8) + Craft.file("c", [3])
        let o = TarOutcome.readAtEveryChunkSize(tar)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.path), ["/a"])
        XCTAssertEqual(o.warnings, [])
    }

    func testHeaderOnlyTypesCarryNoDataWhateverTheirSizeField() {
        // As Go's archive/tar (and so Docker) reads them: the next header follows at once.
        var tar: [UInt8] = []
        for (k, type) in [0x31, 0x32, 0x33, 0x34, 0x35, 0x36].enumerated() {
            tar += Craft.header("t\(k)", type: UInt8(type), size: 100, link: "target")
        }
        tar += Craft.file("last", [9]) + Craft.endOfArchive
        let o = TarOutcome.readAtEveryChunkSize(tar)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.kind), [.hardlink, .symlink, .characterDevice, .blockDevice, .directory, .fifo, .file])
        XCTAssertEqual(o.entries.map(\.size), [0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(o.entries.first?.linkName, "/target")
        XCTAssertEqual(o.data("/last"), [9])
    }

    func testOddTypeFlagsAndEmptyPaths() {
        let tar = Craft.header("label", type: UInt8(ascii: "V"), magic: .gnu)
            + Craft.header("vendor", type: UInt8(ascii: "Z"), size: 5) + Craft.padded([1, 2, 3, 4, 5])
            + Craft.header("dumpdir/", type: UInt8(ascii: "D"), size: 4, magic: .gnu) + Craft.padded(Array("Yab\0".utf8))
            + Craft.header("", size: 2) + Craft.padded([1, 2])
            + Craft.header("./", size: 0)
            + Craft.header("cont", type: UInt8(ascii: "M"), size: 3, magic: .gnu) + Craft.padded([1, 2, 3])
            + Craft.file("ok", [7]) + Craft.endOfArchive
        let o = TarOutcome.readAtEveryChunkSize(tar)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.path), ["/vendor", "/dumpdir", "/ok"])
        XCTAssertEqual(o.entries.map(\.kind), [.other(UInt8(ascii: "Z")), .directory, .file])
        XCTAssertEqual(o.data("/vendor"), [])
        XCTAssertEqual(o.data("/ok"), [7])
        XCTAssertEqual(o.warnings, ["tar entry at byte 2560 (/) skipped: its path is empty",
                                    "tar entry at byte 3584 (/) skipped: its path is empty",
                                    "tar entry at byte 4096 (/cont) skipped: it continues a file from another volume"])
    }

    func testMalformedFieldsAreCorrupt() {
        let badSize = Craft.header("a", sizeField: Array("12x4\0".utf8)) + Craft.endOfArchive
        XCTAssertEqual(TarOutcome.readAtEveryChunkSize(badSize).error, StreamError(.corrupt, "tar header at byte 0 has an invalid size field"))
        var negative = [UInt8](repeating: 0xFF, count: 12)
        negative[11] = 0xFE
        XCTAssertEqual(TarOutcome.readAtEveryChunkSize(Craft.header("a", sizeField: negative)).error?.message,
                       "tar header at byte 0 has an invalid size field")
        for body in ["11 path=a\n", "4 a=\n", "x path=a\n", "8 patha\n", "99 path=a\n", "12 path=a\0b\n", "12 size=12a\n"] {
            let bytes = Array(body.utf8)
            let tar = Craft.header("PaxHeaders/a", type: 0x78, size: bytes.count) + Craft.padded(bytes) + Craft.file("a", [1]) + Craft.endOfArchive
            let e = TarOutcome.readAtEveryChunkSize(tar).error
            XCTAssertEqual(e?.kind, .corrupt, body)
            XCTAssertTrue(e?.message.hasPrefix("malformed PAX extended header at byte 0: ") ?? false, "\(body): \(String(describing: e))")
        }
    }

    func testPAXOverridesAndTheirPrecedenceOverGNULongNames() {
        let tar = Craft.header("././@LongLink", type: UInt8(ascii: "L"), size: 9, magic: .gnu) + Craft.padded(Array("gnu/name\0".utf8))
            + Craft.pax([("path", "pax/name"), ("mtime", "1.5"), ("uid", "7"), ("gid", "8"), ("comment", "x"), ("path", "pax/later")])
            + Craft.header("short", size: 1) + Craft.padded([1])
            + Craft.pax([("linkpath", "./a/../b"), ("path", "")]) + Craft.header("hl", type: 0x31, link: "ignored")
            + Craft.endOfArchive
        let o = TarOutcome.readAtEveryChunkSize(tar)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.path), ["/pax/later", "/hl"])
        XCTAssertEqual(o.entries.first.map { [$0.mtime, Int64($0.uid), Int64($0.gid)] }, [1, 7, 8])
        XCTAssertEqual(o.entries.first?.headerOffset, 0)
        XCTAssertEqual(o.entries.last?.linkName, "/b")
    }

    func testPathAndHeaderLimits() {
        var limits = TarLimits()
        limits.maxPathBytes = 64
        let longName = String(repeating: "n", count: 80)
        let tar = Craft.header("././@LongLink", type: UInt8(ascii: "L"), size: 81, magic: .gnu) + Craft.padded(Array((longName + "\0").utf8))
            + Craft.header("x", size: 3) + Craft.padded([1, 2, 3])
            + Craft.pax([("path", longName)]) + Craft.header("y", size: 1) + Craft.padded([1])
            + Craft.header("l", type: 0x32, link: String(repeating: "t", count: 70))
            + Craft.file("fine", [4]) + Craft.endOfArchive
        let o = TarOutcome.readAtEveryChunkSize(tar, limits: limits)
        XCTAssertNil(o.error)
        XCTAssertEqual(o.entries.map(\.path), ["/fine"])
        XCTAssertEqual(o.warnings, ["tar entry at byte 0 (/x) skipped: its GNU long name is 81 bytes, over the 64-byte limit",
                                    "tar entry at byte 2048 (/\(longName)) skipped: its path is 80 bytes, over the 64-byte limit",
                                    "tar entry at byte 4096 (/l) skipped: its link target is longer than the 64-byte limit"])

        limits = TarLimits()
        limits.maxPAXHeaderBytes = 100
        let pax = Craft.pax([("comment", String(repeating: "c", count: 200))]) + Craft.file("a", [1]) + Craft.endOfArchive
        XCTAssertEqual(TarOutcome.readAtEveryChunkSize(pax, limits: limits).error,
                       StreamError(.limit, "PAX extended header at byte 0 is 213 bytes; the limit is 100"))
    }

    func testEntryAndByteLimits() {
        let tar = (0..<5).flatMap { Craft.file("f\($0)", [UInt8($0)]) } + Craft.endOfArchive
        var limits = TarLimits()
        limits.maxEntries = 4
        let o = TarOutcome.readAtEveryChunkSize(tar, limits: limits)
        XCTAssertEqual(o.error, StreamError(.limit, "tar archive has more than 4 entries"))
        XCTAssertEqual(o.entries.count, 4)
        limits.maxEntries = 5
        XCTAssertNil(TarOutcome.readAtEveryChunkSize(tar, limits: limits).error)
        limits.maxTotalBytes = tar.count - 1
        XCTAssertEqual(TarOutcome.read(tar, chunk: 512, limits: limits).error, StreamError(.limit, "tar archive exceeds \(tar.count - 1) bytes"))
        limits.maxTotalBytes = tar.count
        XCTAssertNil(TarOutcome.read(tar, chunk: 512, limits: limits).error)
    }

    func testAHandlerErrorStopsTheReaderForGood() throws {
        struct Refuser: TarEventHandler {
            mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition { .deliver }
            mutating func tarData(_ bytes: UnsafeRawBufferPointer) throws(StreamError) { throw StreamError(.stopped, "spool full") }
            mutating func tarEntryEnd() throws(StreamError) {}
            mutating func tarWarning(_ message: String) {}
        }
        let reader = TarReader()
        var handler = Refuser()
        let tar = Craft.file("a", [1]) + Craft.endOfArchive
        let first = TarFixture.streamError { try TarFixture.withBytes(tar) { (b) throws(StreamError) in try reader.feed(b, to: &handler) } }
        XCTAssertEqual(first, StreamError(.stopped, "spool full"))
        XCTAssertEqual(TarFixture.streamError { try reader.finish(&handler) }, first)
    }
}
