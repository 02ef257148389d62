// `cr-agent list [registry | repository]`: the repositories of a registry, or the tags of one
// repository, one per line as the pages arrive (the distribution API's _catalog and tags/list, following
// Link; for the ecr type, ECR's DescribeRepositories and ListImages). A check that the registry, the
// credentials and the network path work, and the listing the agent's API is built on.
import Core
import Glibc

enum ListCommand {
    static let usage = """
    Usage: cr-agent list [options] [<registry> | <registry>/<repository>]

    Prints the repositories of a registry, or the tags of one repository, one per line.

    Target:
      with CR_BASE set       nothing (the repositories under CR_BASE), or a repository under it
      without CR_BASE        [http://|https://]host[:port] or [http://|https://]host[:port]/repository
    With CR_TYPE=ecr (or the broker's ecr CR_CREDENTIALS) the listing comes from ECR's API, for the
    account and region of the login; the target is then only the repository, if any.

    Options:
      --page-size N   names asked for per page, 1...1000 (default 100)
      --plain-http    use http:// for a registry given without a scheme
      -h, --help      show this help

    Environment: as for cr-agent fetch (CR_BASE, CR_USERNAME/CR_PASSWORD or CR_TOKEN, CR_CREDENTIALS,
    DOCKER_CONFIG, CA_CERT, ...), and for ECR: CR_TYPE, CR_REGION, CR_ROLE_ARN, CR_EXTERNAL_ID, AWS_*.

    Exit status: 0 listed (possibly nothing); 1 the listing failed (one line on stderr naming the cause);
    2 usage or configuration error; 130 interrupted (SIGINT), 143 terminated (SIGTERM).

    """

    struct Options {
        /// Set for the ecr type: the listing then comes from ECR's API.
        var ecrRole: ECRRole?
        var base: RegistryBase?
        var repository: String?
        var pageSize: Int
        var logLevel: LogLevel
    }

    typealias Lister = (_ onPage: @escaping ([String]) -> Void, _ done: @escaping (Result<Int, RegistryError>) -> Void) -> Void

    static func run(arguments: [String], environment env: Environment) -> Int32 {
        Redaction.registerSecrets(fromEnvironment: env.values)
        let options: Options
        switch parse(arguments, env).options(command: "list", usage: usage) {
        case .success(let o): options = o
        case .failure(let exit): return exit.code
        }
        let logger = Logger(level: options.logLevel, fd: 2, component: "cr-agent list")
        let reactor: Reactor
        do { reactor = try Reactor() } catch {
            Console.err("cr-agent list: cannot start: \(error)\n")
            return 1
        }
        let list: Lister
        switch lister(options, env: env, reactor: reactor, logger: logger) {
        case .success(let l): list = l
        case .failure(let f): Console.err("cr-agent list: \(f.message)\n"); return f.exitCode
        }

        var outcome: Result<Int, RegistryError>?
        var signal: Int32 = 0
        do {
            try TerminationSignals.watch(on: reactor) { sig in
                guard signal == 0, outcome == nil else { return }
                signal = sig
                reactor.stop()
            }
        } catch {
            Console.err("cr-agent list: cannot watch signals: \(error)\n")
            return 1
        }
        list({ names in Console.out(names.map { $0 + "\n" }.joined()) }, { result in
            outcome = result
            reactor.stop()
        })
        reactor.run()
        if signal != 0 {
            Console.err("cr-agent list: \(signal == SIGINT ? "interrupted" : "terminated") before the listing finished\n")
            return 128 + signal
        }
        switch outcome {
        case .success(let count)?:
            logger.info("listed", [("names", .int(count))])
            return 0
        case .failure(let e)?:
            Console.err("cr-agent list: \(e)\n")
            return 1
        case nil:
            Console.err("cr-agent list: the event loop stopped before the listing finished\n")
            return 1
        }
    }

    /// ECR's API for the ecr type, else the registry's own listing with the credentials CLI commands use.
    static func lister(_ options: Options, env: Environment, reactor: Reactor, logger: Logger) -> Result<Lister, ECRCommandLogin.Failure> {
        if let role = options.ecrRole {
            switch ECRCommandLogin.catalog(role, env: env, reactor: reactor, pageSize: options.pageSize) {
            case .failure(let f): return .failure(f)
            case .success(let catalog):
                if let repository = options.repository { return .success { catalog.listTags(repository: repository, onPage: $0, done: $1) } }
                return .success { catalog.listRepositories(onPage: $0, done: $1) }
            }
        }
        guard let base = options.base else {
            return .failure(.init(message: "no registry named; give host[:port][/repository] or set CR_BASE", exitCode: 2))
        }
        let credentials: RegistryCredentials
        switch RegistryCredentialSources.resolve(env, registryHost: base.authority) {
        case .success(let c): credentials = c
        case .failure(let e): return .failure(.init(message: e.description, exitCode: 2))
        }
        let client: RegistryClient
        do {
            client = try RegistryTarget.client(for: base, on: reactor, environment: env, credentials: credentials, logger: logger) {
                $0.pageSize = options.pageSize
            }
        } catch {
            return .failure(.init(message: error.description, exitCode: 2))
        }
        if let repository = options.repository { return .success { client.listTags(repository: repository, onPage: $0, done: $1) } }
        return .success { client.listRepositories(onPage: $0, done: $1) }
    }

    static func parse(_ arguments: [String], _ env: Environment) -> ParsedCommand<Options> {
        let flags: CommandLineFlags
        do {
            flags = try CommandLineFlags(arguments, valued: ["page-size"], boolean: ["plain-http", "help"], aliases: ["-h": "help"])
        } catch {
            return .error("\(error) (see cr-agent list --help)")
        }
        if flags.has("help") { return .help }
        guard flags.positional.count <= 1 else {
            return .error("one target expected, got \(flags.positional.count): \(flags.positional.joined(separator: " "))")
        }
        var pageSize = 100
        if let raw = flags["page-size"] {
            guard let n = Int(raw), (1...1000).contains(n) else { return .error("--page-size must be an integer in 1...1000, got \"\(raw)\"") }
            pageSize = n
        }
        let logLevel: LogLevel
        do { logLevel = try env.logLevel(default: .warn) } catch { return .error(error.description) }
        let ecrRole: ECRRole?
        switch ECRCommandLogin.role(env) {
        case .success(let role): ecrRole = role
        case .failure(let e): return .error(e.description)
        }
        let ecr = ecrRole != nil
        let target = flags.positional.first
        if ecr || env["CR_BASE"] != nil {
            if let t = target, t.contains("://") { return .error("give only a repository here, not \"\(t)\" (the registry comes from \(ecr ? "the ECR login" : "CR_BASE"))") }
            var base: RegistryBase?
            if !ecr, let crBase = env["CR_BASE"] {
                do { base = try RegistryTarget.base(crBase, plainHTTP: flags.has("plain-http"), what: "CR_BASE") } catch { return .error(error.description) }
            }
            return .options(Options(ecrRole: ecrRole, base: base, repository: target, pageSize: pageSize, logLevel: logLevel))
        }
        guard let target else { return .error("a registry is required: host[:port][/repository], or set CR_BASE (see cr-agent list --help)") }
        var rest = Substring(target), scheme = ""
        if let r = rest.range(of: "://") { scheme = String(rest[..<r.upperBound]); rest = rest[r.upperBound...] }
        let host = rest.prefix { $0 != "/" }
        var repository = rest.dropFirst(host.count).drop { $0 == "/" }
        while repository.hasSuffix("/") { repository = repository.dropLast() }
        do {
            let base = try RegistryTarget.base(scheme + host, plainHTTP: flags.has("plain-http"), what: "the registry")
            return .options(Options(ecrRole: nil, base: base, repository: repository.isEmpty ? nil : String(repository), pageSize: pageSize, logLevel: logLevel))
        } catch {
            return .error(error.description)
        }
    }
}
