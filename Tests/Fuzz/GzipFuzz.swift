// Fuzz target `gzip`: GzipDecoder (format and output cap chosen by the first byte) over the input whole
// and in pieces; it never crashes, never passes the cap, and both feedings agree on output and verdict;
// and the two inflaters (ISA-L, the default, and zlib) agree byte for byte, and on every verdict.
import Core

enum GzipFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let input = UnsafeRawBufferPointer(rebasing: data[1...])
        let format: GzipDecoder.Format = [.gzip, .gzip, .zlib, .raw][Int(first & 3)]
        let cap = first & 4 == 0 ? 1 << 20 : 1000
        let whole = DecodeOutcome.run(input, cap: cap, piece: { _ in input.count }) { GzipDecoder(format: format, maxOutputBytes: cap) }
        let split = DecodeOutcome.run(input, cap: cap, piece: { k in 1 + Int(first &+ UInt8(truncatingIfNeeded: k &* 29)) % 97 }) {
            GzipDecoder(format: format, maxOutputBytes: cap)
        }
        whole.mustAgree(with: split, input, sameVerdict: !whole.orderDependentlyRefused(with: split))
        let zlib = DecodeOutcome.run(input, cap: cap, piece: { _ in input.count }) { GzipDecoder(format: format, maxOutputBytes: cap, backend: .zlib) }
        let zlibSplit = DecodeOutcome.run(input, cap: cap, piece: { k in 1 + Int(first &+ UInt8(truncatingIfNeeded: k &* 29)) % 97 }) {
            GzipDecoder(format: format, maxOutputBytes: cap, backend: .zlib)
        }
        zlib.mustAgree(with: zlibSplit, input)      // zlib finds each fault at the same byte whatever the feeding
        // Both accept or both refuse, with the same output.
        fuzzCheck((whole.error == nil) == (zlib.error == nil), "ISA-L and zlib disagree on accepting: \(String(describing: whole.error)) vs \(String(describing: zlib.error)): \(fuzzDescribe(input))")
        whole.mustAgree(with: zlib, input, sameVerdict: !whole.orderDependentlyRefused(with: zlib))
        if format == .raw {
            // The one-shot form the zip reader uses says the same.
            do throws(StreamError) {
                let out = try GzipDecoder.inflateRaw(input, maxOutput: cap)
                fuzzCheck(whole.error == nil && out == whole.output, "inflateRaw succeeded where streaming gave \(String(describing: whole.error))")
            } catch {
                fuzzCheck(whole.error?.kind == error.kind, "inflateRaw failed with \(error), streaming with \(String(describing: whole.error))")
            }
        }
    }
}

/// A streaming decoder as the fuzz targets drive it (GzipDecoder and ZstdDecoder).
protocol FuzzedDecoder {
    var bytesOut: Int { get }
    func decode(_ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError)
    func finish() throws(StreamError)
}

extension GzipDecoder: FuzzedDecoder {}
extension ZstdDecoder: FuzzedDecoder {}

/// What decoding one input produced.
struct DecodeOutcome {
    var output: [UInt8] = []
    var error: StreamError?

    static func run(_ input: UnsafeRawBufferPointer, cap: Int, piece: (Int) -> Int, make: () -> any FuzzedDecoder) -> DecodeOutcome {
        let decoder = make()
        var outcome = DecodeOutcome()
        do throws(StreamError) {
            var i = 0, k = 0
            while i < input.count {
                let end = min(input.count, i + max(1, piece(k)))
                try decoder.decode(UnsafeRawBufferPointer(rebasing: input[i..<end])) { (chunk) throws(StreamError) in
                    fuzzCheck(!chunk.isEmpty && chunk.count <= 64 * 1024, "output chunk of \(chunk.count) bytes")
                    outcome.output.append(contentsOf: chunk)
                }
                i = end
                k += 1
            }
            try decoder.finish()
        } catch {
            outcome.error = error
        }
        fuzzCheck(outcome.output.count <= cap, "output \(outcome.output.count) bytes past the cap \(cap)")
        fuzzCheck(decoder.bytesOut == outcome.output.count, "bytesOut \(decoder.bytesOut), delivered \(outcome.output.count)")
        if let e = outcome.error { fuzzCheck(!e.message.isEmpty && e.kind != .stopped, "unexpected error \(e)") }
        return outcome
    }

    /// Both refused, one of them for a reason that depends on the order faults are met in: a stream with
    /// two faults may be refused for either. ISA-L reads ahead in 8-byte words (an invalid dynamic block
    /// header before zlib has the bits to tell), checks the gzip trailer's 8 bytes together (zlib checks
    /// the CRC-32 once its 4 bytes are in), and decodes in runs whose length depends on the feeding (so the
    /// output cap or a bad code may come first). Then a "truncated" or "limit" verdict may meet another.
    func orderDependentlyRefused(with other: DecodeOutcome) -> Bool {
        guard let a = error?.kind, let b = other.error?.kind else { return false }
        return [a, b].contains { $0 == .truncated || $0 == .limit }
    }

    /// Two feedings of one input agree: same verdict kind; the same output, except that a failure stops
    /// each at a point of its own (a cap at a chunk boundary; libzstd may drop a frame's output when its
    /// checksum fails), so then one output is a prefix of the other.
    /// `sameVerdict` false lets one feeding fail where the other does not: libzstd 1.5.4 checks a frame's
    /// reserved header bit and its declared content size only when the whole frame arrives in one call.
    func mustAgree(with other: DecodeOutcome, _ input: UnsafeRawBufferPointer, sameVerdict: Bool = true) {
        if sameVerdict {
            fuzzCheck(error?.kind == other.error?.kind,
                      "verdicts differ: \(String(describing: error)) vs \(String(describing: other.error)): \(fuzzDescribe(input))")
        }
        if error != nil || other.error != nil {
            let n = min(output.count, other.output.count)
            fuzzCheck(output.prefix(n) == other.output.prefix(n), "outputs differ before the failure: \(fuzzDescribe(input))")
        } else {
            fuzzCheck(output == other.output, "outputs differ (\(output.count) vs \(other.output.count) bytes): \(fuzzDescribe(input))")
        }
    }
}
