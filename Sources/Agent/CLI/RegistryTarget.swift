// Where a CLI command's image lives: a registry base (from CR_BASE, or from the reference's own host)
// and the reference within that registry.

import Core

struct RegistryTarget {
    let base: RegistryBase
    let reference: ImageReference

    /// With `CR_BASE` set (`crBase`), `raw` is `repo[:tag|@digest]` under that base (which may carry a
    /// path prefix). Without it, `raw` must name the registry: `[http://|https://]host[:port]/repo[:tag|@digest]`,
    /// where the first path component counts as a host when it holds a `.` or a `:`, is `localhost`, or a
    /// scheme was written. https unless `http://` is written (in `raw` or in CR_BASE) or `plainHTTP` is set;
    /// `plainHTTP` with an explicit `https://` is a contradiction and refused.
    /// With a `defaultType` that has a registry of its own (docker-hub, gcr, quay-cr, ...), a reference
    /// without a registry host means that registry, and a single-component name gets the type's official
    /// image prefix (Docker Hub's `library/`, as in Docker). `scan` defaults to docker-hub.
    init(reference raw: String, crBase: String?, plainHTTP: Bool, defaultType: (any RegistryType)? = nil) throws(CommandLineFlags.UsageError) {
        if let crBase {
            if raw.contains("://") {
                throw .init("with CR_BASE set (\(crBase)) give the reference as repo[:tag|@digest] under it, not \"\(raw)\"")
            }
            base = try RegistryTarget.base(crBase, plainHTTP: plainHTTP, what: "CR_BASE")
            do {
                reference = try ImageReference(parsing: raw)
            } catch {
                throw .init("\(error.message); with CR_BASE set (\(base)) the reference is repo[:tag|@digest] under it")
            }
            return
        }
        var rest = Substring(raw)
        var scheme: String?
        if let r = rest.range(of: "://") {
            scheme = rest[..<r.lowerBound].lowercased()
            rest = rest[r.upperBound...]
        }
        let slash = rest.firstIndex(of: "/")
        let host = slash.map { rest[..<$0] } ?? ""
        let looksLikeHost = slash != nil && (scheme != nil || host.contains(".") || host.contains(":") || host == "localhost" || host.hasPrefix("["))
        if !looksLikeHost, let type = defaultType, let registry = type.defaultRegistry {
            base = try RegistryTarget.base("https://" + registry, plainHTTP: false, what: "the \(type.name) registry")
            let path = slash == nil ? (type.officialImagePrefix ?? "") + rest : String(rest)
            do { reference = try ImageReference(parsing: path) } catch { throw .init(error.message) }
            return
        }
        guard let slash else {
            throw .init("\"\(raw)\" names no registry; give host[:port]/repo[:tag|@digest] or set CR_BASE")
        }
        guard looksLikeHost else {
            throw .init("\"\(raw)\" names no registry host (\"\(host)\" is not host[:port]); give host[:port]/repo[:tag|@digest] or set CR_BASE")
        }
        let dockerHub = defaultType?.name == "docker-hub" && (host == "docker.io" || host == "index.docker.io")
        base = try RegistryTarget.base(dockerHub ? "https://registry-1.docker.io" : (scheme.map { $0 + "://" } ?? "") + host,
                                       plainHTTP: plainHTTP, what: "the reference's registry")
        var path = String(rest[rest.index(after: slash)...])
        if dockerHub && !path.contains("/") { path = "library/" + path }
        do {
            reference = try ImageReference(parsing: path)
        } catch {
            throw .init(error.message)
        }
    }

    static func base(_ raw: String, plainHTTP: Bool, what: String) throws(CommandLineFlags.UsageError) -> RegistryBase {
        var value = raw
        if plainHTTP {
            if value.lowercased().hasPrefix("https://") {
                throw .init("--plain-http contradicts \(what) \(raw), which says https://")
            }
            if !value.contains("://") { value = "http://" + value }
        }
        do {
            return try RegistryBase(parsing: value)
        } catch {
            throw .init("\(what): \(error.message)")
        }
    }
}

extension RegistryTarget {
    /// libcurl's receive buffer for blob streams: larger reads mean fewer callbacks per layer.
    static let receiveBufferSize = 256 * 1024

    /// The registry client CLI commands use: trust as the rest of the agent has it (the system's CAs,
    /// CA_CERT, the registry host's certs.d folder from REGISTRY_CERTS_DIRS), proxies from the
    /// environment, and retries logged.
    func client(on reactor: Reactor, environment env: Environment, credentials: RegistryCredentials,
                platform: Platform, logger: Logger) throws(RegistryError) -> RegistryClient {
        try Self.client(for: base, on: reactor, environment: env, credentials: credentials, logger: logger) { $0.platform = platform }
    }

    /// The same for a registry base alone (`cr-agent list`, the service's registry reads); `adjust` changes
    /// the options read from the environment.
    static func client(for base: RegistryBase, on reactor: Reactor, environment env: Environment, credentials: RegistryCredentials,
                       logger: Logger, adjust: (inout RegistryOptions) -> Void) throws(RegistryError) -> RegistryClient {
        var configuration = HTTPClientConfiguration(environment: env.values)
        configuration.receiveBufferSize = Self.receiveBufferSize
        var options: RegistryOptions
        do { options = try RegistryOptions.validated(environment: env.values) } catch {
            throw RegistryError(.invalidInput, registry: base.origin, error.description)
        }
        adjust(&options)
        // One trust (and so one HTTP client and connection cache per set of certs.d files) per reactor:
        // the service makes a client per request, and those must not each open their own connections.
        let trust = RegistryTrust.shared(on: reactor, configuration: configuration)
        let client = try RegistryClient(base: base, credentials: credentials, trust: trust, options: options)
        client.onRetry = { what, attempt, delay in
            logger.info("retrying", [("what", .string(what)), ("attempt", .int(attempt)), ("delayMs", .int(delay))])
        }
        return client
    }
}
