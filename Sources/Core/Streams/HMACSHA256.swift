// HMAC-SHA256 (RFC 2104) over the streaming SHA256: the keyed hash AWS Signature Version 4 chains.
public enum HMACSHA256 {
    private static let blockSize = 64

    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var block = key
        if block.count > blockSize {
            let h = SHA256()
            h.update(block)
            block = h.finalize()
        }
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        let inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        let outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }

    public static func authenticate(_ message: String, key: [UInt8]) -> [UInt8] {
        authenticate(Array(message.utf8), key: key)
    }
}
