// The service's side of one scan worker: `cr-agent scan-worker` started with posix_spawn, its job
// written to its stdin, its framed answer read non-blocking on the reactor, its deadline and resident
// memory watched on timers. However the worker ends (answer, crash, kill) `done` runs once with one outcome.
import Core
import Glibc

final class ScanWorker {
    struct Limits {
        /// The worker's own deadline (SCAN_TIMEOUT_MS) ends the scan cleanly; this much later it is killed.
        var deadlineMilliseconds: Int
        var maxResidentBytes: Int
        var pollMilliseconds = 200
    }

    let pid: pid_t
    let startedAt = Reactor.now()
    private let reactor: Reactor
    private let outputFD: Int32
    private var buffer: [UInt8] = []
    private var outputBytes = 0
    private var stats: ScanWorkerStats?
    private var result: [UInt8]?
    private var truncated: [String] = []
    private var error: (String, String)?
    /// Why the service killed the worker, when it did: this is the image's outcome then.
    private var killedFor: (String, String)?
    private var reading = true
    private var done: ((ImageOutcome, ScanWorkerStats?, _ crashed: Bool) -> Void)?
    private var deadlineTimer: TimerID?
    private var residentPeak = 0

    private init(pid: pid_t, outputFD: Int32, reactor: Reactor) {
        self.pid = pid
        self.outputFD = outputFD
        self.reactor = reactor
    }

    /// The executable to re-run: this very program, resolved once (so a binary replaced on disk while
    /// the service runs is not picked up half-way).
    static let executable: String = {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? String(cChars: buf[0..<n]) : "/proc/self/exe"
    }()

    /// Starts a worker for `job` on `reactor` (call on its thread). `done` gets the outcome, the worker's
    /// stats when it sent them, and whether the worker ended without an answer (crashed or killed).
    static func start(job: ScanWorkerJob, environment: Environment, limits: Limits, reactor: Reactor,
                      done: @escaping (ImageOutcome, ScanWorkerStats?, Bool) -> Void) -> Result<ScanWorker, RequestProblem> {
        let input = job.encoded
        guard input.count <= ScanWorkerJob.maxBytes else { return .failure("the job is larger than \(ScanWorkerJob.maxBytes) bytes (credentials too long)") }
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1]
        // Only this (the main reactor's) thread starts processes, and every other descriptor the service
        // opens is close-on-exec already: marking these after pipe() leaves no window for another spawn.
        guard pipe(&inPipe) == 0 else { return .failure("pipe: \(String(errno: errno))") }
        guard pipe(&outPipe) == 0 else {
            close(inPipe[0]); close(inPipe[1])
            return .failure("pipe: \(String(errno: errno))")
        }
        for fd in inPipe + outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // The worker's log lines (stderr) join the service's (stdout); then stdin and stdout are the pipes.
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // The service's threads block SIGTERM/SIGINT (a signalfd reads them); the worker starts with none blocked.
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var env = environment.values
        // A crashing Swift program otherwise starts swift-backtrace, which holds the pipe open for minutes.
        if env["SWIFT_BACKTRACE"] == nil { env["SWIFT_BACKTRACE"] = "enable=no" }
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("cr-agent"), strdup("scan-worker"), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0])
            return .failure("cannot start \(executable) scan-worker: \(String(errno: rc))")
        }
        // Under the pipe's 64 KiB buffer: written whole at once, then EOF.
        _ = ScanWorkerCommand.writeAll(inPipe[1], input)
        close(inPipe[1])
        _ = fcntl(outPipe[0], F_SETFL, fcntl(outPipe[0], F_GETFL) | O_NONBLOCK)
        let worker = ScanWorker(pid: pid, outputFD: outPipe[0], reactor: reactor)
        worker.done = done
        do {
            try reactor.register(fd: outPipe[0], events: .readable) { [weak worker] _ in worker?.readOutput() }
        } catch {
            // Reaped quietly: the caller reports this image's failure itself.
            worker.done = nil
            _ = Glibc.kill(pid, SIGKILL)
            worker.reading = false
            close(outPipe[0])
            worker.reap()
            return .failure("cannot watch the scan worker's output: \(error)")
        }
        worker.deadlineTimer = reactor.schedule(afterMilliseconds: limits.deadlineMilliseconds) { [weak worker] in
            worker?.kill(code: "SCAN_TIMEOUT", message: "the scan did not finish within SCAN_TIMEOUT_MS; its worker was stopped")
        }
        worker.watchMemory(limit: limits.maxResidentBytes, every: limits.pollMilliseconds)
        return .success(worker)
    }

    /// Stops the worker (SIGKILL); the image's outcome is this failure unless its answer already came.
    func kill(code: String, message: String) {
        guard done != nil, killedFor == nil else { return }
        killedFor = (code, message)
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// Resident memory of the worker now (VmRSS), in bytes; nil once it is gone.
    static func residentBytes(_ pid: pid_t) -> Int? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buf[0..<n], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }

    private func watchMemory(limit: Int, every ms: Int) {
        reactor.schedule(afterMilliseconds: ms) { [weak self] in
            guard let self, self.done != nil, self.killedFor == nil else { return }
            if let rss = Self.residentBytes(self.pid) {
                self.residentPeak = max(self.residentPeak, rss)
                if rss > limit {
                    return self.kill(code: "WORKER_MEMORY_LIMIT",
                                     message: "the scan worker used \(rss >> 20) MiB, over SCAN_WORKER_MAX_RSS_MB=\(limit >> 20); it was stopped")
                }
            }
            self.watchMemory(limit: limit, every: ms)
        }
    }

    private func readOutput() {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while reading {
            let n = chunk.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
            if n > 0 {
                outputBytes += n
                if outputBytes > ScanWorkerFrame.maxOutputBytes {
                    kill(code: "WORKER_CRASHED", message: "the scan worker wrote more than \(ScanWorkerFrame.maxOutputBytes) bytes; it was stopped")
                    return endOutput()
                }
                buffer += chunk[0..<n]
                guard let frames = ScanWorkerFrame.take(from: &buffer) else {
                    kill(code: "WORKER_CRASHED", message: "the scan worker's answer is malformed; it was stopped")
                    return endOutput()
                }
                for (kind, payload) in frames { take(kind, payload) }
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            return endOutput()   // EOF or an error: the worker is gone or going
        }
    }

    private func take(_ kind: UInt8, _ payload: [UInt8]) {
        switch kind {
        case ScanWorkerFrame.stats: stats = ScanWorkerStats.decode(payload)
        case ScanWorkerFrame.result: result = payload
        case ScanWorkerFrame.truncated:
            truncated = ((try? JSON.parse(payload))?.array ?? []).compactMap(\.string)
        case ScanWorkerFrame.error:
            let j = try? JSON.parse(payload)
            error = (j?["code"]?.string ?? "SCAN_FAILED", j?["message"]?.string ?? "the scan failed")
        default: break
        }
    }

    private func endOutput() {
        guard reading else { return }
        reading = false
        reactor.unregister(fd: outputFD)
        close(outputFD)
        reap()
    }

    /// Waits (on timers, never blocking the loop) for the worker to exit, then reports its outcome. A
    /// worker that closed its output but lingers is killed after 2 s.
    private func reap(waitedMilliseconds: Int = 0) {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == 0 {
            if waitedMilliseconds >= 2000 { _ = Glibc.kill(pid, SIGKILL) }
            reactor.schedule(afterMilliseconds: 20) { [self] in reap(waitedMilliseconds: waitedMilliseconds + 20) }
            return
        }
        if let t = deadlineTimer { reactor.cancel(t) }
        guard let d = done else { return }
        done = nil
        if let result, error == nil { return d(.scanned(scanResult: result, truncated: truncated), stats, false) }
        if let error { return d(.failed(code: error.0, message: error.1), stats, false) }
        if let killedFor { return d(.failed(code: killedFor.0, message: killedFor.1), stats, true) }
        let how: String
        if r > 0 && (status & 0x7F) != 0 {
            how = "was killed by signal \(status & 0x7F)"
        } else if r > 0 {
            how = "exited with status \((status >> 8) & 0xFF)"
        } else {
            how = "ended"
        }
        d(.failed(code: "WORKER_CRASHED", message: "the scan worker \(how) without a result; the service goes on"), stats, true)
    }
}
