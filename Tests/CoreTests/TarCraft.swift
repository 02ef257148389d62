// Hand-made tar bytes for cases no tool writes on demand (base-256 sizes, V7 headers, signed checksums,
// bad fields), and the event recorder the tar tests compare.
import Core
import XCTest

enum TarCraft {
    enum Magic { case posix, gnu, v7 }

    /// One 512-byte header with the given fields and a correct checksum (unsigned, or signed like old tars).
    static func header(_ name: String, type: UInt8 = 0x30, size: Int = 0, sizeField: [UInt8]? = nil, link: String = "",
                       mode: Int = 0o644, mtime: Int = 1_700_000_000, magic: Magic = .posix, prefix: String = "",
                       rawName: [UInt8]? = nil, signedChecksum: Bool = false, patch: [Int: UInt8] = [:]) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], _ offset: Int) { for (k, c) in bytes.enumerated() { b[offset + k] = c } }
        func octal(_ v: Int, _ width: Int) -> [UInt8] {
            let digits = String(v, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(rawName ?? Array(name.utf8), 0)
        put(octal(mode, 8), 100)
        put(octal(0, 8), 108)
        put(octal(0, 8), 116)
        put(sizeField ?? octal(size, 12), 124)
        put(octal(mtime, 12), 136)
        b[156] = type
        put(Array(link.utf8), 157)
        switch magic {
        case .posix: put(Array("ustar\u{0}00".utf8), 257)
        case .gnu: put(Array("ustar  \u{0}".utf8), 257)
        case .v7: break
        }
        put(Array(prefix.utf8), 345)
        for (offset, byte) in patch { b[offset] = byte }
        put([UInt8](repeating: 0x20, count: 8), 148)
        let sum = signedChecksum ? b.reduce(0) { $0 + Int(Int8(bitPattern: $1)) } : b.reduce(0) { $0 + Int($1) }
        precondition(sum >= 0, "crafted headers keep their checksum positive")
        put(octal(sum, 7) + [0x20], 148)
        return b
    }

    /// `data` padded with zeros to a whole number of blocks.
    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// A whole entry: header, data, padding.
    static func file(_ name: String, _ data: [UInt8], magic: Magic = .posix) -> [UInt8] {
        header(name, size: data.count, magic: magic) + padded(data)
    }

    /// A PAX extended header ('x', or 'g' for global) holding `records`.
    static func pax(_ records: [(String, String)], type: UInt8 = 0x78) -> [UInt8] {
        var body: [UInt8] = []
        for (k, v) in records {
            let rest = " \(k)=\(v)\n".utf8.count
            var length = rest + 1
            while String(length).count + rest != length { length += 1 }
            body += Array("\(length) \(k)=\(v)\n".utf8)
        }
        return header("PaxHeaders/x", type: type, size: body.count) + padded(body)
    }

    static let endOfArchive = [UInt8](repeating: 0, count: 1024)

    /// Deterministic file contents (the same generator as the Python fixture script).
    static func contents(_ size: Int, seed: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 * 31 + seed) }
    }
}

/// A TarEventHandler that records events, merging consecutive data chunks so that the record does not
/// depend on where the input was split.
struct TarRecorder: TarEventHandler {
    enum Event: Equatable, CustomStringConvertible {
        case entry(TarEntry)
        case data([UInt8])
        case end
        case warning(String)

        var description: String {
            switch self {
            case .entry(let e): return "entry(\(e.path) \(e.kind) link=\(e.linkName) size=\(e.size) mode=\(String(e.mode, radix: 8)) mtime=\(e.mtime) uid=\(e.uid) gid=\(e.gid)\(e.escapesRoot ? " escapes" : "") @\(e.headerOffset))"
            case .data(let d): return "data(\(d.count) bytes)"
            case .end: return "end"
            case .warning(let w): return "warning(\(w))"
            }
        }
    }

    var events: [Event] = []
    /// Entries whose data the recorder declines.
    var skip: (TarEntry) -> Bool = { _ in false }
    /// Where data slices pointed, to prove they are slices of the fed chunk.
    var dataPointers: [UnsafeRawPointer] = []

    mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition {
        events.append(.entry(entry))
        return skip(entry) ? .skip : .deliver
    }

    mutating func tarData(_ bytes: UnsafeRawBufferPointer) throws(StreamError) {
        if let p = bytes.baseAddress { dataPointers.append(p) }
        if case .data(let previous) = events.last {
            events[events.count - 1] = .data(previous + Array(bytes))
        } else {
            events.append(.data(Array(bytes)))
        }
    }

    mutating func tarEntryEnd() throws(StreamError) { events.append(.end) }

    mutating func tarWarning(_ message: String) { events.append(.warning(message)) }

    var entries: [TarEntry] { events.compactMap { if case .entry(let e) = $0 { return e } else { return nil } } }
    var warnings: [String] { events.compactMap { if case .warning(let w) = $0 { return w } else { return nil } } }
}

/// What reading one archive produced: the events, and the error that stopped it (if any).
struct TarOutcome: Equatable {
    var events: [TarRecorder.Event]
    var error: StreamError?

    var entries: [TarEntry] { events.compactMap { if case .entry(let e) = $0 { return e } else { return nil } } }
    var warnings: [String] { events.compactMap { if case .warning(let w) = $0 { return w } else { return nil } } }

    /// The data delivered for the entry at `path`.
    func data(_ path: String) -> [UInt8]? {
        for (k, event) in events.enumerated() {
            guard case .entry(let e) = event, e.path == path else { continue }
            if k + 1 < events.count, case .data(let d) = events[k + 1] { return d }
            return []
        }
        return nil
    }
}

extension TarOutcome {
    /// Reads `bytes` at one chunk size.
    static func read(_ bytes: [UInt8], chunk: Int, limits: TarLimits = TarLimits(),
                     skip: @escaping (TarEntry) -> Bool = { _ in false }) -> TarOutcome {
        let reader = TarReader(limits: limits)
        var recorder = TarRecorder()
        recorder.skip = skip
        var error: StreamError?
        do throws(StreamError) {
            try TarFixture.feed(bytes, chunk: chunk) { (piece) throws(StreamError) in try reader.feed(piece, to: &recorder) }
            try reader.finish(&recorder)
        } catch let e {
            error = e
        }
        return TarOutcome(events: recorder.events, error: error)
    }

    /// Reads `bytes` at every chunk size of `TarFixture.chunkSizes`, asserts the outcomes are identical,
    /// and returns it.
    static func readAtEveryChunkSize(_ bytes: [UInt8], limits: TarLimits = TarLimits(),
                                     skip: @escaping (TarEntry) -> Bool = { _ in false },
                                     file: StaticString = #filePath, line: UInt = #line) -> TarOutcome {
        let reference = read(bytes, chunk: TarFixture.chunkSizes.last!, limits: limits, skip: skip)
        for chunk in TarFixture.chunkSizes.dropLast() {
            let other = read(bytes, chunk: chunk, limits: limits, skip: skip)
            if other != reference {
                XCTFail("\(chunk)-byte chunks give \(other.events.count) events (\(String(describing: other.error))), "
                        + "64 KiB chunks \(reference.events.count) (\(String(describing: reference.error))); "
                        + "first difference: \(zip(other.events, reference.events).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "in length")",
                        file: file, line: line)
            }
        }
        return reference
    }
}
