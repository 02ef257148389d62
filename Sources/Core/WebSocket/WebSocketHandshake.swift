// The opening handshake's key check (RFC 6455 §4.2.2, §4.1): Sec-WebSocket-Accept is
// base64(SHA-1(key + the protocol's GUID)).
import CEpoll

public enum WebSocketHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
    public static func accept(forKey key: String) -> String {
        let input = Array((key + guid).utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        cep_sha1(input, input.count, &digest)
        return Base64.encode(digest)
    }

    /// Whether a Sec-WebSocket-Key is what a client must send: base64 of 16 bytes.
    public static func isValidKey(_ key: String) -> Bool {
        key.utf8.count == 24 && Base64.decode(key)?.count == 16
    }

    /// A fresh Sec-WebSocket-Key for a client.
    public static func makeKey() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return Base64.encode(bytes)
    }
}
