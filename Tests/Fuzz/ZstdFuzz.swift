// Fuzz target `zstd`: ZstdDecoder (window limit and output cap chosen by the first byte) over the input
// whole and in pieces; it never crashes, never passes the cap, and the feedings' outputs agree (libzstd's
// own checks differ between one-call and split frames, so only the output is compared).
import Core

enum ZstdFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let input = UnsafeRawBufferPointer(rebasing: data[1...])
        let windowLogMax = 10 + Int(first & 15)
        let cap = first & 16 == 0 ? 1 << 20 : 1000
        let whole = DecodeOutcome.run(input, cap: cap, piece: { _ in input.count }) {
            ZstdDecoder(maxOutputBytes: cap, windowLogMax: windowLogMax)
        }
        let split = DecodeOutcome.run(input, cap: cap, piece: { k in 1 + Int(first &+ UInt8(truncatingIfNeeded: k &* 29)) % 97 }) {
            ZstdDecoder(maxOutputBytes: cap, windowLogMax: windowLogMax)
        }
        whole.mustAgree(with: split, input, sameVerdict: false)
    }
}
