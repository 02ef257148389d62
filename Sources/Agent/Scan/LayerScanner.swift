// One layer in one pass: compressed bytes -> sha256 (when the source did not check it) -> gunzip|zstd|
// plain (by magic) -> sha256 of the tar (the diff_id) -> tar entries -> catalogers -> LayerFindings.
import Core

public final class LayerScanner {
    public let layer: Descriptor
    private let diffID: String?
    private let compressedHash: SHA256?
    private let tarHash = SHA256()
    private let decompressor: LayerDecompressor
    private let tar: TarReader
    private var handler: LayerEntryHandler

    public init(layer: Descriptor, diffID: String?, verifyCompressedDigest: Bool, catalogers: [any Cataloger],
                limits: ScanLimits, spool: SpoolBudget) {
        self.layer = layer
        self.diffID = diffID
        compressedHash = verifyCompressedDigest ? SHA256() : nil
        decompressor = LayerDecompressor(mediaType: layer.mediaType, layerDigest: layer.digest, maxOutputBytes: limits.maxLayerTarBytes)
        tar = TarReader(limits: TarLimits(maxPathBytes: limits.maxPathLength, maxEntries: limits.maxEntriesPerLayer,
                                          maxTotalBytes: limits.maxLayerTarBytes))
        handler = LayerEntryHandler(layerDigest: layer.digest, catalogers: catalogers, limits: limits, spool: spool)
    }

    /// Takes the next chunk of the layer blob.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws(ScanError) {
        compressedHash?.update(chunk)
        do throws(StreamError) {
            try decompressor.push(chunk) { (tarBytes: UnsafeRawBufferPointer) throws(StreamError) in
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
        var f = handler.findings
        f.diffID = tarDigest
        f.tarBytes = tar.bytesRead
        f.entries = tar.entryCount
        if let w = decompressor.warning { f.warnings.insert(w, at: 0) }
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
    var findings: LayerFindings
    let catalogers: [any Cataloger]
    let limits: ScanLimits
    let spool: SpoolBudget
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

    init(layerDigest: String, catalogers: [any Cataloger], limits: ScanLimits, spool: SpoolBudget) {
        findings = LayerFindings(layerDigest: layerDigest)
        self.catalogers = catalogers
        self.limits = limits
        self.spool = spool
    }

    mutating func tarEntry(_ entry: TarEntry) throws(StreamError) -> TarDataDisposition {
        let path = entry.path
        guard path != "/" else { return .skip }
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))!
        let parent = slash == path.startIndex ? "" : String(path[..<slash])
        let base = path[path.index(after: slash)...]
        if base.hasPrefix(".wh.") {
            if base == ".wh..wh..opq" {
                findings.opaqueDirectories.insert(parent.isEmpty ? "/" : parent)
            } else {
                findings.whiteouts.insert(parent + "/" + base.dropFirst(4))
            }
            return .skip
        }
        let hash = LayerFindings.pathHash(path)
        if entry.kind == .directory {
            findings.directoryHashes.insert(hash)
            return .skip
        }
        findings.nonDirectoryHashes.insert(hash)
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
            findings.warnings.append("\(path) (\(entry.size) bytes) is larger than the \(limits.maxCatalogedFileBytes)-byte limit for cataloged files; skipped")
            return .skip
        }
        capture = Capture(entry: catalogEntry, wanting: wanting, prefix: prefix, osFile: osFile)
        if entry.size > limits.inMemoryFileBytes {
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
            findings.osFiles[c.entry.path] = String(decoding: bytes, as: UTF8.self)
        }
        if let p = c.prefix, contents.count < p.count { return }
        let file = CatalogFile(entry: c.entry, layerDigest: findings.layerDigest, contents: contents)
        var packages: [Package] = []
        for cataloger in c.wanting {
            let result = cataloger.catalog(file)
            packages += result.packages
            findings.warnings += result.warnings
        }
        if !packages.isEmpty { findings.packagesByPath[c.entry.path, default: []] += packages }
    }

    mutating func tarWarning(_ message: String) {
        findings.warnings.append("layer \(findings.layerDigest): \(message)")
    }
}
