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
        let hex = SHA256.hex(bytes)
        var out = ""
        out.reserveCapacity(36)
        for (i, c) in hex.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append("-") }
            out.append(c)
        }
        return out
    }
}
