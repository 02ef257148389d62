// ZstdDecoder against streams written by the zstd CLI: chunk sizes, several frames, skippable frames,
// truncation, checksums, garbage, the window limit and the output cap.
import Core
import XCTest

final class ZstdDecoderTests: XCTestCase {
    static let made = Result { () throws -> [String: [UInt8]] in
        let plain = try TarFixture.python("""
        import random
        r = random.Random(11)
        words = [bytes(r.choice(b'abcdefghijklmnop') for _ in range(r.randint(2, 9))) for _ in range(500)]
        open('a', 'wb').write(b' '.join(r.choice(words) for _ in range(60000)))
        open('b', 'wb').write(bytes(r.getrandbits(8) for _ in range(70000)))
        """)
        // The CLI writes a content checksum by default; `-c a b` writes one frame per file; from a pipe the
        // size is unknown, so --long=28 keeps its 256 MiB window in the frame header.
        return try TarFixture.shell("zstd -q -c a > a.zst && zstd -q -c a b > ab.zst && cat a | zstd -q --long=28 -c > long.zst",
                                    inputs: plain)
    }

    func fixture(_ name: String) throws -> [UInt8] {
        try XCTUnwrap(try Self.made.get()[name], name)
    }

    func decode(_ bytes: [UInt8], chunk: Int, max: Int? = nil, windowLogMax: Int = 27) throws(StreamError) -> ([UInt8], ZstdDecoder) {
        let d = ZstdDecoder(maxOutputBytes: max, windowLogMax: windowLogMax)
        var out: [UInt8] = []
        try TarFixture.feed(bytes, chunk: chunk) { (piece: UnsafeRawBufferPointer) throws(StreamError) in
            try d.decode(piece) { (o: UnsafeRawBufferPointer) throws(StreamError) in
                XCTAssertLessThanOrEqual(o.count, ZstdDecoder.outputChunkBytes)
                out.append(contentsOf: o)
            }
        }
        try d.finish()
        return (out, d)
    }

    func testOneFrameAtEveryChunkSize() throws {
        for chunk in TarFixture.chunkSizes {
            let (out, d) = try decode(try fixture("a.zst"), chunk: chunk)
            XCTAssertEqual(out, try fixture("a"), "chunk \(chunk)")
            XCTAssertEqual(d.framesCompleted, 1)
            XCTAssertEqual(d.bytesIn, try fixture("a.zst").count)
        }
    }

    func testSeveralFramesFromTheCLIAndFromConcatenation() throws {
        let expected = try fixture("a") + fixture("b")
        let concatenated = try fixture("a.zst") + fixture("ab.zst")
        for chunk in TarFixture.chunkSizes {
            let (out, d) = try decode(try fixture("ab.zst"), chunk: chunk)
            XCTAssertEqual(out, expected, "chunk \(chunk)")
            XCTAssertEqual(d.framesCompleted, 2)
            XCTAssertEqual(try decode(concatenated, chunk: chunk).0, try fixture("a") + expected)
        }
    }

    func testSkippableFramesArePassedOver() throws {
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 5, 0, 0, 0] + Array("hello".utf8)
        for chunk in [1, 7, 65536] {
            XCTAssertEqual(try decode(skippable + fixture("a.zst") + skippable, chunk: chunk).0, try fixture("a"))
        }
    }

    func testTruncatedStreamFailsAtFinish() throws {
        let z = try fixture("a.zst")
        for cut in [1, 4, 6, z.count / 2, z.count - 4, z.count - 1] {
            let e = TarFixture.streamError { _ = try decode(Array(z[0..<cut]), chunk: 512) }
            XCTAssertEqual(e?.kind, .truncated, "cut at \(cut)")
            XCTAssertTrue(e?.message.hasPrefix("zstd stream ends inside frame 1 (after \(cut) compressed bytes") ?? false, "\(String(describing: e))")
        }
        let two = try fixture("ab.zst")
        XCTAssertTrue(TarFixture.streamError { _ = try decode(Array(two.dropLast(3)), chunk: 7) }?
            .message.hasPrefix("zstd stream ends inside frame 2") ?? false)
        XCTAssertEqual(TarFixture.streamError { _ = try decode([], chunk: 512) }, StreamError(.truncated, "zstd stream is empty"))
    }

    func testChecksumMismatchIsAnIntegrityError() throws {
        var z = try fixture("a.zst")
        z[z.count - 1] ^= 0xFF
        XCTAssertEqual(TarFixture.streamError { _ = try decode(z, chunk: 512) },
                       StreamError(.integrity, "zstd: checksum mismatch in frame 1: Restored data doesn't match checksum"))
    }

    func testGarbageAfterAFrameIsCorrupt() throws {
        let z = try fixture("a.zst")
        let e = TarFixture.streamError { _ = try decode(z + Array("garbage!".utf8), chunk: 512) }
        XCTAssertEqual(e?.kind, .corrupt)
        XCTAssertEqual(e?.message, "zstd: corrupt data in frame 2 at compressed byte \(z.count): Unknown frame descriptor")
    }

    func testAFrameNeedingALargerWindowFailsWithTheLimit() throws {
        let e = TarFixture.streamError { _ = try decode(try fixture("long.zst"), chunk: 65536) }
        XCTAssertEqual(e?.kind, .limit)
        XCTAssertTrue(e?.message.hasPrefix("zstd frame 1 needs a window larger than the 128 MiB limit (windowLogMax 27)") ?? false,
                      "\(String(describing: e))")
    }

    func testOutputCap() throws {
        let a = try fixture("a")
        XCTAssertEqual(try decode(try fixture("a.zst"), chunk: 512, max: a.count).0, a)
        XCTAssertEqual(TarFixture.streamError { _ = try decode(try fixture("a.zst"), chunk: 512, max: a.count - 1) },
                       StreamError(.limit, "decompressed size exceeds \(a.count - 1) bytes"))
    }
}
