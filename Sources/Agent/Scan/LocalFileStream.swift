// Streams a byte range of a local file in bounded steps on a reactor (one read per turn), so local
// sources drive the scan pipeline exactly like a registry download does.
import Core
import Glibc

final class LocalFileStream: LayerStream {
    private let fd: Int32
    private var offset: Int
    private let end: Int
    private let reactor: Reactor
    private let onChunk: (UnsafeRawBufferPointer) -> ClientBodyDisposition
    private var done: ((Result<Int, ScanFailure>) -> Void)?
    private var paused = false
    private var scheduled = false
    private let buffer: UnsafeMutableRawBufferPointer
    private let path: String
    private var delivered = 0

    /// Streams `count` bytes of `path` from `offset`; nil `count` means to the end of the file.
    init(path: String, offset: Int = 0, count: Int?, reactor: Reactor,
         onChunk: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition, done: @escaping (Result<Int, ScanFailure>) -> Void) {
        self.path = path
        self.reactor = reactor
        self.onChunk = onChunk
        self.done = done
        self.offset = offset
        buffer = .allocate(byteCount: 256 * 1024, alignment: 16)
        fd = open(path, O_RDONLY | O_CLOEXEC)
        var st = stat()
        let size = fd >= 0 && fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        // `count` is a descriptor's size, which the image chooses: a sum past Int.max is an error, not a trap.
        let (sum, overflow) = offset.addingReportingOverflow(count ?? 0)
        end = count == nil ? size : overflow ? Int.max : sum
        if fd < 0 {
            let message = String(errno: errno)
            finish(.failure(.source("cannot open \(path): \(message)")))
        } else if end > size {
            finish(.failure(.scan(ScanError(.corrupt, "\(path) is \(size) bytes; expected at least \(end)"))))
        } else {
            schedule()
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    func resume() {
        paused = false
        schedule()
    }

    func cancel() { finish(.failure(.source("cancelled"))) }

    private func schedule() {
        guard !scheduled, done != nil else { return }
        scheduled = true
        reactor.schedule(afterMilliseconds: 0) { [self] in
            scheduled = false
            step()
        }
    }

    private func step() {
        guard done != nil, !paused else { return }
        if offset >= end { return finish(.success(delivered)) }
        let want = min(buffer.count, end - offset)
        let n = pread(fd, buffer.baseAddress, want, off_t(offset))
        if n < 0 {
            if errno == EINTR { return schedule() }
            return finish(.failure(.source("cannot read \(path): \(String(errno: errno))")))
        }
        if n == 0 { return finish(.failure(.scan(ScanError(.corrupt, "\(path) ended early at byte \(offset)")))) }
        offset += n
        delivered += n
        if onChunk(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) == .pause { paused = true; return }
        schedule()
    }

    private func finish(_ r: Result<Int, ScanFailure>) {
        guard let d = done else { return }
        done = nil
        d(r)
    }
}
