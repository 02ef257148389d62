// A zip reader over random access (`FileContents`, so a spooled jar is never read whole): end of central
// directory (with zip64 and with data prepended to the archive), central-directory entries, local headers,
// stored and deflated entries (Core's raw inflate), each behind a guard against zip bombs.
import Core

/// The guards of a zip read; each breach is a skipped entry or archive with a warning, never a crash.
public struct ZipLimits: Sendable {
    /// Central-directory entries read; the rest are ignored with a warning.
    public var maxEntries = 500_000
    /// Largest central directory read (bytes).
    public var maxCentralDirectoryBytes = 64 << 20
    /// Largest entry inflated into memory (a nested jar; metadata files have their own smaller cap).
    public var maxEntryBytes = 128 << 20
    /// Largest declared uncompressed/compressed ratio (deflate's own maximum is about 1032).
    public var maxRatio = 200
    /// Entries smaller than this are exempt from the ratio check (a tiny text file may compress 500:1).
    public var ratioExemptBytes = 1 << 20
    /// Bytes inflated in total for one top-level file, nested archives included.
    public var maxTotalInflatedBytes = 512 << 20
    /// Archives inside archives: the top-level file is depth 0.
    public var maxNestingDepth = 3

    public init() {}
}

/// One central-directory entry.
struct ZipEntry {
    let name: String
    let flags: UInt16
    let method: UInt16
    let compressedSize: Int
    let uncompressedSize: Int
    /// Offset of the local header, already corrected for data prepended to the archive.
    let localHeaderOffset: Int

    var isDirectory: Bool { name.hasSuffix("/") }
    var isEncrypted: Bool { flags & 1 != 0 }
}

/// The central directory of a zip, and reads of its entries.
struct ZipArchive {
    let contents: FileContents
    let entries: [ZipEntry]
    /// Problems met while reading the directory (entries beyond the limit, bad records).
    let warnings: [String]

    private static let eocdSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EOCDSignature: UInt32 = 0x0606_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50
    private static let le = ByteReader(bigEndian: false)

    init(_ contents: FileContents, limits: ZipLimits, work: CatalogWork = CatalogWork()) throws(ScanError) {
        self.contents = contents
        let size = contents.count
        guard size >= 22 else { throw ScanError(.corrupt, "too small to be a zip archive") }
        // The end-of-central-directory record is in the last 22 + 65535 bytes (its comment is at most 64 KiB).
        let tailStart = max(0, size - (22 + 0xFFFF))
        let tail = try contents.read(offset: tailStart, count: size - tailStart)
        var eocd: Int?
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 {
                // Prefer a record whose comment ends the file; else take the last one seen.
                let commentLength = Int(Self.le.u16(tail, i + 20))
                if i + 22 + commentLength == tail.count || eocd == nil { eocd = i }
                if i + 22 + commentLength == tail.count { break }
            }
            i -= 1
        }
        guard let e = eocd else { throw ScanError(.corrupt, "no end-of-central-directory record (not a zip archive)") }
        let eocdOffset = tailStart + e
        var count = Int(Self.le.u16(tail, e + 10))
        var cdSize = Int(Self.le.u32(tail, e + 12))
        var cdOffset = Int(Self.le.u32(tail, e + 16))

        // zip64: a locator right before the record points at the zip64 end record with 64-bit fields.
        var directoryEnd = eocdOffset
        if eocdOffset >= 20 {
            let loc = try contents.read(offset: eocdOffset - 20, count: 20)
            if loc.count == 20, Self.le.u32(loc, 0) == Self.zip64LocatorSignature {
                let z64 = Self.le.u64(loc, 8)
                guard size >= 56, z64 <= UInt64(size - 56) else { throw ScanError(.corrupt, "zip64 end record offset \(z64) is outside the file") }
                var rec = try contents.read(offset: Int(z64), count: 56)
                var recOffset = Int(z64)
                if Self.le.u32(rec, 0) != Self.zip64EOCDSignature, eocdOffset - 20 - 56 >= 0 {
                    // Data prepended to the archive shifts every offset: the record sits just before the locator.
                    recOffset = eocdOffset - 20 - 56
                    rec = try contents.read(offset: recOffset, count: 56)
                }
                guard rec.count == 56, Self.le.u32(rec, 0) == Self.zip64EOCDSignature else {
                    throw ScanError(.corrupt, "zip64 end-of-central-directory record missing")
                }
                let c64 = Self.le.u64(rec, 32), s64 = Self.le.u64(rec, 40), o64 = Self.le.u64(rec, 48)
                guard c64 <= UInt64(Int32.max), s64 <= UInt64(size), o64 <= UInt64(size) else {
                    throw ScanError(.corrupt, "zip64 directory fields out of range")
                }
                count = Int(c64); cdSize = Int(s64); cdOffset = Int(o64)
                directoryEnd = recOffset
            }
        }
        guard cdSize <= limits.maxCentralDirectoryBytes else {
            throw ScanError(.limit, "central directory of \(cdSize) bytes is more than the \(limits.maxCentralDirectoryBytes)-byte limit")
        }
        // Bytes before the archive proper (a launch script on an executable jar, a self-extractor): the
        // directory really starts right before its end record.
        let actualStart = directoryEnd - cdSize
        guard actualStart >= 0 else { throw ScanError(.corrupt, "central directory size \(cdSize) is larger than the file") }
        let base = actualStart - cdOffset
        guard base >= 0 else { throw ScanError(.corrupt, "central directory offset \(cdOffset) is past its end record") }

        let cd = try contents.read(offset: actualStart, count: cdSize)
        var entries: [ZipEntry] = []
        var warnings: [String] = []
        var p = 0
        var outOfRange = 0
        entries.reserveCapacity(min(count, limits.maxEntries))
        while p + 46 <= cd.count {
            if work.count(46) { break }
            guard Self.le.u32(cd, p) == Self.centralSignature else {
                if entries.count < count { warnings.append("central directory record \(entries.count + 1) is corrupt; \(count - entries.count) entries not read") }
                break
            }
            if entries.count == limits.maxEntries {
                warnings.append("more than \(limits.maxEntries) entries; the rest are not read")
                break
            }
            let nameLen = Int(Self.le.u16(cd, p + 28)), extraLen = Int(Self.le.u16(cd, p + 30)), commentLen = Int(Self.le.u16(cd, p + 32))
            guard p + 46 + nameLen + extraLen <= cd.count else {
                warnings.append("central directory record \(entries.count + 1) runs past the directory")
                break
            }
            var csize = UInt64(Self.le.u32(cd, p + 20)), usize = UInt64(Self.le.u32(cd, p + 24)), offset = UInt64(Self.le.u32(cd, p + 42))
            // The zip64 extra field holds, in order, whichever of these were 0xFFFFFFFF.
            var x = p + 46 + nameLen
            let xEnd = x + extraLen
            while x + 4 <= xEnd {
                let id = Self.le.u16(cd, x), len = Int(Self.le.u16(cd, x + 2))
                if id == 0x0001 {
                    var f = x + 4
                    let fEnd = min(x + 4 + len, xEnd)
                    if usize == 0xFFFF_FFFF, f + 8 <= fEnd { usize = Self.le.u64(cd, f); f += 8 }
                    if csize == 0xFFFF_FFFF, f + 8 <= fEnd { csize = Self.le.u64(cd, f); f += 8 }
                    if offset == 0xFFFF_FFFF, f + 8 <= fEnd { offset = Self.le.u64(cd, f) }
                }
                x += 4 + len
            }
            let name = String(decoding: cd[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            if usize <= UInt64(Int.max / 2), csize <= UInt64(size), offset <= UInt64(size) {
                entries.append(ZipEntry(name: name, flags: Self.le.u16(cd, p + 8), method: Self.le.u16(cd, p + 10),
                                        compressedSize: Int(csize), uncompressedSize: Int(usize), localHeaderOffset: Int(offset) + base))
            } else {
                outOfRange += 1
                if outOfRange <= 5 { warnings.append("\(CatalogCaps.truncate(name, maxBytes: 200)): sizes or offset out of range; skipped") }
            }
            p += 46 + nameLen + extraLen + commentLen
        }
        if outOfRange > 5 { warnings.append("\(outOfRange - 5) more entries with sizes or offset out of range skipped") }
        self.entries = entries
        self.warnings = warnings
    }

    /// The bytes of `entry`, at most `maxBytes` of them uncompressed. `budget` is what the whole read
    /// may still inflate, decreased by what this read used.
    func read(_ entry: ZipEntry, maxBytes: Int, limits: ZipLimits, budget: inout Int) throws(ScanError) -> [UInt8] {
        guard !entry.isEncrypted else { throw ScanError(.unsupported, "\(entry.name) is encrypted") }
        guard entry.method == 0 || entry.method == 8 else { throw ScanError(.unsupported, "\(entry.name) uses compression method \(entry.method)") }
        guard entry.uncompressedSize <= maxBytes else {
            throw ScanError(.limit, "\(entry.name) is \(entry.uncompressedSize) bytes uncompressed, more than the \(maxBytes)-byte limit")
        }
        guard entry.uncompressedSize <= budget else {
            throw ScanError(.limit, "\(entry.name): inflating \(entry.uncompressedSize) more bytes would pass the \(limits.maxTotalInflatedBytes)-byte limit for one archive")
        }
        if entry.method == 8, entry.uncompressedSize > limits.ratioExemptBytes,
           entry.uncompressedSize / max(entry.compressedSize, 1) > limits.maxRatio {
            throw ScanError(.limit, "\(entry.name) claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed (ratio above \(limits.maxRatio): a zip bomb?)")
        }
        let header = try contents.read(offset: entry.localHeaderOffset, count: 30)
        guard header.count == 30, Self.le.u32(header, 0) == Self.localSignature else {
            throw ScanError(.corrupt, "\(entry.name): no local header at offset \(entry.localHeaderOffset)")
        }
        let dataOffset = entry.localHeaderOffset + 30 + Int(Self.le.u16(header, 26)) + Int(Self.le.u16(header, 28))
        let raw = try contents.read(offset: dataOffset, count: entry.compressedSize)
        guard raw.count == entry.compressedSize else { throw ScanError(.corrupt, "\(entry.name): data runs past the end of the archive") }
        var out: [UInt8]
        if entry.method == 0 {
            guard entry.compressedSize == entry.uncompressedSize else { throw ScanError(.corrupt, "\(entry.name): stored entry with two sizes") }
            out = raw
        } else {
            do {
                // The declared size bounds the output: an entry that inflates past it lies about itself.
                out = try GzipDecoder.inflateRaw(raw, maxOutput: entry.uncompressedSize, expectedSize: entry.uncompressedSize)
            } catch {
                throw ScanError(error.kind == .limit ? .limit : .corrupt, "\(entry.name): \(error.message)")
            }
            guard out.count == entry.uncompressedSize else {
                throw ScanError(.corrupt, "\(entry.name): inflated to \(out.count) bytes, the directory says \(entry.uncompressedSize)")
            }
        }
        budget -= out.count
        return out
    }
}
