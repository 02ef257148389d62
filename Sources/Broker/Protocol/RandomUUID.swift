// Version-4 UUID text (streaming ids, request ids, client ids), written straight into 36 bytes: one
// is made for every tunnelled request, so it avoids the per-field strings a formatter would build and
// draws its bits from BufferedRandom (kernel random, 4 KiB per system call). Kept over Core's
// UUIDString.random(), which draws each of its 16 bytes from the system generator (a `getrandom` call
// each) and formats through a hex string: about 4x slower per id when both were timed side by side.
import Core

enum RandomUUID {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func make() -> String {
        var a = BufferedRandom.next(), b = BufferedRandom.next()
        a = (a & ~0xF000) | 0x4000                            // version 4 (bits 12-15 of the third group)
        b = (b & ~(0xC000 << 48)) | (0x8000 << 48)            // variant 10xx (top bits of the fourth group)
        return String(unsafeUninitializedCapacity: 36) { out in
            var i = 0
            func put(_ v: UInt64, _ nibbles: Int) {
                for k in stride(from: nibbles - 1, through: 0, by: -1) {
                    out[i] = hexDigits[Int((v >> UInt64(k * 4)) & 0xF)]
                    i += 1
                }
            }
            put(a >> 32, 8); out[i] = 0x2D; i += 1
            put((a >> 16) & 0xFFFF, 4); out[i] = 0x2D; i += 1
            put(a & 0xFFFF, 4); out[i] = 0x2D; i += 1
            put(b >> 48, 4); out[i] = 0x2D; i += 1
            put(b & 0xFFFF_FFFF_FFFF, 12)
            return 36
        }
    }
}
