// A reader for BerkeleyDB's hash access method file format (rpm's `Packages` before rpm 4.16): the meta page,
// buckets mapped to pages through the spares table, chained bucket pages, on-page items and overflow chains.
// Pages are read one at a time through `FileContents.read`, so a large spooled file never sits in memory.

/// The key/data pairs of a BerkeleyDB hash database (versions 7...10 of the hash format: BerkeleyDB 4.x-6.x).
public struct BerkeleyDBHash {
    public let contents: FileContents
    public let pageSize: Int
    public let lastPage: UInt32
    public let maxBucket: UInt32
    /// Written on a big-endian machine: every page integer is byte-swapped.
    public let bigEndian: Bool
    /// Where a page's item index starts: after the 26-byte page header, plus 6 bytes when pages carry checksums.
    public let indexStart: Int
    let spares: [UInt32]
    /// What the meta page claims beyond the file (a truncated copy), reported by `forEachPair`.
    let notes: [String]

    static let hashMagic: UInt32 = 0x061561
    static let btreeMagic: UInt32 = 0x053162
    enum PageType: UInt8 {
        case hashUnsorted = 2, overflow = 7, hashMeta = 8, hash = 13
    }
    enum ItemType: UInt8 {
        case keyData = 1, duplicate = 2, offPage = 3, offDuplicate = 4
    }

    /// Reads and checks the meta page.
    public init(_ contents: FileContents) throws(ScanError) {
        self.contents = contents
        let meta = try contents.read(offset: 0, count: 512)
        guard meta.count == 512 else { throw ScanError(.corrupt, "BerkeleyDB file of \(meta.count) bytes has no meta page") }
        if RpmDBBytes.u32le(meta, 12) == Self.hashMagic {
            bigEndian = false
        } else if RpmDBBytes.u32be(meta, 12) == Self.hashMagic {
            bigEndian = true
        } else if RpmDBBytes.u32le(meta, 12) == Self.btreeMagic || RpmDBBytes.u32be(meta, 12) == Self.btreeMagic {
            throw ScanError(.unsupported, "BerkeleyDB btree database; only the hash access method is read")
        } else {
            throw ScanError(.corrupt, "not a BerkeleyDB hash database (magic \(RpmDBBytes.u32le(meta, 12)))")
        }
        let version = RpmDBBytes.u32(meta, 16, bigEndian: bigEndian)
        guard (7...10).contains(version) else {
            throw ScanError(.unsupported, "BerkeleyDB hash format version \(version); versions 7...10 are read")
        }
        let size = Int(RpmDBBytes.u32(meta, 20, bigEndian: bigEndian))
        guard size >= 512, size <= 65536, size & (size - 1) == 0 else {
            throw ScanError(.corrupt, "BerkeleyDB page size \(size) is not a power of two in 512...65536")
        }
        guard meta[24] == 0 else { throw ScanError(.unsupported, "encrypted BerkeleyDB database") }
        guard meta[25] == PageType.hashMeta.rawValue else {
            throw ScanError(.corrupt, "BerkeleyDB page 0 has type \(meta[25]), not a hash meta page")
        }
        pageSize = size
        indexStart = meta[26] & 0x01 != 0 ? 32 : 26
        let filePages = contents.count / size
        guard filePages >= 2 else { throw ScanError(.corrupt, "BerkeleyDB file of \(contents.count) bytes holds no data page") }
        var notes: [String] = []
        let declaredLast = RpmDBBytes.u32(meta, 32, bigEndian: bigEndian)
        lastPage = UInt32(min(Int(declaredLast), filePages - 1))
        if declaredLast > lastPage {
            notes.append("the meta page names \(declaredLast) as the last page but the file has \(filePages) pages (truncated?)")
        }
        let declaredMaxBucket = RpmDBBytes.u32(meta, 72, bigEndian: bigEndian)
        maxBucket = min(declaredMaxBucket, lastPage)
        if declaredMaxBucket > maxBucket {
            notes.append("the meta page claims \(UInt64(declaredMaxBucket) + 1) buckets in \(UInt64(lastPage) + 1) pages; only the first \(UInt64(maxBucket) + 1) are read")
        }
        self.notes = notes
        let swapped = bigEndian
        spares = (0..<32).map { RpmDBBytes.u32(meta, 96 + 4 * $0, bigEndian: swapped) }
    }

    /// The first page of a bucket: `bucket + spares[ceil(log2(bucket + 1))]`, as BerkeleyDB's BUCKET_TO_PAGE.
    func bucketPage(_ bucket: UInt32) -> UInt64 {
        var log = 0
        var limit: UInt64 = 1
        while limit < UInt64(bucket) + 1 { limit <<= 1; log += 1 }
        return UInt64(bucket) + UInt64(spares[min(log, 31)])
    }

    /// Calls `body` with every key/data pair, bucket by bucket, until it returns false. Values longer than
    /// `maxItemBytes` are skipped; damaged pages end their bucket's chain. Both become warnings. A sound file
    /// is read about once (each bucket page once, each overflow chain once); reads stop at twice that, so
    /// crafted chains shared by many items cannot make the walk quadratic.
    public func forEachPair(maxItemBytes: Int, work: CatalogWork = CatalogWork(), warnings: inout CatalogWarnings,
                            _ body: (_ key: [UInt8], _ value: [UInt8]) -> Bool) {
        var walk = Walk(warnings: warnings, maxItemBytes: maxItemBytes, pageReadsLeft: 2 * (Int(lastPage) + 1) + 8)
        defer { warnings = walk.warnings }
        for note in notes { walk.warnings.add(note) }
        var visited = Set<UInt64>()
        for bucket in 0...maxBucket {
            var pgno = bucketPage(bucket)
            if work.count() { return }
            while pgno != 0 {
                guard pgno <= UInt64(lastPage) else {
                    walk.warnings.add("bucket \(bucket) leads to page \(pgno), past the last page \(lastPage)")
                    break
                }
                guard visited.insert(pgno).inserted else {
                    walk.warnings.add("bucket \(bucket) leads back to page \(pgno); chain cut")
                    break
                }
                if work.count(pageSize) { return }
                guard let page = readPage(pgno, &walk) else {
                    if walk.pageReadsLeft <= 0 { return }
                    break
                }
                guard page[25] == PageType.hash.rawValue || page[25] == PageType.hashUnsorted.rawValue else {
                    walk.warnings.add("page \(pgno) of bucket \(bucket) has type \(page[25]), not a hash page")
                    break
                }
                let entries = Int(RpmDBBytes.u16(page, 20, bigEndian: bigEndian))
                guard indexStart + 2 * entries <= pageSize else {
                    walk.warnings.add("page \(pgno) claims \(entries) items, more than fit in a page")
                    break
                }
                if entries % 2 != 0 { walk.warnings.add("page \(pgno) has an odd number of items; the last is ignored") }
                var k = 0
                while k + 1 < entries {
                    defer { k += 2 }
                    guard let key = item(page, k, entries, pgno, &walk), let value = item(page, k + 1, entries, pgno, &walk) else {
                        if walk.pageReadsLeft <= 0 { return }
                        continue
                    }
                    if work.count(key.count + value.count) || !body(key, value) { return }
                }
                pgno = UInt64(RpmDBBytes.u32(page, 16, bigEndian: bigEndian))
            }
        }
    }

    /// The state of one walk over the file.
    private struct Walk {
        var warnings: CatalogWarnings
        let maxItemBytes: Int
        var pageReadsLeft: Int
        var warnedDuplicates = false
    }

    /// Item `k` of a hash page: on-page bytes, or the bytes of an overflow chain.
    private func item(_ page: [UInt8], _ k: Int, _ entries: Int, _ pgno: UInt64, _ walk: inout Walk) -> [UInt8]? {
        let offset = Int(RpmDBBytes.u16(page, indexStart + 2 * k, bigEndian: bigEndian))
        // Items are packed from the end of the page down, so an item ends where the one before it starts.
        let end = k == 0 ? pageSize : Int(RpmDBBytes.u16(page, indexStart + 2 * (k - 1), bigEndian: bigEndian))
        guard offset >= indexStart + 2 * entries, offset < end, end <= pageSize else {
            walk.warnings.add("page \(pgno) item \(k) has offset \(offset) outside its page")
            return nil
        }
        switch ItemType(rawValue: page[offset]) {
        case .keyData?:
            guard end - offset - 1 <= walk.maxItemBytes else {
                walk.warnings.add("page \(pgno) item \(k) is larger than \(walk.maxItemBytes) bytes; skipped")
                return nil
            }
            return Array(page[(offset + 1)..<end])
        case .offPage?:
            guard end - offset >= 12 else {
                walk.warnings.add("page \(pgno) item \(k) is a truncated overflow reference")
                return nil
            }
            let start = UInt64(RpmDBBytes.u32(page, offset + 4, bigEndian: bigEndian))
            let total = Int(RpmDBBytes.u32(page, offset + 8, bigEndian: bigEndian))
            guard total <= walk.maxItemBytes else {
                walk.warnings.add("page \(pgno) item \(k) is \(total) bytes, more than \(walk.maxItemBytes); skipped")
                return nil
            }
            return overflow(start, total: total, &walk)
        case .duplicate?, .offDuplicate?:
            if !walk.warnedDuplicates { walk.warnings.add("duplicate-key items are not read (page \(pgno))") }
            walk.warnedDuplicates = true
            return nil
        case nil:
            walk.warnings.add("page \(pgno) item \(k) has unknown type \(page[offset])")
            return nil
        }
    }

    /// The bytes of an overflow chain: each overflow page holds `hf_offset` bytes after its header.
    private func overflow(_ start: UInt64, total: Int, _ walk: inout Walk) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(min(total, pageSize * (Int(lastPage) + 1)))
        var pgno = start
        while out.count < total {
            guard pgno != 0, pgno <= UInt64(lastPage) else {
                walk.warnings.add("overflow chain from page \(start) ends after \(out.count) of \(total) bytes")
                return nil
            }
            guard let page = readPage(pgno, &walk) else { return nil }
            guard page[25] == PageType.overflow.rawValue else {
                walk.warnings.add("overflow chain from page \(start) reaches page \(pgno) of type \(page[25])")
                return nil
            }
            let length = Int(RpmDBBytes.u16(page, 22, bigEndian: bigEndian))
            guard indexStart + length <= pageSize else {
                walk.warnings.add("overflow page \(pgno) claims \(length) bytes, more than fit in a page")
                return nil
            }
            out.append(contentsOf: page[indexStart..<(indexStart + min(length, total - out.count))])
            pgno = UInt64(RpmDBBytes.u32(page, 16, bigEndian: bigEndian))
        }
        return out
    }

    private func readPage(_ pgno: UInt64, _ walk: inout Walk) -> [UInt8]? {
        guard walk.pageReadsLeft > 0 else {
            if walk.pageReadsLeft == 0 { walk.warnings.add("pages are referenced more often than a sound file needs; reading stopped") }
            walk.pageReadsLeft = -1
            return nil
        }
        walk.pageReadsLeft -= 1
        do {
            let page = try contents.read(offset: Int(pgno) * pageSize, count: pageSize)
            guard page.count == pageSize else {
                walk.warnings.add("page \(pgno) is past the end of the file (truncated database?)")
                return nil
            }
            return page
        } catch {
            walk.warnings.add("page \(pgno): \(error)")
            return nil
        }
    }
}
