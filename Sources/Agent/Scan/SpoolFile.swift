// Large files a cataloger needs whole (rpm databases, jars, binaries) go to a temp file in TMPDIR that
// is unlinked as soon as it is open, so a killed process leaves nothing behind; a shared budget caps
// the bytes all spools of a scan may hold.
import Glibc
import Synchronization

/// The most spool bytes a scan may hold at once.
public final class SpoolBudget: Sendable {
    public let limit: Int
    private let used = Mutex(0)

    public init(limit: Int) { self.limit = limit }

    public var inUse: Int { used.withLock { $0 } }

    func reserve(_ n: Int) -> Bool {
        used.withLock { u in
            guard u + n <= limit else { return false }
            u += n
            return true
        }
    }

    func release(_ n: Int) { used.withLock { $0 -= n } }
}

public final class SpoolFile {
    public private(set) var size = 0
    private let fd: Int32
    private let budget: SpoolBudget
    private var reserved = 0

    /// Creates an unlinked temp file in `directory` (TMPDIR, else /tmp).
    public init(directory: String? = nil, budget: SpoolBudget) throws(ScanError) {
        let dir = directory ?? Environment.processValue("TMPDIR") ?? "/tmp"
        var template = Array("\(dir)/cr-agent-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ScanError(.io, "cannot create a spool file in \(dir): \(String(errno: errno))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.fd = fd
        self.budget = budget
    }

    deinit {
        close(fd)
        budget.release(reserved)
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws(ScanError) {
        guard !bytes.isEmpty else { return }
        guard budget.reserve(bytes.count) else {
            throw ScanError(.limit, "spool space exhausted: the scan may keep at most \(budget.limit) bytes of large files on disk at once")
        }
        reserved += bytes.count
        var off = 0
        while off < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + off, bytes.count - off, off_t(size + off))
            if n < 0 {
                if errno == EINTR { continue }
                throw ScanError(.io, "spool write failed: \(String(errno: errno))")
            }
            off += n
        }
        size += bytes.count
    }

    public func read(offset: Int, count: Int) throws(ScanError) -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        let n = min(count, size - offset)
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, n - got, off_t(offset + got)) }
            if r < 0 {
                if errno == EINTR { continue }
                throw ScanError(.io, "spool read failed: \(String(errno: errno))")
            }
            if r == 0 { break }
            got += r
        }
        return got == n ? out : Array(out[0..<got])
    }
}

import Core

extension Environment {
    /// One variable of the process environment.
    static func processValue(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }
}
