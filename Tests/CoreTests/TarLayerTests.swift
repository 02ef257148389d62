// LayerDecompressor and CompressionSniffer: media types, magic numbers (which win, with a warning),
// every codec at every chunk size, unsupported codecs, truncation, caps, and the whole layer pipeline
// (compressed digest, tar bytes, diffID, tar entries) against what Python computes.
import Core
import XCTest

final class TarLayerTests: XCTestCase {
    static let gzipType = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let zstdType = "application/vnd.oci.image.layer.v1.tar+zstd"
    static let tarType = "application/vnd.oci.image.layer.v1.tar"
    static let dockerType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    static let made = Result { () throws -> [String: [UInt8]] in
        let files = try TarFixture.python("""
        import bz2, hashlib, io, lzma, tarfile
        with tarfile.open('layer.tar', 'w', format=tarfile.PAX_FORMAT) as t:
            for k in range(40):
                data = (f'file {k} ' * (k * 50)).encode()
                ti = tarfile.TarInfo(f'usr/share/doc/pkg{k}/copyright'); ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            ti = tarfile.TarInfo('etc/os-release'); data = b'ID=debian\\nVERSION_ID="12"\\n'; ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        raw = open('layer.tar', 'rb').read()
        open('layer.tar.xz', 'wb').write(lzma.compress(raw))
        open('layer.tar.bz2', 'wb').write(bz2.compress(raw))
        open('layer.sha256', 'w').write('sha256:' + hashlib.sha256(raw).hexdigest())
        """)
        let compressed = try TarFixture.shell("gzip -n -c layer.tar > layer.tar.gz && zstd -q -c layer.tar > layer.tar.zst",
                                              inputs: ["layer.tar": files["layer.tar"]!])
        return files.merging(compressed) { a, _ in a }
    }

    func fixture(_ name: String) throws -> [UInt8] {
        try XCTUnwrap(try Self.made.get()[name], name)
    }

    /// Pushes `bytes` through a LayerDecompressor in `chunk`-byte pieces; returns the tar bytes and the decompressor.
    func decompress(_ bytes: [UInt8], mediaType: String, chunk: Int, max: Int? = nil) throws(StreamError) -> ([UInt8], LayerDecompressor) {
        let d = LayerDecompressor(mediaType: mediaType, layerDigest: Self.digest, maxOutputBytes: max)
        var out: [UInt8] = []
        try TarFixture.feed(bytes, chunk: chunk) { (piece) throws(StreamError) in
            try d.push(piece) { (tar) throws(StreamError) in out.append(contentsOf: tar) }
        }
        try d.finish { (tar) throws(StreamError) in out.append(contentsOf: tar) }
        return (out, d)
    }

    func testMediaTypesDeclareTheirCompression() {
        let table: [(String, LayerCompression?)] = [
            (Self.gzipType, .gzip), (Self.zstdType, .zstd), (Self.tarType, .uncompressed),
            (Self.dockerType, .gzip), ("application/vnd.docker.image.rootfs.diff.tar.zstd", .zstd),
            ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", .gzip),
            ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", .gzip),
            ("application/vnd.docker.image.rootfs.diff.tar", .uncompressed),
            ("Application/VND.OCI.Image.Layer.V1.Tar+Gzip; foo=bar", .gzip),
            ("application/vnd.oci.image.config.v1+json", nil), ("application/octet-stream", nil),
        ]
        for (type, expected) in table { XCTAssertEqual(CompressionSniffer.declared(byMediaType: type), expected, type) }
    }

    func testMagicNumbers() {
        let table: [([UInt8], Bool, CompressionSniffer.Verdict?)] = [
            ([0x1F, 0x8B, 8, 0], false, .compression(.gzip)),
            ([0x1F, 0x8B], false, .compression(.gzip)),
            ([0x1F], false, nil),
            ([0x1F], true, .compression(.uncompressed)),
            ([0x28, 0xB5, 0x2F, 0xFD, 0x24], false, .compression(.zstd)),
            ([0x28, 0xB5, 0x2F], false, nil),
            ([0x5E, 0x2A, 0x4D, 0x18, 0, 0, 0, 0], false, .compression(.zstd)),
            ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0, 0], false, .unsupported("xz")),
            (Array("BZh91AY&SY".utf8), false, .unsupported("bzip2")),
            (Array("BZh9 notes.txt".utf8), false, .compression(.uncompressed)),
            (Array("usr/".utf8), false, .compression(.uncompressed)),
            ([], false, nil),
            ([], true, .compression(.uncompressed)),
        ]
        for (bytes, atEnd, expected) in table {
            XCTAssertEqual(bytes.withUnsafeBytes { CompressionSniffer.sniff($0, atEnd: atEnd) }, expected, "\(bytes) atEnd \(atEnd)")
        }
    }

    func testEveryCodecYieldsTheSameTarAtEveryChunkSize() throws {
        let tar = try fixture("layer.tar")
        for (name, type, compression) in [("layer.tar.gz", Self.gzipType, LayerCompression.gzip), ("layer.tar.zst", Self.zstdType, .zstd),
                                          ("layer.tar", Self.tarType, .uncompressed)] {
            for chunk in TarFixture.chunkSizes {
                let (out, d) = try decompress(try fixture(name), mediaType: type, chunk: chunk)
                XCTAssertEqual(out, tar, "\(name) at \(chunk)")
                XCTAssertEqual(d.compression, compression)
                XCTAssertNil(d.warning)
                XCTAssertEqual(d.bytesOut, tar.count)
                XCTAssertEqual(d.bytesIn, try fixture(name).count)
            }
        }
    }

    func testTheMagicNumberWinsOverTheMediaTypeWithAWarning() throws {
        let tar = try fixture("layer.tar")
        let table: [(String, String, String)] = [
            ("layer.tar.zst", Self.gzipType, "layer \(Self.digest) is declared \(Self.gzipType) but is zstd"),
            ("layer.tar.gz", Self.zstdType, "layer \(Self.digest) is declared \(Self.zstdType) but is gzip"),
            ("layer.tar", Self.dockerType, "layer \(Self.digest) is declared \(Self.dockerType) but is an uncompressed tar"),
            ("layer.tar.gz", Self.tarType, "layer \(Self.digest) is declared \(Self.tarType) but is gzip"),
        ]
        for (name, type, warning) in table {
            for chunk in [1, 65536] {
                let (out, d) = try decompress(try fixture(name), mediaType: type, chunk: chunk)
                XCTAssertEqual(out, tar, name)
                XCTAssertEqual(d.warning, warning)
            }
        }
        // A media type that is not a layer type says nothing either way.
        XCTAssertNil(try decompress(try fixture("layer.tar.gz"), mediaType: "application/octet-stream", chunk: 512).1.warning)
    }

    func testCompressionsNoRuntimeAcceptsAreNamed() throws {
        for (name, codec) in [("layer.tar.xz", "xz"), ("layer.tar.bz2", "bzip2")] {
            let e = TarFixture.streamError { _ = try decompress(try fixture(name), mediaType: Self.gzipType, chunk: 3) }
            XCTAssertEqual(e, StreamError(.unsupported, "layer \(Self.digest) is \(codec)-compressed (declared \(Self.gzipType)); "
                                          + "container layers are gzip, zstd or uncompressed tar"))
        }
    }

    func testTruncatedLayersFailAtFinish() throws {
        for (name, prefix) in [("layer.tar.gz", "gzip stream ends before its trailer"), ("layer.tar.zst", "zstd stream ends inside frame 1")] {
            let bytes = try fixture(name)
            let e = TarFixture.streamError { _ = try decompress(Array(bytes.dropLast(5)), mediaType: Self.gzipType, chunk: 512) }
            XCTAssertEqual(e?.kind, .truncated, name)
            XCTAssertTrue(e?.message.hasPrefix(prefix) ?? false, "\(String(describing: e))")
        }
        // Shorter than any magic number: still decided at finish, and gzip's two bytes are a truncated gzip stream.
        XCTAssertEqual(TarFixture.streamError { _ = try decompress([0x1F, 0x8B], mediaType: Self.gzipType, chunk: 1) }?.kind, .truncated)
        XCTAssertEqual(try decompress([0x1F], mediaType: Self.tarType, chunk: 1).0, [0x1F])
        XCTAssertEqual(try decompress([], mediaType: Self.tarType, chunk: 1).1.compression, .uncompressed)
    }

    func testTheOutputCapHoldsForEveryCodec() throws {
        let tar = try fixture("layer.tar")
        for name in ["layer.tar.gz", "layer.tar.zst", "layer.tar"] {
            XCTAssertEqual(try decompress(try fixture(name), mediaType: Self.gzipType, chunk: 4096, max: tar.count).0.count, tar.count)
            XCTAssertEqual(TarFixture.streamError { _ = try decompress(try fixture(name), mediaType: Self.gzipType, chunk: 4096, max: 10_000) },
                           StreamError(.limit, "decompressed size exceeds 10000 bytes"), name)
        }
    }

    func testAPlainTarPassesThroughWithoutACopy() throws {
        let tar = try fixture("layer.tar")
        let d = LayerDecompressor(mediaType: Self.tarType, layerDigest: Self.digest)
        try TarFixture.withBytes(tar) { (all) throws(StreamError) in
            try d.push(all) { (out) throws(StreamError) in
                XCTAssertEqual(out.baseAddress, all.baseAddress)
                XCTAssertEqual(out.count, all.count)
            }
        }
    }

    /// The scan pipeline's stream part: sha256 of the blob, decompression, sha256 of the tar (the diffID), entries.
    func testTheWholeLayerPipeline() throws {
        let expectedDiffID = String(decoding: try fixture("layer.sha256"), as: UTF8.self)
        for name in ["layer.tar.gz", "layer.tar.zst", "layer.tar"] {
            let blob = try fixture(name)
            for chunk in TarFixture.chunkSizes {
                let blobHash = SHA256(), diffHash = SHA256()
                let d = LayerDecompressor(mediaType: Self.gzipType, layerDigest: Self.digest)
                let reader = TarReader()
                var recorder = TarRecorder()
                try TarFixture.feed(blob, chunk: chunk) { (piece) throws(StreamError) in
                    blobHash.update(piece)
                    try d.push(piece) { (tar) throws(StreamError) in
                        diffHash.update(tar)
                        try reader.feed(tar, to: &recorder)
                    }
                }
                try d.finish { (tar) throws(StreamError) in
                    diffHash.update(tar)
                    try reader.feed(tar, to: &recorder)
                }
                try reader.finish(&recorder)
                XCTAssertEqual("sha256:" + blobHash.finalizeHex(), SHA256.digest(blob))
                XCTAssertEqual("sha256:" + diffHash.finalizeHex(), expectedDiffID, "\(name) at \(chunk)")
                XCTAssertEqual(recorder.entries.count, 41)
                XCTAssertEqual(recorder.warnings, [])
                XCTAssertEqual(TarOutcome(events: recorder.events).data("/etc/os-release"), Array("ID=debian\nVERSION_ID=\"12\"\n".utf8))
            }
        }
    }
}
