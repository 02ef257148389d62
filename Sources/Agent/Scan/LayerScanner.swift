// One layer in one pass: compressed bytes -> sha256 (when the source did not check it) -> gunzip|zstd|
// plain (by magic) -> sha256 of the tar (the diff_id) -> tar entries -> catalogers -> LayerFindings.
import Core

public final class LayerScanner {
    public let layer: Descriptor
    private let diffID: String?
    private let compressedHash: PipelinedSHA256?
    private let tarHash = PipelinedSHA256()
    private let decompressor: LayerDecompressor
    private let tar: TarReader
    private var handler: LayerEntryHandler
    private let cancellation: Cancellation
    private let stop: Cancellation?

    /// `budget` is the image's findings budget (a fresh one when the layer is scanned alone);
    /// `cancellation` (the caller's) and `stop` (the image scanner's, raised when another layer failed)
    /// are polled for every 64 KiB of tar bytes, so a stop request ends even a layer that inflates
    /// gigabytes from one network chunk within milliseconds.
    public init(layer: Descriptor, diffID: String?, verifyCompressedDigest: Bool, catalogers: [any Cataloger],
                limits: ScanLimits, spool: SpoolBudget, budget: FindingsBudget? = nil, cancellation: Cancellation = Cancellation(),
                stop: Cancellation? = nil) {
        self.layer = layer
        self.diffID = diffID
        self.cancellation = cancellation
        self.stop = stop
        compressedHash = verifyCompressedDigest ? PipelinedSHA256() : nil
        decompressor = LayerDecompressor(mediaType: layer.mediaType, layerDigest: layer.digest, maxOutputBytes: limits.maxLayerTarBytes)
        tar = TarReader(limits: TarLimits(maxPathBytes: limits.maxPathLength, maxEntries: limits.maxEntriesPerLayer,
                                          maxTotalBytes: limits.maxLayerTarBytes))
        handler = LayerEntryHandler(layerDigest: layer.digest, catalogers: catalogers, limits: limits, spool: spool,
                                    budget: budget ?? FindingsBudget(limits: limits), cancellation: stop ?? cancellation,
                                    callerCancellation: cancellation)
    }

    /// Throws, with the reason as its message, once the scan was asked to stop.
    private func checkCancelled() throws(StreamError) {
        if cancellation.isCancelled { throw StreamError(.stopped, cancellation.reason?.message ?? "stopped") }
        if let stop, stop.isCancelled { throw StreamError(.stopped, stop.reason?.message ?? "stopped") }
    }

    /// Takes the next chunk of the layer blob.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws(ScanError) {
        compressedHash?.update(chunk)
        do throws(StreamError) {
            try checkCancelled()
            try decompressor.push(chunk) { (tarBytes: UnsafeRawBufferPointer) throws(StreamError) in
                try checkCancelled()
                tarHash.update(tarBytes)
                try tar.feed(tarBytes, to: &handler)
            }
        } catch {
            throw handler.failure ?? mapped(error)
        }
    }

    /// Ends the layer: checks that nothing was truncated and that both digests match.
    public func finish() throws(ScanError) -> LayerFindings {
        do throws(StreamError) {
            try decompressor.finish { (tarBytes: UnsafeRawBufferPointer) throws(StreamError) in
                try checkCancelled()
                tarHash.update(tarBytes)
                try tar.feed(tarBytes, to: &handler)
            }
            try tar.finish(&handler)
        } catch {
            throw handler.failure ?? mapped(error)
        }
        if let compressedHash {
            let got = "sha256:" + compressedHash.finalizeHex()
            guard got == layer.digest else { throw ScanError(.integrity, "layer \(layer.digest): content digest is \(got)") }
        }
        let tarDigest = "sha256:" + tarHash.finalizeHex()
        if let diffID, diffID != tarDigest {
            throw ScanError(.integrity, "layer \(layer.digest): uncompressed digest is \(tarDigest), the config's diff_id is \(diffID)")
        }
        handler.recorder.set(diffID: tarDigest, tarBytes: tar.bytesRead, entries: tar.entryCount)
        var f = handler.recorder.finish()
        if let w = decompressor.warning { f.warnings.insert(UntrustedText.truncated(w, maxBytes: handler.limits.maxWarningBytes), at: 0) }
        return f
    }

    private func mapped(_ e: StreamError) -> ScanError {
        let kind: ScanError.Kind
        switch e.kind {
        case .limit: kind = .limit
        case .integrity: kind = .integrity
        case .unsupported: kind = .unsupported
        default: kind = .corrupt
        }
        return ScanError(kind, "layer \(layer.digest): \(e.message)")
    }
}

/// The tar events of one layer: records what the merge needs and hands wanted files to catalogers.
struct LayerEntryHandler: TarEventHandler {
    var recorder: LayerFindingsRecorder
    let catalogers: [any Cataloger]
    let limits: ScanLimits
    let spool: SpoolBudget
    /// What catalogers poll: the image scanner's stop flag when there is one, else the caller's.
    let cancellation: Cancellation
    let callerCancellation: Cancellation
    /// A failure raised inside the handler (spool exhausted, ...), reported instead of the reader's wrapper.
    var failure: ScanError?

    private var capture: Capture?

    /// The file being collected for catalogers (or for the OS identity).
    private struct Capture {
        let entry: CatalogEntry
        var wanting: [any Cataloger]
        var prefix: [UInt8]?
        let osFile: Bool
        var memory: [UInt8] = []
        var spoolFile: SpoolFile?
        var dropped = false
    }

    init(layerDigest: String, catalogers: [any Cataloger], limits: ScanLimits, spool: SpoolBudget,
         budget: FindingsBudget, cancellation: Cancellation, callerCancellation: Cancellation? = nil) {
        recorder = LayerFindingsRecorder(layerDigest: layerDigest, limits: limits, budget: budget)
        self.catalogers = catalogers
        self.limits = limits
        self.spool = spool
        self.cancellation = cancellation
        self.callerCancellation = callerCancellation ?? cancellation
    }

    mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition {
        let path = entry.path
        guard path != "/" else { return .skip }
        let base = SlashPath.baseName(of: path)
        if base.hasPrefix(".wh.") {
            // Tar paths are absolute here, so the parent of a top-level entry is "/".
            let parent = SlashPath.directory(of: path)
            if base == ".wh..wh..opq" {
                recorder.opaque(parent)
            } else {
                recorder.whiteout((parent == "/" ? "" : parent) + "/" + base.dropFirst(4))
            }
            return .skip
        }
        let hash = LayerFindings.pathHash(path)
        if entry.kind == .directory {
            recorder.directory(hash: hash)
            return .skip
        }
        recorder.nonDirectory(hash: hash)
        guard entry.kind == .file else { return .skip }

        let catalogEntry = CatalogEntry(path: path, size: entry.size, mode: entry.mode)
        let osFile = OSRelease.paths.contains(path) && entry.size <= 64 * 1024
        var wanting: [any Cataloger] = []
        var prefix: [UInt8]?
        for c in catalogers {
            switch c.interest(in: catalogEntry) {
            case .none: continue
            case .whole: wanting.append(c)
            case .wholeIfPrefix(let p):
                wanting.append(c)
                if prefix == nil || p.count > prefix!.count { prefix = p }
            }
        }
        guard osFile || !wanting.isEmpty else { return .skip }
        if entry.size > limits.maxCatalogedFileBytes {
            recorder.warn("\(TarPath.shown(path)) (\(entry.size) bytes) is larger than the \(limits.maxCatalogedFileBytes)-byte limit for cataloged files; skipped")
            return .skip
        }
        capture = Capture(entry: catalogEntry, wanting: wanting, prefix: prefix, osFile: osFile)
        // Files only a magic-prefix cataloger may want (executables, which it reads at offsets) are many
        // and large: kept in memory only while small, so two layers at once do not each hold an interpreter.
        let inMemory = prefix == nil ? limits.inMemoryFileBytes : min(limits.inMemoryFileBytes, limits.inMemoryExecutableBytes)
        if entry.size > inMemory {
            do { capture!.spoolFile = try SpoolFile(budget: spool) } catch {
                failure = error
                throw StreamError(.stopped, error.message)
            }
        } else {
            capture!.memory.reserveCapacity(entry.size)
        }
        return .deliver
    }

    mutating func tarData(_ bytes: UnsafeRawBufferPointer) throws(StreamError) {
        guard capture != nil, !capture!.dropped else { return }
        if let p = capture!.prefix {
            // Decide on the first bytes whether the prefix-conditional catalogers still want the file.
            let have = capture!.memory.count + (capture!.spoolFile?.size ?? 0)
            if have < p.count {
                let need = min(p.count - have, bytes.count)
                for i in 0..<need where bytes[i] != p[have + i] {
                    capture!.prefix = nil
                    capture!.wanting = capture!.wanting.filter { $0.interest(in: capture!.entry) == .whole }
                    if capture!.wanting.isEmpty && !capture!.osFile { capture!.dropped = true; return }
                    break
                }
            }
        }
        if let s = capture!.spoolFile {
            do { try s.append(bytes) } catch {
                failure = error
                throw StreamError(.stopped, error.message)
            }
        } else {
            capture!.memory.append(contentsOf: bytes)
        }
    }

    mutating func tarEntryEnd() throws(StreamError) {
        guard let c = capture else { return }
        capture = nil
        guard !c.dropped else { return }
        let contents: FileContents = c.spoolFile.map { .spool($0) } ?? .memory(c.memory)
        if c.osFile, case .memory(let bytes) = contents {
            recorder.osFile(c.entry.path, String(decoding: bytes, as: UTF8.self))
        }
        if let p = c.prefix, contents.count < p.count { return }
        let file = CatalogFile(entry: c.entry, layerDigest: recorder.findings.layerDigest, contents: contents, cancellation: cancellation)
        var packages: [Package] = []
        for cataloger in c.wanting {
            let result = cataloger.catalog(file)
            packages += result.packages
            recorder.warn(result.warnings)
            // A cataloger that returned early on a stop request has partial results: stop here too.
            for c in [callerCancellation, cancellation] where c.isCancelled {
                throw StreamError(.stopped, c.reason?.message ?? "stopped")
            }
        }
        recorder.add(packages, at: c.entry.path)
    }

    mutating func tarWarning(_ message: String) {
        recorder.warn("layer \(recorder.findings.layerDigest): \(message)")
    }
}
