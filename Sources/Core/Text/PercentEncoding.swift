// Percent-encoding (RFC 3986 §2.1) of UTF-8 bytes, and its decoding, strict or lenient.

public enum PercentEncoding {
    /// RFC 3986 unreserved characters: ASCII letters and digits, `-._~`.
    public static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: return true
        default: return false
        }
    }

    /// Every UTF-8 byte of `s` for which `keep` is false written as `%XX` (upper-case hex); by default
    /// everything but the unreserved characters, so a space is `%20` and `/` is `%2F`.
    public static func encode(_ s: some StringProtocol, keeping keep: (UInt8) -> Bool = isUnreserved) -> String {
        var text = String(s)
        // On the contiguous bytes: a generic walk over `s.utf8` costs a witness call per byte.
        let encoded = text.withUTF8 { bytes -> [UInt8]? in
            guard let first = bytes.firstIndex(where: { !keep($0) }) else { return nil }   // most names: nothing to encode
            let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 16)
            out.append(contentsOf: bytes[..<first])
            for b in bytes[first...] {
                if keep(b) { out.append(b) } else { out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]] }
            }
            return out
        }
        return encoded.map { String(decoding: $0, as: UTF8.self) } ?? text
    }

    /// `s` with its `%XX` escapes decoded (either case of hex digit); nil when a `%` is not followed by
    /// two hex digits or the bytes are not UTF-8, so such input can be refused rather than guessed at.
    public static func decode(_ s: some StringProtocol) -> String? {
        guard s.utf8.contains(UInt8(ascii: "%")) else { return String(s) }
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let hi = hexValue(bytes.removeFirst()), let lo = hexValue(bytes.removeFirst()) else { return nil }
            out.append(hi << 4 | lo)
        }
        return String(validating: out, as: UTF8.self)
    }

    /// `s` with its well-formed `%XX` escapes decoded and anything else kept as written; bytes that are
    /// not UTF-8 become U+FFFD. For text that is only looked at (logs, a name to compare).
    public static func decodeLeniently(_ s: some StringProtocol) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2, let hi = hexValue(bytes[bytes.startIndex]), let lo = hexValue(bytes[bytes.startIndex + 1]) {
                out.append(hi << 4 | lo)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of one hex digit, nil for anything else.
    public static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
