// UUIDs in their text form (8-4-4-4-12 lower-case hex): random ones for request, client and operation ids.

public enum UUIDString {
    /// A random (version 4) UUID.
    public static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40     // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80     // RFC 9562 variant
        return format(bytes)
    }

    /// 16 bytes written as a UUID, as given (the caller has set the version and variant bits).
    public static func format(_ bytes: [UInt8]) -> String {
        precondition(bytes.count == 16, "a UUID is 16 bytes")
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
