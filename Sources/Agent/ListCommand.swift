// `cr-agent list [registry | repository]`: the repositories of a registry, or the tags of one
// repository, one per line as the pages arrive (the distribution API's _catalog and tags/list, following
// Link; each registry type lists as it can: ECR through its API, GitHub's and GitLab's registries not at all). A check that the registry, the
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
    account and region of the login; the target is then only the repository, if any. With
    CR_TYPE=docker-hub the repositories of a namespace come from the hub API (DOCKER_HUB_API_URL,
    DOCKER_HUB_NAMESPACE, default the user name) and the target is only a repository; harbor-cr lists
    through Harbor's project API when its catalog needs an admin. github-cr and gitlab-cr registries serve
    no catalog: name a repository to list its tags.

    Options:
      --page-size N   names asked for per page, 1...1000 (default 100)
      --plain-http    use http:// for a registry given without a scheme
      -h, --help      show this help

    Environment: as for cr-agent fetch (CR_BASE, CR_USERNAME/CR_PASSWORD or CR_TOKEN, CR_CREDENTIALS,
    DOCKER_CONFIG, CA_CERT, ...), and for ECR: CR_TYPE, CR_REGION, CR_ROLE_ARN, CR_EXTERNAL_ID, AWS_*.

    Exit status: 0 listed (possibly nothing); 1 the listing failed (one line on stderr naming the cause);
    2 usage or configuration error; 130 interrupted (SIGINT), 143 terminated (SIGTERM).

    """

    struct Options: CommandOptions {
        /// The credential chain's access; its type says how the registry is listed.
        var access: RegistryAccess
        /// The registry; nil when the type lists through its vendor's API (ecr), which needs none.
        var base: RegistryBase?
        var repository: String?
        var pageSize: Int
        var logLevel: LogLevel
    }

    static func run(arguments: [String], environment env: Environment) -> Int32 {
        let options: Options, logger: Logger, run: CommandRun
        switch CommandRun.begin(command: "list", arguments: arguments, environment: env, usage: usage, parse: parse, work: "listing", output: "listing") {
        case .success(let s): options = s.options; logger = s.logger; run = s.run
        case .failure(let exit): return exit.code
        }
        defer { run.settle() }
        let session = RegistrySession(reactor: run.reactor, environment: env, logger: logger)
        let listing: RegistryListing
        switch run.perform({ (done: @escaping (Result<RegistryListing, RegistryAccessFailure>) -> Void) in
            options.access.listing(base: options.base, pageSize: options.pageSize, session: session, done: done)
            return {}
        }) {
        case .finished(.success(let l))?: listing = l
        case .finished(.failure(let f))?: return run.failed(f)
        case .stopped(let why)?: return run.stopped(why, before: "listing")
        case nil:
            Console.err("cr-agent list: the event loop stopped before the listing started\n")
            return 1
        }
        let pages = options.repository.map { listing.tags($0) } ?? listing.repositories
        logger.debug("listing", [("registry", .string(options.base?.description ?? options.access.type?.name ?? "")),
                                 ("repository", options.repository.map(JSON.string) ?? .null), ("pageSize", .int(options.pageSize))])
        let step = run.perform { (done: @escaping (Result<Int, RegistryError>) -> Void) in
            pages({ names in Console.out(names.map { $0 + "\n" }.joined()) }, done)
            return {}
        }
        return run.conclude(step, work: "listing") { count in logger.info("listed", [("names", .int(count))]) }
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
        let logLevel: LogLevel, access: RegistryAccess
        switch env.registryCommandSettings() {
        case .success(let s): logLevel = s.logLevel; access = s.access
        case .failure(let e): return .error(e.description)
        }
        var vendorAPI: String?
        if case .vendorAPI(let api) = access.type?.repositoryListing { vendorAPI = api }
        let target = flags.positional.first
        if vendorAPI != nil || env["CR_BASE"] != nil {
            if let t = target, t.contains("://") { return .error("give only a repository here, not \"\(t)\" (the registry comes from \(vendorAPI ?? "CR_BASE"))") }
            var base: RegistryBase?
            if vendorAPI == nil, let crBase = env["CR_BASE"] {
                do { base = try RegistryTarget.base(crBase, plainHTTP: flags.has("plain-http"), what: "CR_BASE") } catch { return .error(error.description) }
            }
            return .options(Options(access: access, base: base, repository: target, pageSize: pageSize, logLevel: logLevel))
        }
        guard let target else { return .error("a registry is required: host[:port][/repository], or set CR_BASE (see cr-agent list --help)") }
        var rest = Substring(target), scheme = ""
        if let r = rest.range(of: "://") { scheme = String(rest[..<r.upperBound]); rest = rest[r.upperBound...] }
        let host = rest.prefix { $0 != "/" }
        var repository = rest.dropFirst(host.count).drop { $0 == "/" }
        while repository.hasSuffix("/") { repository = repository.dropLast() }
        do {
            let base = try RegistryTarget.base(scheme + host, plainHTTP: flags.has("plain-http"), what: "the registry")
            return .options(Options(access: access, base: base, repository: repository.isEmpty ? nil : String(repository), pageSize: pageSize, logLevel: logLevel))
        } catch {
            return .error(error.description)
        }
    }
}
