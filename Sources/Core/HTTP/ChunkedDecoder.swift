// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1), strict about sizes and line ends.

public struct ChunkedDecoder: Sendable {
    public enum Outcome: Equatable, Sendable {
        /// All input was consumed; more is needed.
        case needMore
        /// The last chunk and trailer section ended after `consumed` bytes of this input.
        case done(consumed: Int)
        case failure(HTTPError)
    }

    private enum State: Sendable {
        case size, ext, sizeLF, data, dataCR, dataLF, trailerStart, trailerLine, trailerLF, finalLF, done
    }

    private var state = State.size
    private var size: UInt64 = 0
    private var digits = 0
    private var remaining: UInt64 = 0
    private var lineBytes = 0
    private var trailerBytes = 0
    private let maxLineBytes = 4096
    private let maxTrailerBytes = 16 * 1024

    public init() {}

    /// Decodes `input`, passing each run of body bytes to `emit`.
    public mutating func decode(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Void) -> Outcome {
        let b = input.bindMemory(to: UInt8.self)
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            switch state {
            case .size:
                if let v = hexValue(c) {
                    digits += 1
                    if digits > 15 { return fail("chunk size too large") }
                    size = size << 4 | UInt64(v)
                } else if digits == 0 {
                    return fail("invalid chunk size")
                } else if c == 0x3B {           // ';' starts a chunk extension
                    state = .ext
                    lineBytes = 0
                } else if c == 0x0D {
                    state = .sizeLF
                } else {
                    return fail("invalid chunk size")
                }
                i += 1
            case .ext:
                lineBytes += 1
                if lineBytes > maxLineBytes { return fail("chunk extension too long") }
                if c == 0x0D { state = .sizeLF } else if c == 0x0A || (c < 0x20 && c != 0x09) || c == 0x7F { return fail("invalid chunk extension") }
                i += 1
            case .sizeLF:
                guard c == 0x0A else { return fail("bare CR in chunk size line") }
                i += 1
                digits = 0
                if size == 0 {
                    state = .trailerStart
                } else {
                    remaining = size
                    state = .data
                }
                size = 0
            case .data:
                let take = Int(Swift.min(UInt64(n - i), remaining))
                emit(UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                remaining -= UInt64(take)
                if remaining == 0 { state = .dataCR }
            case .dataCR:
                guard c == 0x0D else { return fail("chunk data longer than its size") }
                state = .dataLF
                i += 1
            case .dataLF:
                guard c == 0x0A else { return fail("bare CR after chunk data") }
                state = .size
                i += 1
            case .trailerStart:
                if c == 0x0D { state = .finalLF; i += 1; continue }
                if c == 0x20 || c == 0x09 { return fail("obsolete line folding in trailer") }
                state = .trailerLine
            case .trailerLine:
                trailerBytes += 1
                if trailerBytes > maxTrailerBytes { return fail("trailer section too large") }
                if c == 0x0D { state = .trailerLF } else if c == 0x0A || (c < 0x20 && c != 0x09) { return fail("invalid trailer field") }
                i += 1
            case .trailerLF:
                guard c == 0x0A else { return fail("bare CR in trailer") }
                state = .trailerStart
                i += 1
            case .finalLF:
                guard c == 0x0A else { return fail("bare CR at end of chunked body") }
                state = .done
                return .done(consumed: i + 1)
            case .done:
                return .done(consumed: i)
            }
        }
        return state == .done ? .done(consumed: n) : .needMore
    }

    private mutating func fail(_ message: String) -> Outcome {
        state = .done
        return .failure(HTTPError(400, message))
    }

    @inline(__always) private func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
