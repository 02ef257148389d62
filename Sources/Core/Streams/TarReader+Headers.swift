// TarReader's header logic: zero blocks, checksums, GNU long names, PAX headers, sparse files, entries.

extension TarReader {
    private enum TypeFlag {
        static let longName: UInt8 = 0x4C       // 'L'
        static let longLink: UInt8 = 0x4B       // 'K'
        static let pax: UInt8 = 0x78            // 'x'
        static let globalPAX: UInt8 = 0x67      // 'g'
        static let sparse: UInt8 = 0x53         // 'S'
        static let volumeLabel: UInt8 = 0x56    // 'V'
        static let multiVolume: UInt8 = 0x4D    // 'M'
        static let dumpDir: UInt8 = 0x44        // 'D'
    }

    func headerBlock<H: TarEventHandler>(_ h: TarHeaderBlock, _ handler: inout H) throws(StreamError) {
        let offset = position - TarHeaderBlock.size
        if state == .sparseMap {
            // An old-GNU sparse map continues while the "extended" flag at byte 504 is set.
            if h.byte(504) == 0 { skipPayload(sparseDataAfterMap, name: payloadName) }
            return
        }
        if h.isZero {
            zeroBlocks += 1
            if zeroBlocks == 2 {
                reachedEnd = true
                state = .end
                if let since = pendingSince {
                    handler.tarWarning("tar archive ends after the extension header at byte \(since) but before its entry")
                }
            }
            return
        }
        if zeroBlocks == 1 {
            handler.tarWarning("tar archive has a lone zero block at byte \(offset - TarHeaderBlock.size); reading on")
        }
        zeroBlocks = 0
        let sum = h.checksum()
        guard sum.valid else {
            let stored = sum.stored.map { "0o" + String($0, radix: 8) } ?? "unreadable"
            if offset == 0 {
                throw StreamError(.corrupt, "not a tar archive: the first header block's checksum does not match (stored \(stored), computed 0o\(String(sum.computed, radix: 8)))")
            }
            throw StreamError(.corrupt, "tar header at byte \(offset) is corrupt: checksum stored \(stored), computed 0o\(String(sum.computed, radix: 8))")
        }
        guard let size64 = h.number(124, 12), size64 >= 0, let size = Int(exactly: size64) else {
            throw StreamError(.corrupt, "tar header at byte \(offset) has an invalid size field")
        }
        switch h.typeflag {
        case TypeFlag.longName, TypeFlag.longLink:
            pendingSince = pendingSince ?? offset
            let what = h.typeflag == TypeFlag.longName ? "name" : "link"
            beginMetadata(h.typeflag, offset: offset, size: size, kept: size <= limits.maxPathBytes + 1,
                          name: "the GNU long \(what) header at byte \(offset)")
            if size == 0 { try endMetadata(&handler) }
        case TypeFlag.pax, TypeFlag.globalPAX:
            guard size <= limits.maxPAXHeaderBytes else {
                throw StreamError(.limit, "PAX extended header at byte \(offset) is \(size) bytes; the limit is \(limits.maxPAXHeaderBytes)")
            }
            if h.typeflag == TypeFlag.pax { pendingSince = pendingSince ?? offset }
            beginMetadata(h.typeflag, offset: offset, size: size, kept: true, name: "the PAX header at byte \(offset)")
            if size == 0 { try endMetadata(&handler) }
        default:
            try entryHeader(h, size: size, offset: offset, &handler)
        }
    }

    private func beginMetadata(_ type: UInt8, offset: Int, size: Int, kept: Bool, name: String) {
        metaType = type
        metaOffset = offset
        metaKept = kept
        meta.removeAll(keepingCapacity: meta.capacity <= 64 * 1024)
        beginPayload(.metadata, size: size, name: name)
    }

    /// Applies a GNU long name/link or PAX header once its payload is in.
    func endMetadata<H: TarEventHandler>(_ handler: inout H) throws(StreamError) {
        startPadding()
        switch metaType {
        case TypeFlag.longName, TypeFlag.longLink:
            let value = metaKept ? Array(meta.prefix { $0 != 0 }) : nil
            if value == nil {
                skipReason = "its GNU long \(metaType == TypeFlag.longName ? "name" : "link") is \(payloadSize) bytes, over the \(limits.maxPathBytes)-byte limit"
            }
            if metaType == TypeFlag.longName { longName = value } else { longLink = value }
        default:
            var records = TarPAXRecords()
            if let problem = meta.withUnsafeBytes({ TarPAXRecords.parse($0, into: &records) }) {
                throw StreamError(.corrupt, "malformed PAX extended header at byte \(metaOffset): \(problem)")
            }
            if metaType == TypeFlag.pax {
                pax = records
            } else {
                if records.path != nil || records.linkpath != nil || records.size != nil {
                    handler.tarWarning("global PAX header at byte \(metaOffset) sets path, linkpath or size; ignored, as Docker and containerd ignore them")
                }
                globalPAX.mtime = records.mtime ?? globalPAX.mtime
                globalPAX.uid = records.uid ?? globalPAX.uid
                globalPAX.gid = records.gid ?? globalPAX.gid
            }
        }
    }

    func skipPayload(_ size: Int, name: String) {
        beginPayload(.skip, size: size, name: name)
        if size == 0 { startPadding() }
    }

    private func clearPending() {
        longName = nil
        longLink = nil
        pax = TarPAXRecords()
        skipReason = nil
        pendingSince = nil
    }

    private func entryHeader<H: TarEventHandler>(_ h: TarHeaderBlock, size: Int, offset: Int, _ handler: inout H) throws(StreamError) {
        defer { clearPending() }
        entryCount += 1
        if let max = limits.maxEntries, entryCount > max {
            throw StreamError(.limit, "tar archive has more than \(max) entries")
        }
        let type = h.typeflag
        let headerOnly = (0x31...0x36).contains(type)      // '1' link ... '6' fifo: Go reads no data for these
        let payload = headerOnly ? 0 : (pax.size ?? size)
        let entryStart = pendingSince ?? offset

        // The path: PAX path, else GNU long name, else (POSIX ustar) prefix "/" name.
        pathScratch.removeAll(keepingCapacity: true)
        var climbed = false, trailingSlash = false, rawLength = 0
        if let stored = pax.path ?? longName {
            rawLength = stored.count
            trailingSlash = stored.last == 0x2F
            climbed = !stored.withUnsafeBytes { TarPath.append($0, to: &pathScratch) }
        } else {
            let name = h.field(0, 100)
            let prefix = h.isPOSIX ? h.field(345, 155) : UnsafeRawBufferPointer(start: nil, count: 0)
            rawLength = name.count + (prefix.isEmpty ? 0 : prefix.count + 1)
            trailingSlash = name.last == 0x2F
            let prefixOK = TarPath.append(prefix, to: &pathScratch)
            climbed = !(TarPath.append(name, to: &pathScratch) && prefixOK)
        }
        let path = TarPath.string(pathScratch)

        if type == TypeFlag.sparse || pax.sparse {
            let shown = TarPath.shown(pax.sparseName.map { TarPath.normalize(String(decoding: $0, as: UTF8.self)).path } ?? path)
            handler.tarWarning("tar entry \(shown) is a GNU sparse file; skipped (sparse files are not read)")
            if type == TypeFlag.sparse && h.byte(482) != 0 {
                state = .sparseMap
                payloadName = "skipped sparse entry \(shown)"
                sparseDataAfterMap = payload
            } else {
                skipPayload(payload, name: "skipped sparse entry \(shown)")
            }
            return
        }
        if rawLength > limits.maxPathBytes {
            skipReason = skipReason ?? "its path is \(rawLength) bytes, over the \(limits.maxPathBytes)-byte limit"
        }
        let kind: TarEntry.Kind
        switch type {
        case 0x30, 0x37: kind = .file                        // '0', '7' (contiguous)
        case 0: kind = trailingSlash ? .directory : .file    // old tars: a NUL type flag, directories end in "/"
        case 0x31: kind = .hardlink
        case 0x32: kind = .symlink
        case 0x33: kind = .characterDevice
        case 0x34: kind = .blockDevice
        case 0x35, TypeFlag.dumpDir: kind = .directory
        case 0x36: kind = .fifo
        case TypeFlag.volumeLabel:
            skipPayload(payload, name: "the volume label at byte \(offset)")
            return
        case TypeFlag.multiVolume:
            skipReason = skipReason ?? "it continues a file from another volume"
            kind = .other(type)
        default: kind = .other(type)
        }
        if path == "/" && kind != .directory {
            skipReason = skipReason ?? "its path is empty"
        }

        var linkName = "", linkClimbed = false
        if kind == .hardlink || kind == .symlink {
            if let stored = pax.linkpath ?? longLink {
                linkClimbed = stored.withUnsafeBytes { link($0, kind: kind, into: &linkName) }
            } else {
                linkClimbed = link(h.field(157, 100), kind: kind, into: &linkName)
            }
            if linkName.utf8.count > limits.maxPathBytes {
                skipReason = skipReason ?? "its link target is longer than the \(limits.maxPathBytes)-byte limit"
            }
        }
        if let reason = skipReason {
            let shown = TarPath.shown(path)
            handler.tarWarning("tar entry at byte \(entryStart) (\(shown)) skipped: \(reason)")
            skipPayload(payload, name: "skipped entry \(shown)")
            return
        }
        if climbed || linkClimbed {
            handler.tarWarning("tar entry \(TarPath.shown(path))\(linkClimbed ? " (link to \(TarPath.shown(linkName)))" : "") climbs above the root with \"..\"; read as clamped at the root")
        }

        let entry = TarEntry(path: path, kind: kind, linkName: linkName, size: payload,
                             mode: UInt32(truncatingIfNeeded: (h.number(100, 8) ?? 0) & 0o7777),
                             mtime: pax.mtime ?? globalPAX.mtime ?? h.number(136, 12) ?? 0,
                             uid: pax.uid ?? globalPAX.uid ?? Int(truncatingIfNeeded: h.number(108, 8) ?? 0),
                             gid: pax.gid ?? globalPAX.gid ?? Int(truncatingIfNeeded: h.number(116, 8) ?? 0),
                             escapesRoot: climbed || linkClimbed, headerOffset: entryStart)
        let disposition = try handler.tarEntry(entry)
        deliver = kind == .file && disposition == .deliver
        beginPayload(.data, size: payload, name: "entry \(TarPath.shown(path))")
        if payload == 0 {
            try handler.tarEntryEnd()
            startPadding()
        }
    }

    /// A symlink target as stored, or a hardlink target normalized like a path; true if `..` climbed out.
    private func link(_ raw: UnsafeRawBufferPointer, kind: TarEntry.Kind, into name: inout String) -> Bool {
        if kind == .symlink {
            name = String(decoding: raw, as: UTF8.self)
            return false
        }
        pathScratch.removeAll(keepingCapacity: true)
        let ok = TarPath.append(raw, to: &pathScratch)
        name = TarPath.string(pathScratch)
        return !ok
    }
}
