// A reader for rpm's NDB `Packages.db` (rpm 4.16+ on SUSE; lib/backend/ndb/rpmpkg.c): a 32-byte header, slot
// pages of 16-byte slots naming each package's blob by 16-byte block offset and count, and the blobs, each
// framed by a head (magic, package index, timestamp, length) and a tail (adler32, length, magic).

/// The header blobs of an NDB package database, in slot order.
public struct NDBPackages {
    public let contents: FileContents
    public let slotPages: Int

    static let headerMagic: UInt32 = 0x506D_7052       // "RpmP" little-endian
    static let slotMagic: UInt32 = 0x746F_6C53         // "Slot"
    static let blobHeadMagic: UInt32 = 0x5362_6C42     // "BlbS"
    static let blobTailMagic: UInt32 = 0x4562_6C42     // "BlbE"
    static let pageSize = 4096
    static let slotSize = 16
    static let blockSize = 16
    static let blobHeadSize = 16
    static let blobTailSize = 12
    /// rpm grows slot pages one at a time; 2048 pages hold half a million packages (go-rpmdb's limit too).
    public static let maxSlotPages = 2048

    /// Reads and checks the 32-byte database header.
    public init(_ contents: FileContents) throws(ScanError) {
        self.contents = contents
        let header = try contents.read(offset: 0, count: 32)
        guard header.count == 32, RpmDBBytes.u32le(header, 0) == Self.headerMagic else {
            throw ScanError(.corrupt, "not an rpm NDB package database (no RpmP magic)")
        }
        let version = RpmDBBytes.u32le(header, 4)
        guard version == 0 else { throw ScanError(.unsupported, "rpm NDB version \(version); version 0 is read") }
        let pages = Int(RpmDBBytes.u32le(header, 12))
        guard pages >= 1, pages <= Self.maxSlotPages else {
            throw ScanError(.corrupt, "rpm NDB claims \(pages) slot pages (1...\(Self.maxSlotPages) allowed)")
        }
        slotPages = pages
    }

    /// Calls `body` with each package's blob until it returns false. Bad slots and blobs are skipped with a
    /// warning; so are blobs larger than `maxBlobBytes`. Blobs of a sound file do not overlap, so reading stops
    /// once the blobs read add up to more than the file (crafted slots all naming one large blob).
    public func forEachBlob(maxBlobBytes: Int, work: CatalogWork = CatalogWork(), warnings: inout CatalogWarnings, _ body: (_ blob: [UInt8]) -> Bool) {
        let fileBlocks = contents.count / Self.blockSize
        let firstBlobBlock = slotPages * Self.pageSize / Self.blockSize
        var blocksLeft = fileBlocks - firstBlobBlock
        for page in 0..<slotPages {
            let bytes: [UInt8]
            do { bytes = try contents.read(offset: page * Self.pageSize, count: Self.pageSize) } catch {
                warnings.add("slot page \(page): \(error)")
                return
            }
            guard bytes.count == Self.pageSize else {
                warnings.add("slot page \(page) is past the end of the file (truncated database?)")
                return
            }
            // The first two slots of page 0 are the database header.
            var o = page == 0 ? 32 : 0
            if work.count(Self.pageSize) { return }
            while o < Self.pageSize {
                defer { o += Self.slotSize }
                let slot = (page * Self.pageSize + o) / Self.slotSize
                guard RpmDBBytes.u32le(bytes, o) == Self.slotMagic else {
                    warnings.add("slot \(slot) has no Slot magic; skipped")
                    continue
                }
                let pkgIndex = RpmDBBytes.u32le(bytes, o + 4)
                let blockOffset = Int(RpmDBBytes.u32le(bytes, o + 8))
                let blockCount = Int(RpmDBBytes.u32le(bytes, o + 12))
                if blockOffset == 0 { continue }   // a free slot
                guard pkgIndex != 0, blockCount > 0, blockOffset >= firstBlobBlock,
                      blockOffset + blockCount <= fileBlocks else {
                    warnings.add("slot \(slot) (package \(pkgIndex)) points at blocks \(blockOffset)+\(blockCount), outside the blob area")
                    continue
                }
                blocksLeft -= blockCount
                guard blocksLeft >= 0 else {
                    warnings.add("slots name more blob blocks than the file holds (overlapping slots); reading stopped")
                    return
                }
                if work.count(blockCount * Self.blockSize) { return }
                guard let blob = self.blob(pkgIndex, blockOffset, blockCount, maxBlobBytes, &warnings) else { continue }
                if !body(blob) { return }
            }
        }
    }

    /// One blob, checked against its head and tail (the adler32 is checked too; a mismatch is a warning only,
    /// as rpm itself does not check it when reading a package).
    private func blob(_ pkgIndex: UInt32, _ blockOffset: Int, _ blockCount: Int, _ maxBlobBytes: Int,
                      _ warnings: inout CatalogWarnings) -> [UInt8]? {
        let total = blockCount * Self.blockSize
        guard total >= Self.blobHeadSize + Self.blobTailSize, total - Self.blobHeadSize - Self.blobTailSize <= maxBlobBytes + Self.blockSize else {
            warnings.add("package \(pkgIndex): blob of \(blockCount) blocks is too small or larger than \(maxBlobBytes) bytes; skipped")
            return nil
        }
        let bytes: [UInt8]
        do { bytes = try contents.read(offset: blockOffset * Self.blockSize, count: total) } catch {
            warnings.add("package \(pkgIndex): \(error)")
            return nil
        }
        guard bytes.count == total else {
            warnings.add("package \(pkgIndex): blob is past the end of the file")
            return nil
        }
        let length = Int(RpmDBBytes.u32le(bytes, 12))
        guard RpmDBBytes.u32le(bytes, 0) == Self.blobHeadMagic, RpmDBBytes.u32le(bytes, 4) == pkgIndex,
              (Self.blobHeadSize + length + Self.blobTailSize + Self.blockSize - 1) / Self.blockSize == blockCount else {
            warnings.add("package \(pkgIndex): blob head does not match its slot; skipped")
            return nil
        }
        let tail = total - Self.blobTailSize
        guard RpmDBBytes.u32le(bytes, tail + 4) == UInt32(length), RpmDBBytes.u32le(bytes, tail + 8) == Self.blobTailMagic else {
            warnings.add("package \(pkgIndex): blob tail is damaged; skipped")
            return nil
        }
        if Self.adler32(bytes[0..<tail]) != RpmDBBytes.u32le(bytes, tail) {
            warnings.add("package \(pkgIndex): blob checksum mismatch (read anyway)")
        }
        return Array(bytes[Self.blobHeadSize..<(Self.blobHeadSize + length)])
    }

    /// Adler-32 (RFC 1950), as rpmpkg.c computes it over head, blob and padding.
    static func adler32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var k = bytes.startIndex
        while k < bytes.endIndex {
            let chunkEnd = min(k + 5552, bytes.endIndex)
            while k < chunkEnd {
                a &+= UInt32(bytes[k])
                b &+= a
                k += 1
            }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }
}
