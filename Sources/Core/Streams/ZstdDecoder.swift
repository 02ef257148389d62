// Push-based zstd decompression (libzstd streaming API): any number of frames, a window limit, an output cap.
import CEpoll

/// Decompresses a zstd stream one input chunk at a time, pushing output in chunks of at most
/// `outputChunkBytes` from one reused buffer. Frames may follow each other (what `zstd -c a b` or
/// `cat a.zst b.zst` makes); skippable frames are passed over.
///
/// Memory is bounded by the window limit: a frame whose window is larger than `2^windowLogMax` bytes
/// fails with a `.limit` error instead of allocating it. Confined to one thread; not `Sendable`.
public final class ZstdDecoder {
    /// Size of the reused output buffer, and so the largest chunk `decode` pushes.
    public static let outputChunkBytes = 64 * 1024
    /// The default window limit: 2^27 = 128 MiB, zstd's own default and enough for `--long=27`.
    public static let defaultWindowLogMax = 27

    /// Decompressed bytes allowed in total; past it `decode` fails with a `.limit` error.
    public let maxOutputBytes: Int?
    public let windowLogMax: Int
    /// Compressed bytes consumed so far.
    public private(set) var bytesIn = 0
    /// Decompressed bytes pushed so far.
    public private(set) var bytesOut = 0
    /// Frames (including skippable ones) decoded completely so far.
    public private(set) var framesCompleted = 0

    private var inFrame = false
    private var failure: StreamError?
    private let dctx: UnsafeMutableRawPointer
    private let buffer: UnsafeMutableRawBufferPointer

    public init(maxOutputBytes: Int? = nil, windowLogMax: Int = ZstdDecoder.defaultWindowLogMax) {
        self.maxOutputBytes = maxOutputBytes
        self.windowLogMax = windowLogMax
        guard let d = cep_zstd_new(Int32(windowLogMax)) else { fatalError("libzstd cannot create a decompression context (windowLogMax \(windowLogMax))") }
        dctx = d
        buffer = .allocate(byteCount: Self.outputChunkBytes, alignment: 16)
    }

    deinit {
        cep_zstd_free(dctx)
        buffer.deallocate()
    }

    /// Makes the decoder ready for a new stream, keeping its context and buffer.
    public func reset() {
        cep_zstd_reset(dctx)
        bytesIn = 0
        bytesOut = 0
        framesCompleted = 0
        inFrame = false
        failure = nil
    }

    /// Decompresses `input`, calling `output` with each run of decompressed bytes (valid only during the
    /// call). An error from `output` stops decoding and is rethrown; after any error the decoder stays failed.
    public func decode(_ input: UnsafeRawBufferPointer,
                       output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        if let failure { throw failure }
        do throws(StreamError) {
            try run(input, output)
        } catch {
            failure = error
            throw error
        }
    }

    /// Declares the end of the input: fails if it stopped inside a frame (a truncated download).
    public func finish() throws(StreamError) {
        if let failure { throw failure }
        if bytesIn == 0 { failure = StreamError(.truncated, "zstd stream is empty") }
        if inFrame {
            failure = StreamError(.truncated, "zstd stream ends inside frame \(framesCompleted + 1) (after \(bytesIn) compressed bytes, \(bytesOut) decompressed)")
        }
        if let failure { throw failure }
    }

    private func run(_ input: UnsafeRawBufferPointer,
                     _ output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        guard var p = input.baseAddress, !input.isEmpty else { return }
        var n = input.count
        while true {
            var used = 0, made = 0
            let rc = cep_zstd_step(dctx, p, n, &used, buffer.baseAddress, buffer.count, &made)
            let kind = cep_zstd_error_kind(rc)
            if kind != Int32(CEP_ZSTD_OK) { throw error(kind, rc) }
            p += used
            n -= used
            bytesIn += used
            if made > 0 {
                if let cap = maxOutputBytes, bytesOut + made > cap {
                    throw StreamError(.limit, "decompressed size exceeds \(cap) bytes")
                }
                bytesOut += made
                try output(UnsafeRawBufferPointer(start: buffer.baseAddress, count: made))
            }
            // 0 ends a frame; a positive hint is a frame in progress, unless nothing of one was read yet.
            if rc == 0 {
                if inFrame || used > 0 { framesCompleted += 1 }
                inFrame = false
            } else if used > 0 {
                inFrame = true
            }
            // A full output buffer may hide more output; otherwise libzstd has taken all it can.
            if made < buffer.count {
                if n == 0 { return }
                if used == 0 && made == 0 {
                    throw StreamError(.corrupt, "zstd: no progress at compressed byte \(bytesIn)")
                }
            }
        }
    }

    private func error(_ kind: Int32, _ rc: Int) -> StreamError {
        let name = String(cString: cep_zstd_error_name(rc))
        switch kind {
        case Int32(CEP_ZSTD_WINDOW_TOO_LARGE):
            let limit = 1 << windowLogMax
            let size = limit >= 1 << 20 ? "\(limit >> 20) MiB" : "\(limit >> 10) KiB"
            return StreamError(.limit, "zstd frame \(framesCompleted + 1) needs a window larger than the \(size) limit "
                               + "(windowLogMax \(windowLogMax)); it was compressed with a long-distance window (--long)")
        case Int32(CEP_ZSTD_CHECKSUM):
            return StreamError(.integrity, "zstd: checksum mismatch in frame \(framesCompleted + 1): \(name)")
        case Int32(CEP_ZSTD_MEMORY):
            return StreamError(.limit, "zstd: out of memory: \(name)")
        default:
            return StreamError(.corrupt, "zstd: corrupt data in frame \(framesCompleted + 1) at compressed byte \(bytesIn): \(name)")
        }
    }
}
