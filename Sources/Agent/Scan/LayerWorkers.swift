// Layers scanned on threads of their own: the reactor thread receives a layer's bytes and queues them (a
// bounded queue: the stream pauses while it is full), a worker thread inflates, hashes, reads the tar and
// catalogs them, and hands the findings back to the reactor. So the next layer's bytes arrive while a
// layer is cataloged, and independent layers are scanned at once, one per CPU.
import Core
import Glibc
import Synchronization

/// Layer bytes received and not yet scanned, now and at the peak of a scan: the memory prefetching
/// costs. Its bound is the layers in flight (`ImageScanner.layersInFlight`) × (`LayerJob.queueBytes`
/// plus two chunks: the one that filled the queue, and the block being scanned).
public final class PrefetchGauge: Sendable {
    private let bytes = Mutex((current: 0, peak: 0))

    public init() {}

    public var current: Int { bytes.withLock { $0.current } }
    public var peak: Int { bytes.withLock { $0.peak } }

    func add(_ n: Int) { bytes.withLock { $0.current += n; $0.peak = max($0.peak, $0.current) } }
    func remove(_ n: Int) { bytes.withLock { $0.current -= n } }
}

/// One layer between its stream (on the reactor) and its worker thread.
// @unchecked: `queue`, `queued`, `paused`, `ended` and `stopped` are read and written under `mutex`;
// `makeScanner` only by the worker thread running the job (set before it is submitted); `stream` and
// `onDone` only on the reactor's thread.
final class LayerJob: @unchecked Sendable {
    /// Bytes queued for the worker before the stream pauses; it resumes once the worker has taken
    /// half. The worker takes one block (up to `blockBytes`, or one larger chunk) at a time.
    static let queueBytes = 128 << 10
    static let blockBytes = 64 << 10

    let index: Int
    let layer: Descriptor
    private let reactor: Reactor
    private let gauge: PrefetchGauge
    /// Makes the layer's scanner on the worker thread when the job starts: a layer that only streams
    /// ahead holds its queue, not an inflater and a tar reader too.
    private var makeScanner: (@Sendable () -> LayerScanner)?
    /// The layer's stream while it is open (reactor thread).
    var stream: LayerStream?
    /// Called on the reactor's thread with the layer's findings or failure, once.
    var onDone: ((Result<LayerFindings, ScanError>) -> Void)?

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [[UInt8]] = []
    private var queued = 0
    private var paused = false
    private var ended = false
    private var stopped = false

    init(index: Int, layer: Descriptor, reactor: Reactor, gauge: PrefetchGauge, makeScanner: @escaping @Sendable () -> LayerScanner) {
        self.index = index
        self.layer = layer
        self.makeScanner = makeScanner
        self.reactor = reactor
        self.gauge = gauge
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    // MARK: the reactor's side

    /// Queues a copy of `chunk`; true when the queue is full and the stream should pause until the
    /// worker takes it.
    func offer(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard !chunk.isEmpty else { return false }
        gauge.add(chunk.count)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if stopped { gauge.remove(chunk.count); return false }
        if let last = queue.indices.last, queue[last].count + chunk.count <= Self.blockBytes {
            queue[last].append(contentsOf: chunk)
        } else {
            var block: [UInt8] = []
            block.reserveCapacity(max(chunk.count, Self.blockBytes))
            block.append(contentsOf: chunk)
            queue.append(block)
        }
        queued += chunk.count
        pthread_cond_signal(changed)
        if queued >= Self.queueBytes { paused = true }
        return paused
    }

    /// The stream ended well: the worker finishes the layer once it has scanned what is queued.
    func endInput() {
        pthread_mutex_lock(mutex)
        ended = true
        pthread_cond_signal(changed)
        pthread_mutex_unlock(mutex)
    }

    /// Drops what is queued and wakes a worker waiting for bytes; with the scan's stop flag raised, a
    /// worker busy in the layer ends within one 64 KiB step.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        gauge.remove(queued)
        queue = []
        queued = 0
        pthread_cond_signal(changed)
        pthread_mutex_unlock(mutex)
    }

    // MARK: the worker's side

    /// Scans the layer's bytes as they arrive, then ends it; reports on the reactor's thread.
    func run() {
        var result: Result<LayerFindings, ScanError> = .failure(ScanError(.corrupt, "layer \(layer.digest): stopped"))
        var scanner = makeScanner?()
        makeScanner = nil
        while let scanner {
            pthread_mutex_lock(mutex)
            while queue.isEmpty && !ended && !stopped { pthread_cond_wait(changed, mutex) }
            if stopped { pthread_mutex_unlock(mutex); break }
            if queue.isEmpty {
                pthread_mutex_unlock(mutex)
                do throws(ScanError) { result = .success(try scanner.finish()) } catch { result = .failure(error) }
                break
            }
            let block = queue.removeFirst()
            queued -= block.count
            let wake = paused && queued <= Self.queueBytes / 2
            if wake { paused = false }
            pthread_mutex_unlock(mutex)
            if wake { reactor.execute { [self] in stream?.resume() } }
            let failure = block.withUnsafeBytes { bytes -> ScanError? in
                do throws(ScanError) { try scanner.feed(bytes); return nil } catch { return error }
            }
            gauge.remove(block.count)
            if let failure { result = .failure(failure); break }
        }
        scanner = nil           // the inflater's and the tar reader's buffers go now, not when the scan ends
        stop()                  // so do bytes queued behind a failure, and any the stream still sends
        reactor.execute { [self, result] in
            let done = onDone
            onDone = nil
            stream = nil
            done?(result)
        }
    }
}

/// Threads that run layer jobs, made as jobs arrive, at most `maxThreads`; `close` ends and joins them.
// @unchecked: `jobs`, `threads`, `idle` and `closed` are read and written under `mutex`.
final class LayerWorkerPool: @unchecked Sendable {
    let maxThreads: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [LayerJob] = []
    private var threads: [JoinableThread] = []
    private var idle = 0
    private var closed = false

    init(maxThreads: Int) {
        self.maxThreads = max(1, maxThreads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        close()
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Threads started so far (at most `maxThreads`).
    var threadCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return threads.count
    }

    func submit(_ job: LayerJob) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        precondition(!closed, "a job submitted to a closed pool")
        jobs.append(job)
        if idle == 0 && threads.count < maxThreads {
            threads.append(JoinableThread.start(name: "layer-scan") { [self] in work() })
        } else {
            pthread_cond_signal(changed)
        }
    }

    /// Ends the threads once they are done with their jobs, and waits for them.
    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        let all = threads
        threads = []
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        for t in all { t.join() }
    }

    private func work() {
        while true {
            pthread_mutex_lock(mutex)
            idle += 1
            while jobs.isEmpty && !closed { pthread_cond_wait(changed, mutex) }
            idle -= 1
            if jobs.isEmpty { pthread_mutex_unlock(mutex); return }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job.run()
        }
    }
}
