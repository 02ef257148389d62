// One object per layer blob: compressed bytes in, tar bytes out, the codec chosen by the magic number.

/// Turns a layer blob into its tar stream one body chunk at a time. The first bytes pick the codec
/// (gzip, zstd or none) and the magic number wins over the declared media type; when they disagree,
/// `warning` says so. A plain tar passes through as slices of the input, without a copy.
///
/// Confined to one thread; not `Sendable`.
public final class LayerDecompressor {
    public let mediaType: String
    public let layerDigest: String
    /// What the media type declares (nil for a media type that is not a known layer type).
    public let declared: LayerCompression?
    /// Tar bytes allowed in total (a decompression-bomb guard); past it, a `.limit` error.
    public let maxOutputBytes: Int?
    /// What the bytes turned out to be; nil until enough bytes arrived to tell.
    public private(set) var compression: LayerCompression?
    /// "layer sha256:... is declared <media type> but is zstd", when the magic and the media type disagree.
    public private(set) var warning: String?
    /// Compressed bytes pushed so far.
    public private(set) var bytesIn = 0
    /// Tar bytes delivered so far.
    public private(set) var bytesOut = 0

    private let zstdWindowLogMax: Int
    private var prefix: [UInt8] = []
    private var gzip: GzipDecoder?
    private var zstd: ZstdDecoder?
    private var failure: StreamError?

    public init(mediaType: String, layerDigest: String, maxOutputBytes: Int? = nil,
                zstdWindowLogMax: Int = ZstdDecoder.defaultWindowLogMax) {
        self.mediaType = mediaType
        self.layerDigest = layerDigest
        self.maxOutputBytes = maxOutputBytes
        self.zstdWindowLogMax = zstdWindowLogMax
        declared = CompressionSniffer.declared(byMediaType: mediaType)
    }

    /// Takes the next chunk of the blob and calls `output` with each run of tar bytes it yields (valid only
    /// during the call). After any error the decompressor stays failed.
    public func push(_ input: UnsafeRawBufferPointer,
                     output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        if let failure { throw failure }
        bytesIn += input.count
        do throws(StreamError) {
            var rest = input
            if compression == nil {
                if prefix.isEmpty, let verdict = CompressionSniffer.sniff(input, atEnd: false) {
                    try choose(verdict)
                } else {
                    // Fewer bytes than the magic numbers need: keep them until the next chunk.
                    let take = min(CompressionSniffer.prefixBytes - prefix.count, input.count)
                    prefix.append(contentsOf: input[0..<take])
                    rest = UnsafeRawBufferPointer(rebasing: input[take...])
                    guard try choose(atEnd: false) else { return }
                    try flushPrefix(output)
                }
            }
            try decode(rest, output)
        } catch {
            failure = error
            throw error
        }
    }

    /// Declares the end of the blob: fails if the compressed stream is truncated.
    public func finish(output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        if let failure { throw failure }
        do throws(StreamError) {
            if compression == nil {
                _ = try choose(atEnd: true)
                try flushPrefix(output)
            }
            try gzip?.finish()
            try zstd?.finish()
        } catch {
            failure = error
            throw error
        }
    }

    /// Sniffs the kept prefix; false while it is too short to tell.
    private func choose(atEnd: Bool) throws(StreamError) -> Bool {
        let verdict = prefix.withUnsafeBytes { CompressionSniffer.sniff($0, atEnd: atEnd) }
        guard let verdict else { return false }
        try choose(verdict)
        return true
    }

    private func choose(_ verdict: CompressionSniffer.Verdict) throws(StreamError) {
        switch verdict {
        case .unsupported(let name):
            throw StreamError(.unsupported, "layer \(layerDigest) is \(name)-compressed (declared \(mediaType)); "
                              + "container layers are gzip, zstd or uncompressed tar")
        case .compression(let c):
            compression = c
            if let declared, declared != c {
                warning = "layer \(layerDigest) is declared \(mediaType) but is \(c.phrase)"
            }
            switch c {
            case .gzip: gzip = GzipDecoder(format: .gzip, maxOutputBytes: maxOutputBytes)
            case .zstd: zstd = ZstdDecoder(maxOutputBytes: maxOutputBytes, windowLogMax: zstdWindowLogMax)
            case .uncompressed: break
            }
        }
    }

    private func flushPrefix(_ output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        guard !prefix.isEmpty else { return }
        let kept = prefix
        prefix = []
        let result: Result<Void, StreamError> = kept.withUnsafeBytes { bytes in
            do throws(StreamError) { return .success(try decode(bytes, output)) } catch { return .failure(error) }
        }
        try result.get()
    }

    private func decode(_ input: UnsafeRawBufferPointer,
                        _ output: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        guard !input.isEmpty else { return }
        if let gzip {
            try gzip.decode(input, output: output)
            bytesOut = gzip.bytesOut
        } else if let zstd {
            try zstd.decode(input, output: output)
            bytesOut = zstd.bytesOut
        } else {
            if let cap = maxOutputBytes, bytesOut + input.count > cap {
                throw StreamError(.limit, "decompressed size exceeds \(cap) bytes")
            }
            bytesOut += input.count
            try output(input)
        }
    }
}
