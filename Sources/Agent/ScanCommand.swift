// `cr-agent scan <reference>`: scans one image from a registry, an OCI layout or a `docker save`
// archive, and writes a report (table, snyk JSON, CycloneDX or SPDX) to stdout or a file.
import Core
import Glibc

enum ScanCommand {
    static let usage = """
    Usage: cr-agent scan [options] <reference>

    Scans an image for installed packages (OS and application) in one streaming pass and prints a report.

    Reference (skopeo's transport names):
      [docker://]host[:port]/repo[:tag|@sha256:<hex>]   an image in a registry; without a host, Docker Hub
                                                        (library/ for one-word names)
      repo[:tag|@digest]                                with CR_BASE set: an image under that registry base
      oci:<dir>[:tag]                                   an OCI image layout directory
      docker-archive:<file>[:name:tag]                  a `docker save` tarball

    Options:
      --format table|json|cyclonedx|spdx   report format (default table; json is the snyk scan result)
      --output FILE                        write the report to FILE instead of stdout
      --platform os/arch[/variant]         image to pick from an index (default linux/amd64)
      --plain-http                         use http:// for a registry given without a scheme
      -h, --help                           show this help

    Credentials, first found: CR_CREDENTIALS, CR_USERNAME + CR_PASSWORD (or CR_TOKEN), the Docker config
    file's auths entry for the registry ($DOCKER_CONFIG/config.json or ~/.docker/config.json), else
    anonymous. Also: CA_CERT, REGISTRY_CERTS_DIRS, HTTPS_PROXY/NO_PROXY, SNYK_MAX_IMAGE_SIZE_IN_BYTES,
    SCAN_TIMEOUT_MS (deadline for the whole scan, default 900000), TMPDIR (spool for large files),
    SCAN_CACHE_DIR (per-layer findings kept between runs), SOURCE_DATE_EPOCH (reproducible SBOMs),
    LOG_LEVEL (stderr).

    Exit status: 0 scanned (also when no package was found); 1 the scan failed or passed SCAN_TIMEOUT_MS
    (one line on stderr); 2 usage or configuration error; 130 interrupted (SIGINT); 143 terminated (SIGTERM).

    """

    enum Source {
        /// An image in a registry, and the credential chain's access to it.
        case registry(RegistryTarget, RegistryAccess)
        case ociLayout(directory: String, tag: String?)
        case dockerArchive(path: String, name: String?)
    }

    struct Options: CommandOptions {
        var source: Source
        var displayName: String
        var format: ReportFormat
        var output: String?
        var platform: Platform
        var logLevel: LogLevel
        var limits: ScanLimits
        var reportOptions: ReportOptions
        /// SCAN_CACHE_DIR and SCAN_CACHE_MAX_BYTES (nil: no cap), read as the service reads them.
        var cacheDirectory: String?
        var cacheMaxBytes: Int?
    }

    static func run(arguments: [String], environment env: Environment) -> Int32 {
        let options: Options, logger: Logger, run: CommandRun
        switch CommandRun.begin(command: "scan", arguments: arguments, environment: env, usage: usage, parse: parse, work: "scan", output: "report",
                               deadlineMilliseconds: { $0.limits.scanTimeoutMilliseconds }) {
        case .success(let s): options = s.options; logger = s.logger; run = s.run
        case .failure(let exit): return exit.code
        }
        defer { run.settle() }
        let reactor = run.reactor

        let source: ImageSource
        let verifies: Bool
        switch options.source {
        case .ociLayout(let dir, let tag):
            source = OCILayoutSource(directory: dir, tag: tag, platform: options.platform, reactor: reactor)
            verifies = false
        case .dockerArchive(let path, let name):
            source = DockerArchiveSource(path: path, name: name, reactor: reactor)
            verifies = false
        case .registry(let target, let access):
            let session = RegistrySession(reactor: reactor, environment: env, logger: logger)
            let credentials: RegistryCredentials
            switch run.registryCredentials(access, for: target.base, session: session, work: "scan") {
            case .failure(let exit): return exit.code
            case .success(let c): credentials = c
            }
            do {
                let client = try target.client(on: reactor, environment: env, credentials: credentials, platform: options.platform, logger: logger)
                source = RegistryImageSource(client: client, reference: target.reference, displayName: options.displayName)
            } catch {
                Console.err("cr-agent scan: \(error)\n")
                return 2
            }
            verifies = true
        }

        let cache = options.cacheDirectory.map { LayerCache(capacity: 64, directory: $0, maxDiskBytes: options.cacheMaxBytes) }
        let scanner = ImageScanner(source: source, reactor: reactor, limits: options.limits, cache: cache, sourceVerifiesDigests: verifies,
                                   cancellation: run.cancellation)
        let progress = ProgressLine(enabled: isatty(2) == 1)
        scanner.onProgress = { progress.update($0) }
        logger.debug("scanning", [("image", .string(options.displayName)), ("platform", .string(options.platform.description))])
        let step = scan(scanner, on: run)
        run.settle()
        progress.clear()

        let outcome: Result<ImageInventory, ScanFailure>?
        switch step {
        case .stopped(let why)?:
            Console.err("cr-agent scan: \(UntrustedText.terminalSafe(options.displayName)): \(why.message) before the scan finished\n")
            return TerminationSignals.exitStatus(for: why)
        case .finished(let result)?: outcome = result
        case nil: outcome = nil
        }
        switch outcome {
        case .success(let inventory)?:
            for w in inventory.warnings { logger.warn(w) }
            let bytes = options.format.render(inventory, options: options.reportOptions)
            if let path = options.output {
                if let error = writeFile(path, bytes) {
                    Console.err("cr-agent scan: cannot write \(path): \(error)\n")
                    return 1
                }
            } else {
                Console.out(String(decoding: bytes, as: UTF8.self))
            }
            return 0
        case .failure(let e)?:
            // The message may quote the image or the registry: one line, nothing a terminal would act on.
            // A local source's errors already start with its name (it stands in for the registry): not twice.
            let detail = e.description.hasPrefix(options.displayName + ": ") ? e.description : options.displayName + ": " + e.description
            Console.err("cr-agent scan: \(UntrustedText.terminalSafe(UntrustedText.truncated(detail, maxBytes: 4096)))\n")
            if case .cancelled(let why) = e { return TerminationSignals.exitStatus(for: why) }
            return 1
        case nil:
            Console.err("cr-agent scan: the event loop stopped before the scan finished\n")
            return 1
        }
    }

    static let formats: [String: ReportFormat] = ["table": .table, "json": .snyk, "snyk": .snyk, "cyclonedx": .cyclonedxJSON,
                                                  "cyclonedx-json": .cyclonedxJSON, "spdx": .spdxJSON, "spdx-json": .spdxJSON]

    static func parse(_ arguments: [String], _ env: Environment) -> ParsedCommand<Options> {
        let flags: CommandLineFlags
        do {
            flags = try CommandLineFlags(arguments, valued: ["format", "output", "platform", "o"], boolean: ["plain-http", "help"], aliases: ["-h": "help"])
        } catch {
            return .error("\(error) (see cr-agent scan --help)")
        }
        if flags.has("help") { return .help }
        guard flags.positional.count == 1 else {
            return .error(flags.positional.isEmpty ? "an image reference is required (see cr-agent scan --help)"
                                                   : "one image reference expected, got \(flags.positional.count)")
        }
        let raw = flags.positional[0]
        guard let format = formats[flags["format"] ?? "table"] else {
            return .error("--format must be table, json, cyclonedx or spdx, got \"\(flags["format"]!)\"")
        }
        var platform = Platform()
        if let p = flags["platform"] {
            guard let parsed = FetchCommand.parsePlatform(p) else { return .error("--platform must be os/arch[/variant], got \"\(p)\"") }
            platform = parsed
        }
        let logLevel: LogLevel
        let reportOptions: ReportOptions
        let limits: ScanLimits
        let cacheMaxBytes: Int?
        do {
            logLevel = try env.logLevel(default: .warn)
            reportOptions = try ReportOptions(environment: env)
            limits = try scanLimits(env)
            cacheMaxBytes = env["SCAN_CACHE_MAX_BYTES"] == nil ? nil : try env.int("SCAN_CACHE_MAX_BYTES", default: 0, range: 0...(1 << 50))
        } catch {
            return .error(error.description)
        }
        let source: Source
        if raw.hasPrefix("oci:") {
            let (path, tag) = splitPathAndName(String(raw.dropFirst(4)))
            guard !path.isEmpty else { return .error("oci: needs a directory: oci:<dir>[:tag]") }
            source = .ociLayout(directory: path, tag: tag)
        } else if raw.hasPrefix("docker-archive:") {
            let (path, name) = splitPathAndName(String(raw.dropFirst(15)))
            guard !path.isEmpty else { return .error("docker-archive: needs a file: docker-archive:<file>[:name:tag]") }
            source = .dockerArchive(path: path, name: name)
        } else {
            let ref = raw.hasPrefix("docker://") ? String(raw.dropFirst(9)) : raw
            do {
                let access: RegistryAccess
                switch RegistryAccess.fromEnvironment(env) {
                case .success(let a): access = a
                case .failure(let e): return .error(e.description)
                }
                // Without a host, Docker Hub, as in Docker; or the type's own registry when it has one.
                let defaultType = access.type?.defaultRegistry != nil ? access.type : RegistryTypes.named("docker-hub")
                let target = try RegistryTarget(reference: ref, crBase: env["CR_BASE"], plainHTTP: flags.has("plain-http"), defaultType: defaultType)
                source = .registry(target, access)
            } catch {
                return .error(error.description)
            }
        }
        return .options(Options(source: source, displayName: raw, format: format, output: flags["output"] ?? flags["o"],
                                platform: platform, logLevel: logLevel, limits: limits, reportOptions: reportOptions,
                                cacheDirectory: env["SCAN_CACHE_DIR"], cacheMaxBytes: cacheMaxBytes))
    }

    /// The limits the environment sets (SNYK_MAX_IMAGE_SIZE_IN_BYTES, SCAN_TIMEOUT_MS): the same for
    /// `scan` and for the service's scan workers.
    static func scanLimits(_ env: Environment) throws(ConfigurationError) -> ScanLimits {
        var limits = ScanLimits()
        limits.maxImageBytes = try env.int("SNYK_MAX_IMAGE_SIZE_IN_BYTES", default: limits.maxImageBytes, range: 1...(1 << 50))
        limits.scanTimeoutMilliseconds = try env.int("SCAN_TIMEOUT_MS", default: limits.scanTimeoutMilliseconds ?? 900_000, range: 1...(1 << 40))
        return limits
    }

    /// Runs `scanner` on `run`'s reactor. A deadline cancels the scanner, which then ends with its own
    /// failure; a signal ends the step at once.
    static func scan(_ scanner: ImageScanner, on run: CommandRun) -> CommandRun.Step<Result<ImageInventory, ScanFailure>>? {
        run.perform { (done: @escaping (Result<ImageInventory, ScanFailure>) -> Void) in
            scanner.scan(done)
            return { scanner.cancel() }
        }
    }

    /// `path[:name]`, split at the first `:` as skopeo does (the path holds no colon; the name may:
    /// `oci:/a/b:repo/app:1.0`).
    static func splitPathAndName(_ s: String) -> (String, String?) {
        guard let colon = s.firstIndex(of: ":") else { return (s, nil) }
        let name = String(s[s.index(after: colon)...])
        return (String(s[..<colon]), name.isEmpty ? nil : name)
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return String(errno: errno) }
        defer { close(fd) }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return String(errno: errno) }
            off += n
        }
        return nil
    }
}

/// `layer 2/5  12.3 MB  45.6 MB/s` on one stderr line, redrawn in place; only when stderr is a terminal.
/// Layers stream at once, so the number is the layers received so far plus one, not one layer's index.
final class ProgressLine {
    let enabled: Bool
    private let start = Reactor.now()
    private var total = 0
    private var received = 0
    private var lastDraw: UInt64 = 0

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: ScanProgress) {
        guard enabled else { return }
        total += p.newBytes
        let layer = min(received + 1, p.layers)
        if p.cached || p.bytes >= p.layerBytes { received += 1 }
        let now = Reactor.now()
        guard now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - start) / 1e9
        let mb = Double(total) / 1e6
        Console.err("\r\u{1B}[Klayer \(layer)/\(p.layers)\(p.cached ? " (cached)" : "")  \(FixedPoint.fixed(mb, 1)) MB  \(FixedPoint.fixed(mb / max(seconds, 0.001), 1)) MB/s")
    }

    func clear() { if enabled { Console.err("\r\u{1B}[K") } }
}
