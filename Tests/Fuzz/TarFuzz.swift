// Fuzz target `tar`: TarReader over the input whole, in pieces whose sizes come from the first byte, and
// byte by byte (short inputs); the event sequences must agree, follow the entry/data/end grammar, and
// deliver exactly each completed file's declared size.
import Core

enum TarFuzz {
    /// Small limits, so the fuzzer reaches every guard.
    static let limits = TarLimits(maxPathBytes: 300, maxPAXHeaderBytes: 8192, maxEntries: 64, maxTotalBytes: 1 << 20)

    enum Event: Equatable {
        case entry(TarEntry)
        /// Merged data of one entry: its byte count and FNV-1a hash, so splits do not matter.
        case data(count: Int, hash: UInt64)
        case end
        case warning(String)
    }

    struct Recorder: TarEventHandler {
        var events: [Event] = []
        var skipAll = false

        mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition {
            events.append(.entry(entry))
            return skipAll ? .skip : .deliver
        }

        mutating func tarData(_ bytes: UnsafeRawBufferPointer) throws(StreamError) {
            fuzzCheck(!bytes.isEmpty, "empty data callback")
            var count = 0, hash: UInt64 = 0xcbf29ce484222325
            if case .data(let c, let h) = events.last {
                count = c
                hash = h
                events.removeLast()
            }
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100000001b3 }
            events.append(.data(count: count + bytes.count, hash: hash))
        }

        mutating func tarEntryEnd() throws(StreamError) { events.append(.end) }

        mutating func tarWarning(_ message: String) { events.append(.warning(message)) }
    }

    struct Outcome: Equatable {
        var events: [Event]
        var error: StreamError?
    }

    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let input = UnsafeRawBufferPointer(rebasing: data[1...])
        let whole = read(input, piece: { _ in input.count })
        check(whole, input: input, delivered: true)
        // Piece sizes 1...256 cycling through a pattern seeded by the first byte.
        let split = read(input, piece: { k in 1 + Int(first &+ UInt8(truncatingIfNeeded: k &* 37)) })
        fuzzCheck(split == whole, "split read differs: \(split.error.map { "\($0)" } ?? "ok") vs \(whole.error.map { "\($0)" } ?? "ok"), "
                  + "\(split.events.count) vs \(whole.events.count) events: \(fuzzDescribe(input))")
        if input.count <= 4096 {
            let bytewise = read(input, piece: { _ in 1 })
            fuzzCheck(bytewise == whole, "byte-at-a-time read differs: \(fuzzDescribe(input))")
        }
        // Declining every file's data changes nothing but the data events.
        let skipped = read(input, piece: { _ in input.count }, skipAll: true)
        check(skipped, input: input, delivered: false)
        fuzzCheck(skipped.events == whole.events.filter { if case .data = $0 { return false } else { return true } }
                  && skipped.error == whole.error, "skipping data changed other events: \(fuzzDescribe(input))")
    }

    static func read(_ input: UnsafeRawBufferPointer, piece: (Int) -> Int, skipAll: Bool = false) -> Outcome {
        let reader = TarReader(limits: limits)
        var recorder = Recorder()
        recorder.skipAll = skipAll
        do throws(StreamError) {
            var i = 0, k = 0
            while i < input.count {
                let end = min(input.count, i + max(1, piece(k)))
                try reader.feed(UnsafeRawBufferPointer(rebasing: input[i..<end]), to: &recorder)
                i = end
                k += 1
            }
            try reader.finish(&recorder)
            fuzzCheck(reader.bytesRead == input.count, "bytesRead \(reader.bytesRead) of \(input.count)")
        } catch {
            return Outcome(events: recorder.events, error: error)
        }
        return Outcome(events: recorder.events, error: nil)
    }

    /// The grammar (entry, data only for a delivered file, end) and the byte counts.
    static func check(_ outcome: Outcome, input: UnsafeRawBufferPointer, delivered: Bool) {
        var current: TarEntry?
        var got = 0, entries = 0, totalData = 0
        for event in outcome.events {
            switch event {
            case .entry(let e):
                fuzzCheck(current == nil, "entry \(e.path) inside \(current!.path)")
                current = e
                got = 0
                entries += 1
                fuzzCheck(e.path.hasPrefix("/") && TarPath.normalize(e.path) == (e.path, false), "path not normalized: \(e.path)")
                fuzzCheck(e.path.utf8.count <= 3 * limits.maxPathBytes + 1, "path longer than the limit: \(e.path.utf8.count)")
                fuzzCheck(e.size >= 0 && e.mode <= 0o7777, "size \(e.size) mode \(e.mode)")
                if e.kind == .hardlink { fuzzCheck(e.linkName.hasPrefix("/"), "hardlink target not absolute: \(e.linkName)") }
                switch e.kind {
                case .hardlink, .symlink, .characterDevice, .blockDevice, .fifo:
                    fuzzCheck(e.size == 0, "\(e.kind) with \(e.size) data bytes")
                default:
                    break
                }
            case .data(let count, _):
                guard let e = current else { fuzzFail("data outside an entry") }
                fuzzCheck(delivered && e.kind == .file, "data for \(e.kind) \(e.path) (delivered: \(delivered))")
                got = count
                totalData += count
            case .end:
                guard let e = current else { fuzzFail("end outside an entry") }
                fuzzCheck(got == (e.kind == .file && delivered ? e.size : 0), "entry \(e.path): \(got) bytes delivered of \(e.size)")
                current = nil
            case .warning:
                break
            }
        }
        if current != nil { fuzzCheck(outcome.error != nil, "entry left open without an error") }
        fuzzCheck(totalData <= input.count, "more data (\(totalData)) than input (\(input.count))")
        fuzzCheck(entries <= limits.maxEntries!, "\(entries) entries past the limit")
        if let e = outcome.error {
            fuzzCheck([.corrupt, .truncated, .limit].contains(e.kind) && !e.message.isEmpty, "unexpected error \(e)")
        }
    }
}
