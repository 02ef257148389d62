// Push-based inflate for gzip (multi-member), zlib and raw deflate streams, with an output cap, over
// ISA-L's igzip (the default: about twice zlib's speed) or zlib; both decode the same bytes the same way
// (the gzip fuzz target compares them byte for byte).
import CEpoll

/// Decompresses deflate-based streams one input chunk at a time, pushing output in chunks of at most
/// `outputChunkBytes` from one buffer that is reused for the decoder's life (no per-chunk allocation).
///
/// Confined to one thread (a reactor's); not `Sendable`.
public final class GzipDecoder {
    /// The wrapping around the deflate data.
    public enum Format: Sendable, Equatable {
        /// RFC 1952, any number of members back to back (what `gzip -c a b` writes); zero bytes after a
        /// complete member are taken as padding.
        case gzip
        /// RFC 1950 (two-byte header, Adler-32 trailer).
        case zlib
        /// RFC 1951 with no header or trailer (zip entries).
        case raw

        var name: String {
            switch self {
            case .gzip: return "gzip"
            case .zlib: return "zlib"
            case .raw: return "deflate"
            }
        }

        var windowBits: Int32 {
            switch self {
            case .gzip: return Int32(CEP_INFLATE_GZIP)
            case .zlib: return Int32(CEP_INFLATE_ZLIB)
            case .raw: return Int32(CEP_INFLATE_RAW)
            }
        }
    }

    /// The inflate implementation underneath (for gzip and raw deflate; zlib-wrapped streams use zlib).
    public enum Backend: Sendable, Equatable, CaseIterable {
        /// ISA-L's igzip (`isal_inflate`).
        case isal
        /// zlib's `inflate`.
        case zlib

        /// What a decoder uses unless told otherwise.
        public static let standard = Backend.isal
    }

    /// Size of the reused output buffer, and so the largest chunk `decode` pushes.
    public static let outputChunkBytes = 64 * 1024

    public let format: Format
    public let backend: Backend
    /// Decompressed bytes allowed in total; past it `decode` fails with a `.limit` error.
    public let maxOutputBytes: Int?
    /// Compressed bytes consumed so far.
    public private(set) var bytesIn = 0
    /// Decompressed bytes pushed so far.
    public private(set) var bytesOut = 0
    /// Complete gzip members (or zlib/deflate streams) seen so far.
    public private(set) var streamsCompleted = 0
    /// Bytes after the end of a zlib or deflate stream, which are ignored (as zip readers do).
    public private(set) var trailingBytes = 0

    private enum State {
        case start, inStream, betweenMembers, padding, ended
        case failed(StreamError)
    }

    private var state = State.start
    /// Where the current gzip member began (compressed bytes), and its header as read so far: with
    /// ISA-L the decoder reads gzip headers itself, as zlib checks them.
    private var memberStart = 0
    private var header = GzipMemberHeader()
    private let stream: UnsafeMutableRawPointer
    private let buffer: UnsafeMutableRawBufferPointer

    public init(format: Format = .gzip, maxOutputBytes: Int? = nil, backend: Backend = .standard) {
        self.format = format
        self.maxOutputBytes = maxOutputBytes
        // zlib-wrapped streams (RFC 1950) always go to zlib: ISA-L's reading of their header (the preset
        // dictionary flag) differs, and nothing hot uses that format.
        self.backend = format == .zlib ? .zlib : backend
        let made = self.backend == .isal ? cep_isal_inflate_new(format.windowBits) : cep_inflate_new(format.windowBits)
        guard let s = made else { fatalError("cannot allocate an inflate stream") }
        stream = s
        buffer = .allocate(byteCount: Self.outputChunkBytes, alignment: 16)
    }

    deinit {
        if backend == .isal { cep_isal_inflate_free(stream) } else { cep_inflate_free(stream) }
        buffer.deallocate()
    }

    /// Makes the decoder ready for a new stream of the same format, keeping its buffers.
    public func reset() {
        resetStream()
        state = .start
        memberStart = 0
        header = GzipMemberHeader()
        bytesIn = 0
        bytesOut = 0
        streamsCompleted = 0
        trailingBytes = 0
    }

    /// Decompresses `input`, calling `output` with each run of decompressed bytes (valid only during the
    /// call). An error from `output` stops decoding and is rethrown; after any error the decoder stays failed.
    public func decode(_ input: UnsafeRawBufferPointer,
                       output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        if case .failed(let e) = state { throw e }
        do throws(StreamError) {
            try run(input, output)
        } catch {
            state = .failed(error)
            throw error
        }
    }

    /// Declares the end of the input: fails if the stream stopped before its end (a truncated download).
    public func finish() throws(StreamError) {
        switch state {
        case .failed(let e):
            throw e
        case .start:
            throw fail(.truncated, "\(format.name) stream is empty")
        case .inStream:
            let what = format == .raw ? "deflate stream ends before its final block" : "\(format.name) stream ends before its trailer"
            throw fail(.truncated, "\(what) (after \(bytesIn) compressed bytes, \(bytesOut) decompressed)")
        case .betweenMembers, .padding, .ended:
            return
        }
    }

    private func fail(_ kind: StreamError.Kind, _ message: String) -> StreamError {
        let e = StreamError(kind, message)
        state = .failed(e)
        return e
    }

    private func run(_ input: UnsafeRawBufferPointer,
                     _ output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        guard var p = input.baseAddress, !input.isEmpty else { return }
        var n = input.count
        while true {
            switch state {
            case .failed(let e):
                throw e
            case .ended:
                trailingBytes += n
                bytesIn += n
                return
            case .padding:
                let bytes = UnsafeRawBufferPointer(start: p, count: n)
                if let k = bytes.firstIndex(where: { $0 != 0 }) {
                    throw StreamError(.corrupt, "gzip: data after zero padding at compressed byte \(bytesIn + k)")
                }
                bytesIn += n
                return
            case .betweenMembers:
                if n == 0 { return }
                if p.load(as: UInt8.self) == 0 {
                    state = .padding
                    continue
                }
                resetStream()
                memberStart = bytesIn
                header = GzipMemberHeader()
                state = .inStream
            case .start:
                if n == 0 { return }
                state = .inStream
            case .inStream:
                if backend == .isal && format == .gzip && !header.isDone {
                    switch header.read(p, n) {
                    case .failure(let f):
                        let at = f.at > 0 ? memberStart + f.at : bytesIn
                        throw StreamError(.corrupt, "gzip: bad header of member \(streamsCompleted + 1) at compressed byte \(at): \(f.message)")
                    case .success(let used):
                        p += used
                        n -= used
                        bytesIn += used
                        if n == 0 { return }
                    }
                }
                var used = 0, made = 0
                let rc = backend == .isal ? cep_isal_inflate_step(stream, p, n, &used, buffer.baseAddress, buffer.count, &made)
                                          : cep_inflate_step(stream, p, n, &used, buffer.baseAddress, buffer.count, &made)
                p += used
                n -= used
                bytesIn += used
                // Output made by the call that found a fault is not passed on: ISA-L may already have
                // written the bad copy's bytes.
                let faulted = rc != Int32(CEP_Z_STREAM_END) && rc != Int32(CEP_Z_OK) && rc != Int32(CEP_Z_BUF_ERROR)
                if made > 0 {
                    if let cap = maxOutputBytes, bytesOut + made > cap {
                        throw StreamError(.limit, "decompressed size exceeds \(cap) bytes")
                    }
                }
                if made > 0 && !faulted {
                    bytesOut += made
                    try output(UnsafeRawBufferPointer(start: buffer.baseAddress, count: made))
                }
                switch rc {
                case Int32(CEP_Z_STREAM_END):
                    streamsCompleted += 1
                    state = format == .gzip ? .betweenMembers : .ended
                case Int32(CEP_Z_OK), Int32(CEP_Z_BUF_ERROR):
                    // A full output buffer may hide more output; otherwise zlib wants more input.
                    if made < buffer.count {
                        if n == 0 { return }
                        if used == 0 && made == 0 {
                            throw StreamError(.corrupt, "\(format.name): inflate made no progress at compressed byte \(bytesIn)")
                        }
                    }
                case Int32(CEP_Z_NEED_DICT):
                    throw StreamError(.unsupported, "zlib stream needs a preset dictionary")
                case Int32(CEP_Z_MEM_ERROR):
                    throw StreamError(.limit, "\(format.name): inflate ran out of memory")
                default:
                    throw dataError()
                }
            }
        }
    }

    private func resetStream() {
        _ = backend == .isal ? cep_isal_inflate_reset(stream) : cep_inflate_reset(stream)
    }

    /// Words the inflater's complaint (zlib's wording; ISA-L's errors are given the same words) by what
    /// it concerns: the header, a checksum, or the compressed data.
    private func dataError() -> StreamError {
        let raw = backend == .isal ? cep_isal_inflate_message(stream) : cep_inflate_message(stream)
        let msg = raw.map { String(cString: $0) } ?? "unknown error"
        let member = format == .gzip ? " of member \(streamsCompleted + 1)" : ""
        switch msg {
        case "incorrect header check", "unknown compression method", "invalid window size",
             "unknown header flags set", "header crc mismatch":
            return StreamError(.corrupt, "\(format.name): bad header\(member) at compressed byte \(bytesIn): \(msg)")
        case "incorrect data check", "incorrect length check":
            let sum = format == .gzip ? (msg == "incorrect length check" ? "length" : backend == .isal ? "CRC-32 and length" : "CRC-32") : "Adler-32"
            return StreamError(.integrity, "\(format.name): checksum mismatch\(member) (\(sum)): \(msg)")
        default:
            return StreamError(.corrupt, "\(format.name): corrupt data\(member) at compressed byte \(bytesIn): \(msg)")
        }
    }
}

extension GzipDecoder {
    /// Inflates a whole raw deflate stream (a zip entry) held in memory. `expectedSize` (the zip's
    /// uncompressed size) only sizes the result up front. Fails past `maxOutput` bytes, on corrupt data,
    /// or when the stream ends before its final block; bytes after the final block are ignored.
    public static func inflateRaw(_ bytes: UnsafeRawBufferPointer, maxOutput: Int,
                                  expectedSize: Int? = nil) throws(StreamError) -> [UInt8] {
        try GzipDecoder(format: .raw, maxOutputBytes: maxOutput).inflateAll(bytes, expectedSize: expectedSize)
    }

    /// `inflateRaw` over an array.
    public static func inflateRaw(_ bytes: [UInt8], maxOutput: Int, expectedSize: Int? = nil) throws(StreamError) -> [UInt8] {
        let result: Result<[UInt8], StreamError> = bytes.withUnsafeBytes { raw in
            do throws(StreamError) {
                return .success(try inflateRaw(raw, maxOutput: maxOutput, expectedSize: expectedSize))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decodes one whole stream of this decoder's format into memory, then leaves the decoder reset for
    /// the next (so a zip reader can reuse one decoder for every entry).
    public func inflateAll(_ bytes: UnsafeRawBufferPointer, expectedSize: Int? = nil) throws(StreamError) -> [UInt8] {
        reset()
        defer { reset() }
        var out: [UInt8] = []
        if let expectedSize, expectedSize > 0 { out.reserveCapacity(min(expectedSize, maxOutputBytes ?? expectedSize)) }
        try decode(bytes) { chunk throws(StreamError) in out.append(contentsOf: chunk) }
        try finish()
        return out
    }
}
