// PipelinedSHA256 gives the digests SHA256 gives, hashed inline or on the hashing thread, for any
// chunking, several hashers interleaved, and hashers dropped half-way (their slots come back).
import XCTest
@testable import Core

final class PipelinedSHA256Tests: XCTestCase {
    func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = seed
        return (0..<n).map { _ in g = g &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: g >> 33) }
    }

    func testDigestsMatchForEveryChunkingBothWays() {
        let data = randomBytes(3 * HashPipe.slotBytes + 12345, seed: 1)
        let want = SHA256.digest(data)
        for offThread in [false, true] {
            for chunk in [1, 777, 16 << 10, HashPipe.slotBytes, HashPipe.slotBytes + 1, data.count] {
                let h = PipelinedSHA256(offThread: offThread)
                var i = 0
                while i < data.count {
                    let end = min(data.count, i + (chunk == 1 ? 1 + i % 5000 : chunk))
                    data[i..<end].withUnsafeBytes { h.update($0) }
                    i = end
                }
                XCTAssertEqual("sha256:" + h.finalizeHex(), want, "offThread \(offThread), chunk \(chunk)")
                // Starts over after finalize, as SHA256 does.
                h.update(Array("abc".utf8))
                XCTAssertEqual(h.finalizeHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            }
        }
    }

    func testInterleavedHashersAndAbandonedOnes() {
        let a = randomBytes(HashPipe.slotBytes * 5 + 3, seed: 2), b = randomBytes(HashPipe.slotBytes * 2 + 99, seed: 3)
        for round in 0..<20 {
            let ha = PipelinedSHA256(offThread: true), hb = PipelinedSHA256(offThread: true)
            var dropped: [PipelinedSHA256] = []
            for k in stride(from: 0, to: a.count, by: 100_000) {
                a[k..<min(a.count, k + 100_000)].withUnsafeBytes { ha.update($0) }
                if k < b.count { b[k..<min(b.count, k + 100_000)].withUnsafeBytes { hb.update($0) } }
                // More hashers than the ring has slots, each left holding a part-filled slot, then dropped.
                let d = PipelinedSHA256(offThread: true)
                a[0..<(1000 + round)].withUnsafeBytes { d.update($0) }
                dropped.append(d)
            }
            dropped.removeAll()
            XCTAssertEqual("sha256:" + ha.finalizeHex(), SHA256.digest(a))
            XCTAssertEqual("sha256:" + hb.finalizeHex(), SHA256.digest(b))
        }
    }
}
