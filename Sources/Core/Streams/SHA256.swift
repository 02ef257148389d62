// Incremental SHA-256, for digests checked while bytes stream past.
import CEpoll

public final class SHA256 {
    private let ctx: UnsafeMutableRawPointer

    public init() {
        guard let c = cep_sha256_new() else { fatalError("OpenSSL cannot create a SHA-256 context") }
        ctx = c
    }

    deinit { cep_sha256_free(ctx) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        if !bytes.isEmpty { cep_sha256_update(ctx, bytes.baseAddress, bytes.count) }
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The 32-byte digest; the hasher starts over afterwards.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        cep_sha256_final(ctx, &out)
        return out
    }

    /// The digest as lower-case hex; the hasher starts over afterwards.
    public func finalizeHex() -> String { SHA256.hex(finalize()) }

    /// `sha256:<hex>` of `bytes`.
    public static func digest(_ bytes: [UInt8]) -> String {
        let h = SHA256()
        h.update(bytes)
        return "sha256:" + h.finalizeHex()
    }

    /// Lower-case hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
