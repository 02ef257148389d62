// Push parser for tar streams (ustar, GNU, PAX): fed chunks at any boundaries, it reports entries, their
// data as slices of the input, and warnings, in bounded memory.

/// Guards for reading one archive; each is a clear `.limit` error or a skip with a warning.
public struct TarLimits: Sendable, Equatable {
    /// Longest stored path or link target in bytes; longer entries are skipped with a warning.
    public var maxPathBytes = 4096
    /// Largest PAX extended header ('x' or 'g') in bytes; a larger one is a `.limit` error.
    public var maxPAXHeaderBytes = 1 << 20
    /// Most entries (headers of files, directories, links ...) in one archive; more is a `.limit` error.
    public var maxEntries: Int? = 1_000_000
    /// Most tar bytes in one archive (one layer); more is a `.limit` error.
    public var maxTotalBytes: Int?

    public init(maxPathBytes: Int = 4096, maxPAXHeaderBytes: Int = 1 << 20, maxEntries: Int? = 1_000_000, maxTotalBytes: Int? = nil) {
        self.maxPathBytes = maxPathBytes
        self.maxPAXHeaderBytes = maxPAXHeaderBytes
        self.maxEntries = maxEntries
        self.maxTotalBytes = maxTotalBytes
    }
}

/// Whether the handler wants a regular file's data.
public enum TarDataDisposition: Sendable, Equatable {
    case deliver
    /// Pass over the data without calling `tarData`.
    case skip
}

/// Receives a `TarReader`'s events, in order: for each entry `tarEntry`, then (for a regular file whose
/// data it asked for) `tarData` zero or more times, then `tarEntryEnd`; `tarWarning` at any point between.
/// Throwing from any of them stops the reader with that error.
public protocol TarEventHandler {
    mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition
    /// The next bytes of the current file: a slice of the chunk being fed, valid only during the call.
    mutating func tarData(_ bytes: UnsafeRawBufferPointer) throws(StreamError)
    mutating func tarEntryEnd() throws(StreamError)
    /// Something skipped or tolerated (a sparse file, a missing end-of-archive marker, ...), in one line.
    mutating func tarWarning(_ message: String)
}

/// Reads a tar stream pushed to it in chunks of any size. Regular files' data is passed on as slices of
/// the fed chunks (no copy); headers that straddle two chunks are assembled in one 512-byte buffer.
/// Follows Go's archive/tar (what Docker and containerd unpack layers with) where readers differ: links,
/// directories, devices and fifos carry no data whatever their size field says, and global PAX headers do
/// not change paths or sizes.
///
/// Confined to one thread; not `Sendable`.
public final class TarReader {
    public let limits: TarLimits
    /// Bytes fed so far.
    public private(set) var bytesRead = 0
    /// Entry headers read so far (skipped entries included, GNU and PAX extension headers not).
    public internal(set) var entryCount = 0
    /// True once the end-of-archive marker (two zero blocks) was read; later bytes are ignored.
    public internal(set) var reachedEnd = false

    enum State { case header, sparseMap, data, metadata, skip, padding, end }

    var state = State.header
    /// Stream offset of the next byte to be processed.
    var position = 0
    let block: UnsafeMutableRawPointer
    var blockFill = 0
    /// Bytes left in the current data, metadata, skipped payload or padding.
    var remaining = 0
    var payloadSize = 0
    var paddingAfter = 0
    var deliver = false
    /// What the current payload belongs to, for truncation messages ("entry /x", "the PAX header at byte N").
    var payloadName = ""
    var zeroBlocks = 0
    var failure: StreamError?

    // Extension headers waiting for the entry they describe.
    var metaType: UInt8 = 0
    var metaOffset = 0
    var metaKept = true
    var meta: [UInt8] = []
    var longName: [UInt8]?
    var longLink: [UInt8]?
    var pax = TarPAXRecords()
    var globalPAX = TarPAXRecords()
    var skipReason: String?
    var pendingSince: Int?
    var sparseDataAfterMap = 0
    var pathScratch: [UInt8] = []

    public init(limits: TarLimits = TarLimits()) {
        self.limits = limits
        block = .allocate(byteCount: TarHeaderBlock.size, alignment: 16)
    }

    deinit { block.deallocate() }

    /// Parses the next chunk of the tar stream, calling `handler` for each event it completes.
    /// After any error (the handler's included) the reader stays failed.
    public func feed<H: TarEventHandler>(_ input: UnsafeRawBufferPointer, to handler: inout H) throws(StreamError) {
        if let failure { throw failure }
        do throws(StreamError) {
            try run(input, &handler)
        } catch {
            failure = error
            throw error
        }
    }

    /// Declares the end of the stream. Truncation inside a header or an entry's data is an error; a
    /// stream that stops at a block boundary without the full end-of-archive marker only warns.
    public func finish<H: TarEventHandler>(_ handler: inout H) throws(StreamError) {
        if let failure { throw failure }
        do throws(StreamError) {
            try end(&handler)
        } catch {
            failure = error
            throw error
        }
    }

    private func run<H: TarEventHandler>(_ input: UnsafeRawBufferPointer, _ handler: inout H) throws(StreamError) {
        bytesRead += input.count
        if let max = limits.maxTotalBytes, bytesRead > max {
            throw StreamError(.limit, "tar archive exceeds \(max) bytes")
        }
        guard let base = input.baseAddress else { return }
        let n = input.count
        var i = 0
        while i < n {
            switch state {
            case .end:
                position += n - i
                return
            case .header, .sparseMap:
                if blockFill == 0 && n - i >= TarHeaderBlock.size {
                    position += TarHeaderBlock.size
                    i += TarHeaderBlock.size
                    try headerBlock(TarHeaderBlock(p: base + (i - TarHeaderBlock.size)), &handler)
                } else {
                    let take = min(TarHeaderBlock.size - blockFill, n - i)
                    (block + blockFill).copyMemory(from: base + i, byteCount: take)
                    blockFill += take
                    i += take
                    position += take
                    if blockFill == TarHeaderBlock.size {
                        blockFill = 0
                        try headerBlock(TarHeaderBlock(p: UnsafeRawPointer(block)), &handler)
                    }
                }
            case .data:
                let take = min(remaining, n - i)
                if deliver { try handler.tarData(UnsafeRawBufferPointer(start: base + i, count: take)) }
                i += take
                position += take
                remaining -= take
                if remaining == 0 {
                    try handler.tarEntryEnd()
                    startPadding()
                }
            case .metadata:
                let take = min(remaining, n - i)
                if metaKept { meta.append(contentsOf: UnsafeRawBufferPointer(start: base + i, count: take)) }
                i += take
                position += take
                remaining -= take
                if remaining == 0 { try endMetadata(&handler) }
            case .skip, .padding:
                let take = min(remaining, n - i)
                i += take
                position += take
                remaining -= take
                if remaining == 0 {
                    if state == .skip { startPadding() } else { state = .header }
                }
            }
        }
    }

    /// Moves on to the padding after the payload just read (or straight to the next header).
    func startPadding() {
        remaining = paddingAfter
        paddingAfter = 0
        state = remaining > 0 ? .padding : .header
    }

    /// Starts a payload of `size` bytes in `next` state (data, metadata or skip); zero-length payloads end at once.
    func beginPayload(_ next: State, size: Int, name: String) {
        payloadSize = size
        payloadName = name
        remaining = size
        paddingAfter = size % TarHeaderBlock.size == 0 ? 0 : TarHeaderBlock.size - size % TarHeaderBlock.size
        state = next
    }

    private func end<H: TarEventHandler>(_ handler: inout H) throws(StreamError) {
        defer { state = .end }
        switch state {
        case .end:
            return
        case .header:
            if blockFill > 0 {
                let partial = UnsafeRawBufferPointer(start: block, count: blockFill)
                guard partial.allSatisfy({ $0 == 0 }) else {
                    throw StreamError(.truncated, "tar archive ends inside a header block at byte \(position - blockFill) "
                                      + "(\(blockFill) of 512 bytes)")
                }
                handler.tarWarning("tar archive ends inside its end-of-archive marker (after \(position) bytes)")
            } else if zeroBlocks == 1 {
                handler.tarWarning("tar archive ends after one zero block; the end-of-archive marker has two")
            } else {
                handler.tarWarning("tar archive ends without its end-of-archive marker (after \(position) bytes)")
            }
            if let since = pendingSince {
                handler.tarWarning("tar archive ends after the extension header at byte \(since) but before its entry")
            }
        case .data, .skip:
            throw StreamError(.truncated, "tar archive ends inside \(payloadName): \(payloadSize - remaining) of \(payloadSize) bytes")
        case .metadata:
            throw StreamError(.truncated, "tar archive ends inside \(payloadName): \(payloadSize - remaining) of \(payloadSize) bytes")
        case .sparseMap:
            throw StreamError(.truncated, "tar archive ends inside the sparse map of \(payloadName)")
        case .padding:
            handler.tarWarning("tar archive ends inside the block padding after \(payloadName)")
        }
    }
}
