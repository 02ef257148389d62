// SHA-256 of a stream, computed on a second core while the caller's thread goes on (inflating, parsing
// tar): the layer's two digests need not sit on the critical path. Bytes are copied into a bounded ring of
// buffers that one hashing thread per process drains in order; a caller that runs ahead of it waits for a
// free buffer, so memory stays at the ring's size. With one CPU available it hashes inline, as before.
import CEpoll
import Glibc

public final class PipelinedSHA256 {
    private let ctx: UnsafeMutableRawPointer
    private let pipe: HashPipe?
    /// The buffer being filled for this hasher (a slot of the ring), handed over when full.
    private var open: HashPipe.Slot?

    /// `offThread` nil: off the thread when at least two CPUs are available to the process.
    public init(offThread: Bool? = nil) {
        guard let c = cep_sha256_new() else { fatalError("OpenSSL cannot create a SHA-256 context") }
        ctx = c
        pipe = (offThread ?? HashPipe.worthIt) ? HashPipe.shared : nil
    }

    deinit {
        if let pipe {
            if let slot = open { pipe.release(slot) }
            pipe.drain(ctx)             // the hashing thread must be done with ctx before it is freed
        }
        cep_sha256_free(ctx)
    }

    public func update(_ chunk: UnsafeRawBufferPointer) {
        guard var p = chunk.baseAddress, !chunk.isEmpty else { return }
        guard let pipe else { return cep_sha256_update(ctx, p, chunk.count) }
        var n = chunk.count
        while n > 0 {
            let slot = open ?? pipe.acquire()
            let k = min(n, HashPipe.slotBytes - slot.used)
            (slot.buffer + slot.used).copyMemory(from: p, byteCount: k)
            slot.used += k
            p += k
            n -= k
            if slot.used == HashPipe.slotBytes {
                pipe.submit(slot, for: ctx)
                open = nil
            } else {
                open = slot
            }
        }
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest as lower-case hex, once every byte handed over is hashed; the hasher starts over.
    public func finalizeHex() -> String {
        if let pipe {
            if let slot = open { pipe.submit(slot, for: ctx); open = nil }
            pipe.drain(ctx)
        }
        var out = [UInt8](repeating: 0, count: 32)
        cep_sha256_final(ctx, &out)
        return SHA256.hex(out)
    }
}

/// The ring and its hashing thread. Slots go free -> filled by a producer -> queued -> hashed -> free.
// @unchecked: every field but the immutable ones is read and written under `mutex`.
final class HashPipe: @unchecked Sendable {
    static let slotBytes = 256 << 10
    static let slotCount = 8
    /// Two or more CPUs: a second one can hash while the first inflates.
    static let worthIt = cep_cpus_available() >= 2
    static let shared = HashPipe()

    final class Slot {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: HashPipe.slotBytes, alignment: 64)
        var used = 0
        var ctx: UnsafeMutableRawPointer?
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var free: [Slot] = []
    private var queue: [Slot] = []
    private var queueHead = 0
    /// Slots queued or being hashed, per context.
    private var pending: [UnsafeMutableRawPointer: Int] = [:]

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        free = (0..<Self.slotCount).map { _ in Slot() }
        _ = JoinableThread.start(name: "sha256") { [self] in run() }      // lives as long as the process
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// A free slot, waiting for one while the hashing thread is behind. When every slot is held open by
    /// hashers still filling them (nothing queued), a new one is made instead: waiting would never end.
    func acquire() -> Slot {
        pthread_mutex_lock(mutex)
        while free.isEmpty && queueHead < queue.count { pthread_cond_wait(changed, mutex) }
        let s = free.popLast() ?? Slot()
        pthread_mutex_unlock(mutex)
        s.used = 0
        return s
    }

    /// Gives an unused (or abandoned) slot back.
    func release(_ slot: Slot) {
        locked {
            free.append(slot)
            pthread_cond_broadcast(changed)
        }
    }

    func submit(_ slot: Slot, for ctx: UnsafeMutableRawPointer) {
        slot.ctx = ctx
        locked {
            queue.append(slot)
            pending[ctx, default: 0] += 1
            pthread_cond_broadcast(changed)
        }
    }

    /// Waits until every slot submitted for `ctx` is hashed.
    func drain(_ ctx: UnsafeMutableRawPointer) {
        pthread_mutex_lock(mutex)
        while pending[ctx, default: 0] > 0 { pthread_cond_wait(changed, mutex) }
        pending[ctx] = nil
        pthread_mutex_unlock(mutex)
    }

    private func run() {
        while true {
            pthread_mutex_lock(mutex)
            while queueHead == queue.count { pthread_cond_wait(changed, mutex) }
            let s = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count { queue.removeAll(keepingCapacity: true); queueHead = 0 }
            pthread_mutex_unlock(mutex)
            cep_sha256_update(s.ctx!, s.buffer, s.used)
            pthread_mutex_lock(mutex)
            pending[s.ctx!, default: 1] -= 1
            s.ctx = nil
            free.append(s)
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }
    }
}
