// Fuzz target `chunked`: ChunkedDecoder over the input in one piece, in two pieces (split at a position
// derived from the first byte) and, for short inputs, one byte at a time; all must agree.
import Core

enum ChunkedFuzz {
    struct Decoded: Equatable {
        var body: [UInt8] = []
        var outcome: ChunkedDecoder.Outcome = .needMore
    }

    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let input = UnsafeRawBufferPointer(rebasing: data[1...])
        let split = Int(first) * input.count / 255

        let whole = decode(input, pieces: [0, input.count])
        if case .done(let used) = whole.outcome {
            fuzzCheck(used > 0 && used <= input.count, "consumed \(used) of \(input.count): \(fuzzDescribe(input))")
            fuzzCheck(whole.body.count <= used, "body \(whole.body.count) bytes from \(used) consumed bytes")
        }
        fuzzCheck(whole.body.count <= input.count, "body longer than the input")

        let two = decode(input, pieces: [0, split, input.count])
        fuzzCheck(two == whole, "split at \(split) gives \(two.outcome), \(two.body.count) body bytes; whole gives \(whole.outcome), \(whole.body.count): \(fuzzDescribe(input))")

        if input.count <= 1024 {
            let bytewise = decode(input, pieces: Array(0...input.count))
            fuzzCheck(bytewise == whole, "byte-at-a-time gives \(bytewise.outcome), whole gives \(whole.outcome): \(fuzzDescribe(input))")
        }
    }

    /// Decodes `input` fed as the pieces between consecutive `boundaries`, stopping at the first outcome
    /// other than `.needMore`; `.done` is reported relative to the start of the whole input.
    static func decode(_ input: UnsafeRawBufferPointer, pieces boundaries: [Int]) -> Decoded {
        var decoder = ChunkedDecoder()
        var result = Decoded()
        for k in 0..<(boundaries.count - 1) {
            let start = boundaries[k], end = boundaries[k + 1]
            let piece = UnsafeRawBufferPointer(rebasing: input[start..<end])
            let outcome = decoder.decode(piece) { result.body.append(contentsOf: $0) }
            switch outcome {
            case .needMore:
                continue
            case .done(let used):
                fuzzCheck(used <= piece.count, "done(consumed: \(used)) for a piece of \(piece.count) bytes")
                result.outcome = .done(consumed: start + used)
                return result
            case .failure:
                result.outcome = outcome
                return result
            }
        }
        return result
    }
}
