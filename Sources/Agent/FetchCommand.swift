// `cr-agent fetch <reference>`: pulls an image and verifies it without keeping it. Every layer streams
// through the registry client's sha256- and size-checking blob stream into a sink that drops the bytes;
// one summary line (or a JSON object) goes to stdout, logs (JSON lines) to stderr.
import Core
import Glibc

enum FetchCommand {
    static let defaultParallel = 3
    static let maxParallel = 16

    static let usage = """
    Usage: cr-agent fetch [options] <reference>

    Pulls an image for one platform, verifying the sha256 and size of every layer as it streams, and
    keeps nothing. Prints one line: reference, manifest digest, layers, bytes, seconds, MB/s.

    Reference:
      with CR_BASE set       repo[:tag|@sha256:<hex>] under CR_BASE (which may carry a path prefix)
      without CR_BASE        [http://|https://]host[:port]/repo[:tag|@sha256:<hex>], or repo[:tag|@digest]
                             on the registry of CR_TYPE when it has one (docker-hub, gcr, quay-cr, ...)
    https unless http:// is written (in the reference or CR_BASE) or --plain-http is given.

    Options:
      --platform os/arch[/variant]  image to pick from an index (default linux/amd64)
      --parallel N                  layers fetched at once, 1...\(maxParallel) (default \(defaultParallel))
      --json                        print the summary as one JSON object
      --plain-http                  use http:// for a registry given without a scheme
      -h, --help                    show this help

    Credentials, first found: CR_CREDENTIALS, CR_USERNAME + CR_PASSWORD (or CR_TOKEN), the Docker config
    file's auths entry for the registry ($DOCKER_CONFIG/config.json or ~/.docker/config.json), else
    anonymous; CR_TYPE names the registry type (see docs/configuration.md).

    Environment: CR_BASE, CA_CERT, REGISTRY_CERTS_DIRS (certs.d
    roots, default /etc/containers/certs.d:/etc/docker/certs.d), HTTPS_PROXY/NO_PROXY,
    REGISTRY_STALL_TIMEOUT_MS (under 1 KiB moved in this window aborts a transfer, default 30000),
    REGISTRY_ALLOWED_HOSTS (hosts requests may reach, default any), LOG_LEVEL (debug|info|warn|error,
    default warn; JSON lines on stderr). Credentials go to the registry named here only.

    Exit status: 0 fetched and verified; 1 the fetch failed (one line on stderr naming the cause);
    2 usage or configuration error; 130 interrupted (SIGINT), 143 terminated (SIGTERM).

    """

    struct Options: CommandOptions {
        var target: RegistryTarget
        var platform: Platform
        var parallel: Int
        var json: Bool
        /// The credential chain's access (CR_CREDENTIALS, CR_USERNAME/CR_PASSWORD or CR_TOKEN, Docker config).
        var access: RegistryAccess
        var logLevel: LogLevel
    }

    static func run(arguments: [String], environment env: Environment) -> Int32 {
        let options: Options, logger: Logger, run: CommandRun
        switch CommandRun.begin(command: "fetch", arguments: arguments, environment: env, usage: usage, parse: parse, work: "fetch", output: "summary") {
        case .success(let s): options = s.options; logger = s.logger; run = s.run
        case .failure(let exit): return exit.code
        }
        defer { run.settle() }
        let reactor = run.reactor
        let credentials: RegistryCredentials
        switch run.registryCredentials(options.access, for: options.target.base,
                                       session: RegistrySession(reactor: reactor, environment: env, logger: logger), work: "fetch") {
        case .failure(let exit): return exit.code
        case .success(let c): credentials = c
        }
        let client: RegistryClient
        do {
            client = try options.target.client(on: reactor, environment: env, credentials: credentials,
                                               platform: options.platform, logger: logger)
        } catch {
            Console.err("cr-agent fetch: \(error)\n")
            return 2
        }
        let http = client.http
        let fetch = ImageFetch(client: client, reference: options.target.reference, parallel: options.parallel, logger: logger)
        logger.debug("fetching", [("registry", .string(client.base.description)), ("reference", .string(options.target.reference.description)),
                                  ("platform", .string(options.platform.description)), ("parallel", .int(options.parallel))])
        let step = run.perform { (done: @escaping (Result<ImageFetch.Summary, RegistryError>) -> Void) in
            fetch.start(done)
            return {
                logger.info("stopping", [("reason", .string(run.cancellation.reason?.message ?? "stopped"))])
                fetch.cancel()
                http.cancelAll()
            }
        }
        return run.conclude(step, work: "fetch") { s in Console.out((options.json ? s.json.serialized : s.line) + "\n") }
    }

    static func parse(_ arguments: [String], _ env: Environment) -> ParsedCommand<Options> {
        let flags: CommandLineFlags
        do {
            flags = try CommandLineFlags(arguments, valued: ["platform", "parallel"], boolean: ["json", "plain-http", "help"], aliases: ["-h": "help"])
        } catch {
            return .error("\(error) (see cr-agent fetch --help)")
        }
        if flags.has("help") { return .help }
        guard flags.positional.count == 1 else {
            return .error(flags.positional.isEmpty ? "an image reference is required (see cr-agent fetch --help)"
                                                   : "one image reference expected, got \(flags.positional.count): \(flags.positional.joined(separator: " "))")
        }
        var platform = Platform()
        if let raw = flags["platform"] {
            guard let p = parsePlatform(raw) else {
                return .error("--platform must be os/arch[/variant] in lower-case letters and digits (e.g. linux/arm64/v8), got \"\(raw)\"")
            }
            platform = p
        }
        var parallel = defaultParallel
        if let raw = flags["parallel"] {
            guard let n = Int(raw), (1...maxParallel).contains(n) else {
                return .error("--parallel must be an integer in 1...\(maxParallel), got \"\(raw)\"")
            }
            parallel = n
        }
        let logLevel: LogLevel, access: RegistryAccess
        switch env.registryCommandSettings() {
        case .success(let s): logLevel = s.logLevel; access = s.access
        case .failure(let e): return .error(e.description)
        }
        let target: RegistryTarget
        do {
            target = try RegistryTarget(reference: flags.positional[0], crBase: env["CR_BASE"], plainHTTP: flags.has("plain-http"), defaultType: access.type)
        } catch {
            return .error(error.description)
        }
        return .options(Options(target: target, platform: platform, parallel: parallel, json: flags.has("json"),
                                access: access, logLevel: logLevel))
    }

    /// `os/arch[/variant]`, each part lower-case letters, digits, `.`, `_` or `-`.
    static func parsePlatform(_ raw: String) -> Platform? {
        guard let p = try? Platform(parsing: raw), raw.split(separator: "/", omittingEmptySubsequences: false).count == p.description.split(separator: "/").count else { return nil }
        let ok = [p.os, p.architecture, p.variant ?? "x"].allSatisfy { part in
            part.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
        }
        return ok ? p : nil
    }
}

/// One image pull into a discarding sink: resolve, then the distinct layer blobs, `parallel` at a time,
/// each verified by the registry client's blob stream. The first failure cancels the rest.
final class ImageFetch {
    struct Summary {
        let registry: RegistryBase
        let reference: ImageReference
        let platform: Platform
        let manifestDigest: String
        let indexDigest: String?
        let layers: Int
        let bytes: Int
        let seconds: Double

        var qualifiedReference: String { "\(registry.authority)\(registry.pathPrefix)/\(reference)" }
        var megabytesPerSecond: Double { Double(bytes) / 1_000_000 / max(seconds, 1e-9) }

        /// `<host/repo:tag> <digest> <n> layers, <bytes> bytes in <s> s, <x> MB/s`
        var line: String {
            "\(qualifiedReference) \(manifestDigest) \(layers) layer\(layers == 1 ? "" : "s"), \(bytes) bytes in \(FixedPoint.fixed(seconds, 3)) s, \(FixedPoint.fixed(megabytesPerSecond, 2)) MB/s"
        }

        var json: JSON {
            .object([("reference", .string(qualifiedReference)), ("registry", .string(registry.description)),
                     ("repository", .string(reference.repository)), ("tag", reference.tag.map(JSON.string) ?? .null),
                     ("platform", .string(platform.description)), ("manifestDigest", .string(manifestDigest)),
                     ("indexDigest", indexDigest.map(JSON.string) ?? .null), ("layers", .int(layers)), ("bytes", .int(bytes)),
                     ("seconds", .double(FixedPoint.round(seconds, 3))), ("megabytesPerSecond", .double(FixedPoint.round(megabytesPerSecond, 2)))])
        }
    }

    let client: RegistryClient
    let reference: ImageReference
    let parallel: Int
    let logger: Logger
    private var done: ((Result<Summary, RegistryError>) -> Void)?
    private var image: ResolvedImage?
    private var pending: [Descriptor] = []
    private var running: [String: BlobDownload] = [:]
    private var layerCount = 0
    private var bytes = 0
    private var started: UInt64 = 0

    init(client: RegistryClient, reference: ImageReference, parallel: Int, logger: Logger) {
        self.client = client
        self.reference = reference
        self.parallel = max(1, parallel)
        self.logger = logger
    }

    func start(_ done: @escaping (Result<Summary, RegistryError>) -> Void) {
        self.done = done
        started = Reactor.now()
        client.resolve(reference) { [self] result in
            switch result {
            case .failure(let e): finish(.failure(e))
            case .success(let img):
                guard self.done != nil else { return }
                image = img
                var seen = Set<String>()
                pending = img.layers.filter { seen.insert($0.digest).inserted }
                layerCount = pending.count
                logger.info("resolved", [("manifestDigest", .string(img.manifest.digest)), ("layers", .int(layerCount)),
                                         ("bytes", .int(pending.reduce(0) { $0 + $1.size })),
                                         ("foreignLayers", .int(img.foreignLayers.count)), ("seconds", .double(FixedPoint.round(elapsed, 3)))])
                pump()
            }
        }
    }

    /// Stops every transfer; `done` is not called.
    func cancel() {
        done = nil
        stopAll()
    }

    private var elapsed: Double { Double(Reactor.now() - started) / 1e9 }

    private func pump() {
        while done != nil, running.count < parallel, !pending.isEmpty {
            fetchLayer(pending.removeFirst())
        }
        guard done != nil, running.isEmpty, pending.isEmpty, let image else { return }
        finish(.success(Summary(registry: client.base, reference: reference, platform: client.options.platform,
                                manifestDigest: image.manifest.digest, indexDigest: image.index?.digest,
                                layers: layerCount, bytes: bytes, seconds: elapsed)))
    }

    private func fetchLayer(_ d: Descriptor) {
        let t0 = Reactor.now()
        var finished = false
        // Hashing is the whole of a fetch's work: on this thread it costs no copy into the hashing
        // thread's buffers, and a second thread would have nothing else to overlap with.
        let download = client.streamBlob(repository: reference.repository, descriptor: d, hashOffThread: false,
                                         onChunk: { _ in .continue }) { [self] result in
            finished = true
            running[d.digest] = nil
            guard done != nil else { return }
            switch result {
            case .failure(let e):
                finish(.failure(e))
            case .success(let n):
                bytes += n
                let s = Double(Reactor.now() - t0) / 1e9
                logger.info("layer verified", [("digest", .string(d.digest)), ("bytes", .int(n)), ("seconds", .double(FixedPoint.round(s, 3))),
                                               ("megabytesPerSecond", .double(FixedPoint.round(Double(n) / 1e6 / max(s, 1e-9), 1)))])
                pump()
            }
        }
        if !finished { running[d.digest] = download }
    }

    private func stopAll() {
        let downloads = running.values
        running = [:]
        pending = []
        for d in downloads { d.cancel() }
    }

    private func finish(_ result: Result<Summary, RegistryError>) {
        guard let d = done else { return }
        done = nil
        stopAll()
        d(result)
    }
}

/// Fixed-point formatting without Foundation.
enum FixedPoint {
    static func round(_ x: Double, _ places: Int) -> Double {
        guard x.isFinite else { return 0 }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (x * scale).rounded() / scale
    }

    /// `x` with exactly `places` digits after the point (x >= 0).
    static func fixed(_ x: Double, _ places: Int) -> String {
        guard x.isFinite, x >= 0 else { return "0" }
        var scale = 1
        for _ in 0..<places { scale *= 10 }
        let n = Int((x * Double(scale)).rounded())
        guard places > 0 else { return String(n) }
        var frac = String(n % scale)
        while frac.count < places { frac = "0" + frac }
        return "\(n / scale).\(frac)"
    }
}
