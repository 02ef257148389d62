// rpm header blobs as rpm databases store them (no lead, no magic): a count of index entries and of data
// bytes, the 16-byte big-endian index entries, then the data store; every offset is checked against the store.

/// What the rpm cataloger reads from one header.
public struct RpmHeaderInfo: Sendable, Equatable {
    public var name: String
    public var version: String
    public var release: String
    /// Absent for packages built without `Epoch:` (rpm prints `(none)`; `%{EPOCHNUM}` prints 0).
    public var epoch: Int?
    /// Absent for gpg-pubkey pseudo-packages.
    public var arch: String?
    public var sourceRpm: String?
    public var license: String?
    public var vendor: String?
    /// Installed size in bytes (SIZE, or LONGSIZE for packages over 4 GiB).
    public var size: Int?
    /// Tags that were present but unreadable (bad type, offset or terminator), read as absent.
    public var problems: [String] = []

    /// `epoch:version-release` when the header has an epoch, else `version-release` (syft's convention).
    public var fullVersion: String {
        if let epoch { return "\(epoch):\(version)-\(release)" }
        return "\(version)-\(release)"
    }
}

public enum RpmHeader {
    /// rpm itself refuses headers over 256 MiB; real ones stay under a few MiB, so 64 MiB is ample.
    public static let maxBlobBytes = 64 << 20
    /// rpm's own limit on index entries.
    public static let maxIndexEntries = 0xFFFF

    enum Tag: UInt32 {
        case name = 1000, version = 1001, release = 1002, epoch = 1003, size = 1009, vendor = 1011,
             license = 1014, arch = 1022, sourceRpm = 1044, longSize = 5009
    }

    enum DataType: UInt32 {
        case int32 = 4, int64 = 5, string = 6, stringArray = 8, i18nString = 9
    }

    /// Parses a header blob. Throws when the blob is not a header at all or lacks NAME, VERSION or RELEASE;
    /// other unreadable tags are left out and named in `problems`.
    public static func parse(_ blob: [UInt8]) throws(ScanError) -> RpmHeaderInfo {
        guard blob.count >= 8 else {
            throw ScanError(.corrupt, "rpm header of \(blob.count) bytes is shorter than its 8-byte preamble")
        }
        let il = Int(RpmDBBytes.u32be(blob, 0)), dl = Int(RpmDBBytes.u32be(blob, 4))
        guard il >= 1, il <= maxIndexEntries else {
            throw ScanError(.corrupt, "rpm header claims \(il) index entries (1...\(maxIndexEntries) allowed)")
        }
        guard dl <= maxBlobBytes else {
            throw ScanError(.limit, "rpm header claims \(dl) data bytes (at most \(maxBlobBytes) are read)")
        }
        let dataStart = 8 + il * 16
        guard dataStart + dl <= blob.count else {
            throw ScanError(.corrupt, "rpm header claims \(dataStart + dl) bytes but has \(blob.count)")
        }
        let dataEnd = dataStart + dl

        // Entries after the immutable region ("dribble" entries) come later and replace earlier ones, so the
        // last entry of each wanted tag is the one read; each tag's data is read once, whatever il claims.
        var lastEntry: [Tag: Int] = [:]
        for k in 0..<il {
            if let tag = Tag(rawValue: RpmDBBytes.u32be(blob, 8 + k * 16)) { lastEntry[tag] = 8 + k * 16 }
        }
        var strings: [Tag: String] = [:]
        var ints: [Tag: Int] = [:]
        var problems: [String] = []
        for (tag, e) in lastEntry.sorted(by: { $0.value < $1.value }) {
            let type = DataType(rawValue: RpmDBBytes.u32be(blob, e + 4))
            let offset = Int(Int32(bitPattern: RpmDBBytes.u32be(blob, e + 8)))
            let count = RpmDBBytes.u32be(blob, e + 12)
            guard offset >= 0, offset < dl, count >= 1 else {
                problems.append("tag \(tag.rawValue): offset \(offset) or count \(count) outside the data store")
                continue
            }
            let at = dataStart + offset
            switch (tag, type) {
            case (.epoch, .int32?), (.size, .int32?):
                guard at + 4 <= dataEnd else { problems.append("tag \(tag.rawValue): INT32 past the data store"); continue }
                let raw = RpmDBBytes.u32be(blob, at)
                ints[tag] = tag == .epoch ? Int(Int32(bitPattern: raw)) : Int(raw)
            case (.longSize, .int64?):
                guard at + 8 <= dataEnd else { problems.append("tag \(tag.rawValue): INT64 past the data store"); continue }
                let raw = RpmDBBytes.u64be(blob, at)
                guard raw <= UInt64(Int.max) else { problems.append("tag \(tag.rawValue) (LONGSIZE): \(raw) is out of range"); continue }
                ints[tag] = Int(raw)
            case (.name, .string?), (.version, .string?), (.release, .string?), (.vendor, .string?),
                 (.vendor, .i18nString?), (.license, .string?), (.license, .i18nString?), (.arch, .string?),
                 (.sourceRpm, .string?):
                var z = at
                while z < dataEnd, blob[z] != 0 { z += 1 }
                guard z < dataEnd else { problems.append("tag \(tag.rawValue): string without a terminator"); continue }
                strings[tag] = String(decoding: blob[at..<z], as: UTF8.self)
            default:
                problems.append("tag \(tag.rawValue): unexpected type \(RpmDBBytes.u32be(blob, e + 4))")
            }
        }
        guard let name = strings[.name], !name.isEmpty else { throw ScanError(.corrupt, "rpm header without a NAME") }
        guard let version = strings[.version] else { throw ScanError(.corrupt, "rpm header of \(name) without a VERSION") }
        guard let release = strings[.release] else { throw ScanError(.corrupt, "rpm header of \(name) without a RELEASE") }
        // go-rpmdb (syft's reader) reads a literal "(none)" in these as absent.
        func optional(_ t: Tag) -> String? {
            guard let s = strings[t], !s.isEmpty, s != "(none)" else { return nil }
            return s
        }
        return RpmHeaderInfo(name: name, version: version, release: release, epoch: ints[.epoch], arch: optional(.arch),
                             sourceRpm: optional(.sourceRpm), license: optional(.license), vendor: optional(.vendor),
                             size: ints[.longSize] ?? ints[.size], problems: problems)
    }
}
