// `cr-agent scan-worker` (hidden): one image of an operation, scanned in a process of its own so that a
// crash, hang or leak costs that image only. Reads its ScanWorkerJob on stdin, scans with the pieces
// `cr-agent scan` uses, and writes framed stats and a result (or an error) on stdout; logs go to stderr.
import CEpoll
import Core
import Glibc

enum ScanWorkerCommand {
    static func run(environment env: Environment) -> Int32 {
        Redaction.registerSecrets(fromEnvironment: env.values)
        guard let input = readStandardInput(cap: ScanWorkerJob.maxBytes), let job = ScanWorkerJob.decode(input) else {
            Console.err("cr-agent scan-worker: no valid job on stdin (this command is started by the service)\n")
            return 2
        }
        // A worker never outlives the service (killed by the OOM killer, say): it would hold memory and
        // registry connections for no one.
        _ = cep_set_parent_death_signal(SIGKILL)
        guard getppid() == job.servicePid else { return 1 }
        limitAddressSpace(residentMegabytes: (try? env.int("SCAN_WORKER_MAX_RSS_MB", default: 1536, range: 8...(1 << 20))) ?? 1536)
        let logger = Logger(level: (try? env.logLevel()) ?? .info, fd: 2, component: "cr-agent scan-worker")
            .with([("operation", .string(job.operationId)), ("image", .string(job.image))])
        let answer = scan(job, env, logger)
        var out: [UInt8] = ScanWorkerFrame.encode(ScanWorkerFrame.stats, answer.stats.encoded)
        switch answer.outcome {
        case .scanned(let bytes, let truncated):
            out += ScanWorkerFrame.encode(ScanWorkerFrame.result, bytes)
            out += ScanWorkerFrame.encode(ScanWorkerFrame.truncated, Array(JSON.array(truncated.map { .string($0) }).serialized.utf8))
        case .failed(let code, let message):
            out += ScanWorkerFrame.encode(ScanWorkerFrame.error, Array(JSON.object([("code", .string(code)), ("message", .string(message))]).serialized.utf8))
        }
        return writeAll(1, out) ? 0 : 1
    }

    static func scan(_ job: ScanWorkerJob, _ env: Environment, _ logger: Logger) -> (outcome: ImageOutcome, stats: ScanWorkerStats) {
        var stats = ScanWorkerStats()
        func failed(_ code: String, _ message: String) -> (ImageOutcome, ScanWorkerStats) {
            (.failed(code: code, message: Redaction.scrub(message)), stats)
        }
        let access: RegistryAccess
        if let raw = job.credentials {
            Redaction.register(secret: raw, expiresInSeconds: 3600)
            let defaultType = env["CR_TYPE"].flatMap { RegistryTypes.named($0) }
            switch RegistryAccess.fromBrokerCredentials(raw, defaultType: defaultType, configuredBase: env["CR_BASE"]) {
            case .failure(let e): return failed("INVALID_CREDENTIALS", e.description)
            case .success(let a): access = a
            }
            if case .broker(let c, _) = access.source, let p = c.password, !p.isEmpty { Redaction.register(secret: p, expiresInSeconds: 3600) }
        } else {
            switch RegistryAccess.fromEnvironment(env) {
            case .failure(let e): return failed("INVALID_CREDENTIALS", e.description)
            case .success(let a): access = a
            }
        }
        let target: RegistryTarget
        do { target = try RegistryTarget(reference: job.image, crBase: job.registryBase, plainHTTP: false, defaultType: access.type) } catch {
            return failed("INVALID_IMAGE", error.description)
        }
        var limits: ScanLimits
        do { limits = try ScanCommand.scanLimits(env) } catch { return failed("CONFIGURATION", error.description) }
        limits.maxImageBytes = job.maxImageBytes
        limits.scanTimeoutMilliseconds = job.scanTimeoutMilliseconds

        let run: CommandRun
        do {
            run = try CommandRun(command: "scan-worker", work: "scan", output: "result", deadlineMilliseconds: job.scanTimeoutMilliseconds)
        } catch {
            return failed("WORKER_CRASHED", "cannot start the scan: \(error)")
        }
        defer { run.settle() }
        let session = RegistrySession(reactor: run.reactor, environment: env, logger: logger)
        let login = run.perform { (done: @escaping (Result<RegistryCredentials, RegistryAccessFailure>) -> Void) in
            access.registryCredentials(for: target.base, session: session, done: done)
            return {}
        }
        let credentials: RegistryCredentials
        switch login {
        case .finished(.success(let c))?: credentials = c
        case .finished(.failure(.configuration(let m)))?: return failed("INVALID_CREDENTIALS", m)
        case .finished(.failure(.registry(let e)))?: return failed(ScanOutcomeCode.of(.registry(e)), e.description)
        case .stopped(let why)?: return failed(ScanOutcomeCode.of(.cancelled(why)), why.message)
        case nil: return failed("WORKER_CRASHED", "the event loop stopped before the registry login finished")
        }
        let source: RegistryImageSource
        do {
            let client = try target.client(on: run.reactor, environment: env, credentials: credentials, platform: job.platform, logger: logger)
            source = RegistryImageSource(client: client, reference: target.reference, displayName: job.image)
        } catch {
            return failed(ScanOutcomeCode.of(.registry(error)), error.description)
        }
        let cache = job.cacheDirectory.map { LayerCache(capacity: 64, directory: $0, maxDiskBytes: job.cacheMaxBytes) }
        let scanner = ImageScanner(source: source, reactor: run.reactor, limits: limits, cache: cache, sourceVerifiesDigests: true,
                                   cancellation: run.cancellation)
        scanner.onProgress = { p in if !p.cached { stats.bytesPulled += p.newBytes } }
        logger.debug("scanning", [("platform", .string(job.platform.description))])
        let step = ScanCommand.scan(scanner, on: run)
        stats.cacheHits = scanner.layersFromCache
        switch step {
        case .finished(.success(let inventory))?:
            for w in inventory.warnings.prefix(20) { logger.warn(w) }
            stats.packages = inventory.packages.count
            let (bytes, truncated) = CallbackPayloads.scanResult(inventory)
            return (.scanned(scanResult: bytes, truncated: truncated), stats)
        case .finished(.failure(let e))?: return failed(ScanOutcomeCode.of(e), e.description)
        case .stopped(let why)?: return failed(ScanOutcomeCode.of(.cancelled(why)), why.message)
        case nil: return failed("WORKER_CRASHED", "the event loop stopped before the scan finished")
        }
    }

    /// The backstop behind the service's VmRSS poll: an address-space limit the worker sets on itself, so
    /// a runaway allocation between two polls fails (the worker dies: WORKER_CRASHED) instead of taking
    /// the machine's memory. Generous (twice the resident limit, at least 1 GiB, plus 1 GiB), since the
    /// Swift runtime, libcurl and OpenSSL map more than they touch (a worker maps about 180 MB at its peak).
    static func limitAddressSpace(residentMegabytes: Int) {
        let bytes = (max(2 * residentMegabytes, 1024) + 1024) << 20
        var limit = rlimit(rlim_cur: rlim_t(bytes), rlim_max: rlim_t(bytes))
        _ = setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
    }

    static func readStandardInput(cap: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out += buf[0..<n]
            if out.count > cap { return nil }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }
}

/// The stable code an image's failure carries in its result: the registry's own code when it sent one.
enum ScanOutcomeCode {
    static func of(_ failure: ScanFailure) -> String {
        switch failure {
        case .registry(let e):
            if let code = e.code, !code.isEmpty { return code.uppercased() }
            switch e.kind {
            case .invalidInput: return "INVALID_IMAGE"
            case .authentication: return "UNAUTHORIZED"
            case .permission: return "DENIED"
            case .notFound: return "MANIFEST_UNKNOWN"
            case .unsupported: return "UNSUPPORTED"
            case .tooLarge: return "TOO_LARGE"
            case .integrity: return "DIGEST_INVALID"
            case .network: return "REGISTRY_UNREACHABLE"
            case .registry: return "REGISTRY_ERROR"
            case .refused: return "REFUSED"
            }
        case .scan(let e):
            // The one limit checked before any layer is fetched (ImageScanner names its setting).
            if e.kind == .limit && e.message.contains("SNYK_MAX_IMAGE_SIZE_IN_BYTES") { return "IMAGE_TOO_LARGE" }
            switch e.kind {
            case .corrupt: return "IMAGE_CORRUPT"
            case .limit: return "SCAN_LIMIT"
            case .io: return "IO_ERROR"
            case .integrity: return "DIGEST_INVALID"
            case .unsupported: return "UNSUPPORTED"
            }
        case .source: return "IMAGE_INVALID"
        case .cancelled(let why):
            if case .deadline = why { return "SCAN_TIMEOUT" }
            return "CANCELLED"
        }
    }
}
