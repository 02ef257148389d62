// Field access to one 512-byte tar header block: numbers (octal or base-256), strings, checksum, magic.

/// A view of a header block in memory owned by someone else (the input chunk or the reader's block buffer).
struct TarHeaderBlock {
    static let size = 512
    let p: UnsafeRawPointer

    func byte(_ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }

    var typeflag: UInt8 { byte(156) }

    var isZero: Bool {
        for k in stride(from: 0, to: Self.size, by: 8) where p.loadUnaligned(fromByteOffset: k, as: UInt64.self) != 0 {
            return false
        }
        return true
    }

    /// POSIX ustar (and PAX): magic "ustar\0", version "00". Only this format has the name prefix field.
    var isPOSIX: Bool {
        // "ustar\0" "00" read as a little-endian UInt64.
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 257, as: UInt64.self)) == 0x3030_0072_6174_7375
    }

    /// The stored checksum, and whether it equals the unsigned or the signed sum of the block (with the
    /// checksum field counted as spaces); old tars used signed chars.
    func checksum() -> (valid: Bool, stored: Int64?, computed: Int) {
        var unsigned = 8 * 0x20, signed = 8 * 0x20
        for k in 0..<148 {
            unsigned += Int(byte(k))
            signed += Int(Int8(bitPattern: byte(k)))
        }
        for k in 156..<Self.size {
            unsigned += Int(byte(k))
            signed += Int(Int8(bitPattern: byte(k)))
        }
        let stored = number(148, 8)
        return (stored.map { $0 == Int64(unsigned) || $0 == Int64(signed) } ?? false, stored, unsigned)
    }

    /// A string field: its bytes up to the first NUL.
    func field(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer {
        let f = UnsafeRawBufferPointer(start: p + offset, count: length)
        return UnsafeRawBufferPointer(rebasing: f[0..<(f.firstIndex(of: 0) ?? length)])
    }

    /// A numeric field: base-256 (first byte's high bit set; two's complement) or octal padded with
    /// spaces and NULs, as Go's archive/tar reads them. nil when malformed or out of range.
    func number(_ offset: Int, _ length: Int) -> Int64? {
        let f = UnsafeRawBufferPointer(start: p + offset, count: length)
        if f[0] & 0x80 != 0 {
            let invert: UInt8 = f[0] & 0x40 != 0 ? 0xFF : 0
            var x: UInt64 = 0
            for (k, raw) in f.enumerated() {
                var c = raw ^ invert
                if k == 0 { c &= 0x7F }
                if x >> 56 != 0 { return nil }
                x = x << 8 | UInt64(c)
            }
            if x >> 63 != 0 { return nil }
            return invert == 0xFF ? ~Int64(x) : Int64(x)
        }
        var start = 0, end = length
        while start < end && (f[start] == 0x20 || f[start] == 0) { start += 1 }
        while end > start && (f[end - 1] == 0x20 || f[end - 1] == 0) { end -= 1 }
        var x: UInt64 = 0
        for k in start..<end {
            let c = f[k]
            if c == 0 { break }
            guard c >= 0x30 && c <= 0x37, x >> 61 == 0 else { return nil }
            x = x << 3 | UInt64(c - 0x30)
        }
        return x >> 63 == 0 ? Int64(x) : nil
    }
}
