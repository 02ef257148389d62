// Throughput micro-check (printed, never asserted): gzip + tar over a generated ~100 MB layer, against
// the floor the pipeline cannot beat, zlib inflate plus the two sha256 passes (blob digest and diffID).
import Core
import Foundation
import XCTest

final class TarLayerThroughputTests: XCTestCase {
    /// ~100 MB of tar: many small text-like files and a few large ones, gzip -6 as `docker push` writes.
    static let made = Result { () throws -> [String: [UInt8]] in
        let tar = try TarFixture.python("""
        import io, random, tarfile
        r = random.Random(3)
        words = [bytes(r.choice(b'abcdefghijklmnopqrstuvwxyz') for _ in range(r.randint(2, 10))) for _ in range(4000)]
        pool = b' '.join(r.choice(words) for _ in range(300000))
        def data(n):
            start = r.randrange(0, len(pool) - n)
            return pool[start:start + n]
        with tarfile.open('layer.tar', 'w', format=tarfile.PAX_FORMAT) as t:
            total, k = 0, 0
            while total < 100_000_000:
                n = r.randint(500_000, 1_500_000) if r.random() < 0.01 else r.randint(0, 16384)
                ti = tarfile.TarInfo(f'usr/lib/pkg{k % 300}/file{k}.txt'); ti.size = n
                t.addfile(ti, io.BytesIO(data(n)))
                total += n + 512; k += 1
        """, timeout: 300)
        return try TarFixture.shell("gzip -6 -n -c layer.tar > layer.tar.gz && printf sha256:%s $(sha256sum < layer.tar | cut -c1-64) > layer.sha256 "
                                    + "&& rm layer.tar", inputs: tar, timeout: 300)
    }

    /// A handler that looks at every byte count but keeps nothing (a scanner mostly skips file data).
    struct Counter: TarEventHandler {
        var entries = 0, dataBytes = 0
        mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition { entries += 1; return .deliver }
        mutating func tarData(_ bytes: UnsafeRawBufferPointer) throws(StreamError) { dataBytes += bytes.count }
        mutating func tarEntryEnd() throws(StreamError) {}
        mutating func tarWarning(_ message: String) {}
    }

    /// Feeds `blob` in 16 KiB pieces (libcurl's largest write callback) to `body`; returns seconds taken.
    func timed(_ blob: [UInt8], _ body: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try TarFixture.feed(blob, chunk: 16 * 1024, body)
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func testGzipTarThroughputAgainstInflatePlusTwoDigests() throws {
        let blob = try XCTUnwrap(try Self.made.get()["layer.tar.gz"])
        var tarBytes = 0
        var floor = Double.infinity, pipeline = Double.infinity
        // Four rounds, alternating which runs first so neither gains from warm caches; best time of each.
        for round in 0..<4 {
            for measurePipeline in round % 2 == 0 ? [false, true] : [true, false] {
                if measurePipeline {
                    pipeline = min(pipeline, try runPipeline(blob))
                } else {
                    let (seconds, bytes) = try runFloor(blob)
                    floor = min(floor, seconds)
                    tarBytes = bytes
                }
            }
        }
        let mb = Double(tarBytes) / 1e6
        #if DEBUG
        let build = "debug build"
        #else
        let build = "release build"
        #endif
        print(String(format: "throughput (%@): %.1f MB tar from %.1f MB gzip; inflate+2×sha256 %.0f MB/s, gzip+tar pipeline %.0f MB/s, ratio %.2f",
                     build, mb, Double(blob.count) / 1e6, mb / floor, mb / pipeline, pipeline / floor))
    }

    /// The floor: zlib inflate and the two sha256 passes, nothing else.
    func runFloor(_ blob: [UInt8]) throws -> (Double, Int) {
        let gunzip = GzipDecoder()
        let blobHash = SHA256(), diffHash = SHA256()
        let seconds = try timed(blob) { (piece) throws(StreamError) in
            blobHash.update(piece)
            try gunzip.decode(piece) { (tar) throws(StreamError) in diffHash.update(tar) }
        }
        try gunzip.finish()
        XCTAssertEqual("sha256:" + diffHash.finalizeHex(), Self.diffID)
        return (seconds, gunzip.bytesOut)
    }

    /// The pipeline: the same plus sniffing and tar parsing with every file's data delivered.
    func runPipeline(_ blob: [UInt8]) throws -> Double {
        let layer = LayerDecompressor(mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", layerDigest: "sha256:x")
        let reader = TarReader()
        var counter = Counter()
        let blobHash = SHA256(), diffHash = SHA256()
        let seconds = try timed(blob) { (piece) throws(StreamError) in
            blobHash.update(piece)
            try layer.push(piece) { (tar) throws(StreamError) in
                diffHash.update(tar)
                try reader.feed(tar, to: &counter)
            }
        }
        try layer.finish { _ in }
        try reader.finish(&counter)
        XCTAssertEqual("sha256:" + diffHash.finalizeHex(), Self.diffID)
        XCTAssertGreaterThan(counter.entries, 1000)
        XCTAssertTrue(reader.reachedEnd)
        return seconds
    }

    static var diffID: String { String(decoding: (try? made.get()["layer.sha256"]) ?? [], as: UTF8.self) }
}
