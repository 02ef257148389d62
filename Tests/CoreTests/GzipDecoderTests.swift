// GzipDecoder against streams written by Python's gzip/zlib and the gzip CLI: every format, every chunk
// size, multi-member, padding, truncation, corruption, checksums and the output cap; each on both
// inflaters (ISA-L and zlib), which must agree on the output and the kind of every error.
import Core
import XCTest

final class GzipDecoderTests: XCTestCase {
    static let made = Result { () throws -> [String: [UInt8]] in
        var files = try TarFixture.python("""
        import gzip, random, sys, zlib
        r = random.Random(7)
        words = [bytes(r.choice(b'abcdefghijklmnop') for _ in range(r.randint(2, 9))) for _ in range(500)]
        a = b' '.join(r.choice(words) for _ in range(60000))
        b = bytes(r.getrandbits(8) for _ in range(70000))
        def raw(data):
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            return c.compress(data) + c.flush()
        for name, data in {'a': a, 'b': b, 'a.gz': gzip.compress(a, mtime=0), 'a.zlib': zlib.compress(a),
                           'a.raw': raw(a), 'small.raw': raw(b'hello, zip entry\\n' * 3), 'empty.gz': gzip.compress(b'', mtime=0)}.items():
            open(name, 'wb').write(data)
        """)
        // Two members the way `gzip -c a b` writes them (the tool, not a library, makes the boundary).
        let cli = try TarFixture.shell("gzip -c -n a b > ab.gz", inputs: ["a": files["a"]!, "b": files["b"]!])
        files["ab.gz"] = cli["ab.gz"]
        return files
    }

    func fixture(_ name: String) throws -> [UInt8] {
        let files = try Self.made.get()
        return try XCTUnwrap(files[name], name)
    }

    /// Decodes `bytes` fed in `chunk`-byte pieces and finishes; returns the output and the decoder.
    func decode(_ bytes: [UInt8], format: GzipDecoder.Format = .gzip, chunk: Int, max: Int? = nil,
                backend: GzipDecoder.Backend = .standard) throws(StreamError) -> ([UInt8], GzipDecoder) {
        let d = GzipDecoder(format: format, maxOutputBytes: max, backend: backend)
        var out: [UInt8] = []
        try TarFixture.feed(bytes, chunk: chunk) { (piece: UnsafeRawBufferPointer) throws(StreamError) in
            try d.decode(piece) { (o: UnsafeRawBufferPointer) throws(StreamError) in
                XCTAssertLessThanOrEqual(o.count, GzipDecoder.outputChunkBytes)
                out.append(contentsOf: o)
            }
        }
        try d.finish()
        return (out, d)
    }

    func testEveryFormatAtEveryChunkSize() throws {
        for backend in GzipDecoder.Backend.allCases {
            let a = try fixture("a")
            for (name, format) in [("a.gz", GzipDecoder.Format.gzip), ("a.zlib", .zlib), ("a.raw", .raw)] {
                let input = try fixture(name)
                for chunk in TarFixture.chunkSizes {
                    let (out, d) = try decode(input, format: format, chunk: chunk, backend: backend)
                    XCTAssertEqual(out, a, "\(name) at \(chunk)-byte chunks")
                    XCTAssertEqual(d.bytesIn, input.count)
                    XCTAssertEqual(d.bytesOut, a.count)
                    XCTAssertEqual(d.streamsCompleted, 1)
                }
            }
        }
    }

    func testMultiMemberGzipFromTheCLIIsOneStream() throws {
        for backend in GzipDecoder.Backend.allCases {
            let expected = try fixture("a") + fixture("b")
            for chunk in TarFixture.chunkSizes {
                let (out, d) = try decode(try fixture("ab.gz"), chunk: chunk, backend: backend)
                XCTAssertEqual(out, expected, "chunk \(chunk)")
                XCTAssertEqual(d.streamsCompleted, 2)
            }
        }
    }

    func testEmptyMemberAndZeroPaddingAfterTheLastMember() throws {
        for backend in GzipDecoder.Backend.allCases {
            XCTAssertEqual(try decode(try fixture("empty.gz"), chunk: 512, backend: backend).0, [])
            let padded = try fixture("a.gz") + [UInt8](repeating: 0, count: 1000)
            for chunk in TarFixture.chunkSizes {
                XCTAssertEqual(try decode(padded, chunk: chunk, backend: backend).0, try fixture("a"))
            }
            let e = TarFixture.streamError { _ = try decode(padded + [1], chunk: 512, backend: backend) }
            XCTAssertEqual(e?.kind, .corrupt)
            XCTAssertEqual(e?.message, "gzip: data after zero padding at compressed byte \(padded.count)")
        }
    }

    func testGarbageAfterAMemberIsABadHeader() throws {
        for backend in GzipDecoder.Backend.allCases {
            let e = TarFixture.streamError { _ = try decode(try! fixture("a.gz") + Array("garbage".utf8), chunk: 7, backend: backend) }
            XCTAssertEqual(e?.kind, .corrupt)
            XCTAssertTrue(e?.message.hasPrefix("gzip: bad header of member 2") ?? false, "\(String(describing: e))")
        }
    }

    func testNotGzipAtAllIsABadHeader() throws {
        for backend in GzipDecoder.Backend.allCases {
            let e = TarFixture.streamError { _ = try decode(Array("this is plain text".utf8), chunk: 512, backend: backend) }
            XCTAssertEqual(e?.kind, .corrupt)
            XCTAssertEqual(e?.message, "gzip: bad header of member 1 at compressed byte 2: incorrect header check")
        }
    }

    func testTruncatedStreamsFailAtFinishWithTheirFormat() throws {
        for backend in GzipDecoder.Backend.allCases {
            let gz = try fixture("a.gz")
            for cut in [1, 5, 10, gz.count / 2, gz.count - 8, gz.count - 1] {
                for chunk in [7, 65536] {
                    let e = TarFixture.streamError { _ = try decode(Array(gz[0..<cut]), chunk: chunk, backend: backend) }
                    XCTAssertEqual(e?.kind, .truncated, "cut at \(cut)")
                    XCTAssertTrue(e?.message.hasPrefix("gzip stream ends before its trailer (after \(cut) compressed bytes") ?? false,
                                  "\(String(describing: e))")
                }
            }
            let zl = try fixture("a.zlib")
            XCTAssertTrue(TarFixture.streamError { _ = try decode(Array(zl.dropLast(2)), format: .zlib, chunk: 512, backend: backend) }?
                .message.hasPrefix("zlib stream ends before its trailer") ?? false)
            let raw = try fixture("a.raw")
            XCTAssertTrue(TarFixture.streamError { _ = try decode(Array(raw.dropLast(10)), format: .raw, chunk: 512, backend: backend) }?
                .message.hasPrefix("deflate stream ends before its final block") ?? false)
            XCTAssertEqual(TarFixture.streamError { _ = try decode([], chunk: 512, backend: backend) }?.message, "gzip stream is empty")
        }
    }

    func testChecksumMismatchesAreIntegrityErrors() throws {
        // zlib tells the CRC-32 from the length; ISA-L compares the two together.
        for (backend, crc, length) in [(GzipDecoder.Backend.zlib, "(CRC-32): incorrect data check", "(length): incorrect length check"),
                                       (.isal, "(CRC-32 and length): incorrect data check", "(CRC-32 and length): incorrect data check")] {
            var gz = try fixture("a.gz")
            gz[gz.count - 8] ^= 0xFF                     // CRC-32 in the trailer
            XCTAssertEqual(TarFixture.streamError { _ = try decode(gz, chunk: 512, backend: backend) },
                           StreamError(.integrity, "gzip: checksum mismatch of member 1 \(crc)"))
            gz = try fixture("a.gz")
            gz[gz.count - 4] ^= 0x01                     // ISIZE
            XCTAssertEqual(TarFixture.streamError { _ = try decode(gz, chunk: 512, backend: backend) },
                           StreamError(.integrity, "gzip: checksum mismatch of member 1 \(length)"))
            var zl = try fixture("a.zlib")
            zl[zl.count - 1] ^= 0xFF
            XCTAssertEqual(TarFixture.streamError { _ = try decode(zl, format: .zlib, chunk: 512, backend: backend) },
                           StreamError(.integrity, "zlib: checksum mismatch (Adler-32): incorrect data check"))
        }
    }

    func testCorruptDataNamesTheReasonAndTheOffset() throws {
        var gz = try fixture("a.gz")
        gz[10] = 0xFF                                // first deflate block header: reserved block type 3
        let e = TarFixture.streamError { _ = try decode(gz, chunk: 512, backend: .zlib) }
        XCTAssertEqual(e?.kind, .corrupt)
        XCTAssertEqual(e?.message, "gzip: corrupt data of member 1 at compressed byte 11: invalid block type")
        // ISA-L reads ahead in 8-byte words, so the offset it stops at is a little later.
        let i = TarFixture.streamError { _ = try decode(gz, chunk: 512, backend: .isal) }
        XCTAssertEqual(i?.kind, .corrupt)
        XCTAssertEqual(i?.message, "gzip: corrupt data of member 1 at compressed byte 18: invalid block")
    }

    func testOutputCap() throws {
        for backend in GzipDecoder.Backend.allCases {
            let a = try fixture("a")
            XCTAssertEqual(try decode(try fixture("a.gz"), chunk: 512, max: a.count, backend: backend).0, a)
            let e = TarFixture.streamError { _ = try decode(try! fixture("a.gz"), chunk: 512, max: 100_000, backend: backend) }
            XCTAssertEqual(e, StreamError(.limit, "decompressed size exceeds 100000 bytes"))
        }
    }

    func testAFailedDecoderStaysFailed() {
        for backend in GzipDecoder.Backend.allCases {
            let d = GzipDecoder(backend: backend)
            let bad = Array("not gzip".utf8)
            let first = TarFixture.streamError { try TarFixture.withBytes(bad) { (b) throws(StreamError) in try d.decode(b) { _ in } } }
            let again = TarFixture.streamError { try d.finish() }
            XCTAssertNotNil(first)
            XCTAssertEqual(first, again)
        }
    }

    func testInflateRawOneShotForZipEntries() throws {
        XCTAssertEqual(try GzipDecoder.inflateRaw(try fixture("small.raw"), maxOutput: 1000, expectedSize: 51),
                       Array(String(repeating: "hello, zip entry\n", count: 3).utf8))
        XCTAssertEqual(try GzipDecoder.inflateRaw(try fixture("a.raw"), maxOutput: 10_000_000), try fixture("a"))
        // Bytes after the final block are ignored, as zip readers do.
        XCTAssertEqual(try GzipDecoder.inflateRaw(try fixture("small.raw") + [1, 2, 3], maxOutput: 1000).count, 51)
        XCTAssertEqual(TarFixture.streamError { _ = try GzipDecoder.inflateRaw(try! fixture("a.raw"), maxOutput: 1000) },
                       StreamError(.limit, "decompressed size exceeds 1000 bytes"))
        XCTAssertEqual(TarFixture.streamError { _ = try GzipDecoder.inflateRaw(Array(try! fixture("small.raw").dropLast(3)), maxOutput: 1000) }?.kind,
                       .truncated)
        // One decoder reused for several entries.
        let d = GzipDecoder(format: .raw, maxOutputBytes: 1 << 20)
        for _ in 0..<3 {
            XCTAssertEqual(try TarFixture.withBytes(try fixture("small.raw")) { (b) throws(StreamError) in try d.inflateAll(b) }.count, 51)
        }
    }
}
