// Bounds-checked integer reads for the binary package databases (rpm headers, BerkeleyDB and NDB pages).

/// Integer reads at byte offsets of a buffer. Out-of-range reads return 0 instead of trapping: callers check
/// ranges first for meaning, and this keeps a missed check from ever becoming a crash on hostile input.
enum RpmDBBytes {
    @inline(__always)
    static func u16(_ b: [UInt8], _ i: Int, bigEndian: Bool) -> UInt16 {
        guard i >= 0, i <= b.count - 2 else { return 0 }
        let x = UInt16(b[i]), y = UInt16(b[i + 1])
        return bigEndian ? x << 8 | y : y << 8 | x
    }

    @inline(__always)
    static func u32(_ b: [UInt8], _ i: Int, bigEndian: Bool) -> UInt32 {
        guard i >= 0, i <= b.count - 4 else { return 0 }
        let v = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    @inline(__always)
    static func u32le(_ b: [UInt8], _ i: Int) -> UInt32 { u32(b, i, bigEndian: false) }

    @inline(__always)
    static func u32be(_ b: [UInt8], _ i: Int) -> UInt32 { u32(b, i, bigEndian: true) }

    @inline(__always)
    static func u64be(_ b: [UInt8], _ i: Int) -> UInt64 {
        guard i >= 0, i <= b.count - 8 else { return 0 }
        return UInt64(u32be(b, i)) << 32 | UInt64(u32be(b, i + 4))
    }
}
