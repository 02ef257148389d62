// Kernel random numbers (/dev/urandom) fetched 4 KiB at a time: a client's masking key per WebSocket frame and the
// broker's ids per tunnelled request cost one getrandom(2) each otherwise (4 of the server's 8 system
// calls per request).
import Glibc
import Synchronization

public enum BufferedRandom {
    private struct Pool: Sendable {
        var words = [UInt64](repeating: 0, count: 512)
        var next = 512
    }

    private static let pool = Mutex(Pool())

    /// 64 random bits from the kernel's generator (the source of SystemRandomNumberGenerator, read in bulk).
    public static func next() -> UInt64 {
        pool.withLock { p in
            if p.next == p.words.count {
                refill(&p.words)
                p.next = 0
            }
            defer { p.next += 1 }
            return p.words[p.next]
        }
    }

    private static func refill(_ words: inout [UInt64]) {
        words.withUnsafeMutableBytes { buf in
            var done = 0
            let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                while done < buf.count {
                    let n = read(fd, buf.baseAddress! + done, buf.count - done)
                    if n > 0 { done += n } else if !(n < 0 && errno == EINTR) { break }
                }
                close(fd)
            }
            // /dev/urandom unreadable: the standard library's generator, a word at a time.
            var g = SystemRandomNumberGenerator()
            while done + 8 <= buf.count { buf.storeBytes(of: g.next() as UInt64, toByteOffset: done, as: UInt64.self); done += 8 }
        }
    }
}
