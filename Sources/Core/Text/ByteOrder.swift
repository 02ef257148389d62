// Ordering strings by their UTF-8 bytes (what Go's and JavaScript's sorts of ASCII keys give, and
// stable across Unicode versions), without the per-byte walk of a generic UTF8View comparison.
import Glibc

extension StringProtocol {
    /// Whether `self` sorts before `other` comparing UTF-8 bytes (a prefix first).
    @inlinable
    public func precedesInBytes(_ other: some StringProtocol) -> Bool {
        var a = String(self), b = String(other)
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = Swift.min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c < 0 || (c == 0 && x.count < y.count)
            }
        }
    }
}
