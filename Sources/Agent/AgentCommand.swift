// Command-line handling for cr-agent: flags, settings, exit codes.
import Core
import Glibc

public enum AgentCommand {
    static let usage = """
    cr-agent \(ProductVersion.current): the container registry agent

    Usage:
      cr-agent [serve]       run the HTTP service (port SNYK_PORT, default 17500)
      cr-agent scan <ref>    scan an image for packages and print a report (see cr-agent scan --help)
      cr-agent fetch <ref>   pull an image, verify every layer, keep nothing (see cr-agent fetch --help)
      cr-agent list [<reg>]  list a registry's repositories, or a repository's tags (see cr-agent list --help)
      cr-agent --help        show this help
      cr-agent --version     print the version

    Settings come from the environment; see docs/configuration.md.

    """

    public static func run(arguments: [String], environment env: Environment) -> Int32 {
        switch arguments.first {
        case "--help", "-h", "help":
            Console.out(usage)
            return 0
        case "--version", "-V", "version":
            Console.out("cr-agent \(ProductVersion.current)\n")
            return 0
        case nil, "serve":
            if arguments.count > 1 { return usageError("unexpected argument \(arguments[1])") }
            return serve(env)
        case "scan":
            return ScanCommand.run(arguments: Array(arguments.dropFirst()), environment: env)
        case "fetch":
            return FetchCommand.run(arguments: Array(arguments.dropFirst()), environment: env)
        case "list":
            return ListCommand.run(arguments: Array(arguments.dropFirst()), environment: env)
        case "scan-worker":
            // Not in the usage: the service starts it, one image per process, its job on stdin.
            return ScanWorkerCommand.run(environment: env)
        default:
            return usageError("unknown command or option \(arguments[0])")
        }
    }

    static func usageError(_ message: String) -> Int32 {
        Console.err("cr-agent: \(message) (see cr-agent --help)\n")
        return 2
    }

    static func serve(_ env: Environment) -> Int32 {
        Redaction.registerSecrets(fromEnvironment: env.values)
        let settings: AgentSettings
        do {
            settings = try AgentSettings(env)
        } catch {
            Console.err("cr-agent: \(error)\n")
            return 2
        }
        let logger = Logger(level: settings.logLevel, fd: 1, component: "cr-agent")
        do {
            let service = AgentService(settings: settings, environment: env, logger: logger)
            let server = try HTTPServer(config: settings.server, router: service.router(), logger: logger)
            service.attach(server)
            logger.info("listening", [("port", .int(server.port)), ("threads", .int(settings.server.threads)),
                                      ("tls", .bool(settings.server.tls != nil)), ("version", .string(ProductVersion.current))])
            logger.debug("settings", settings.loggedEnvironment(env))
            try server.run()
            logger.info("stopped")
            return 0
        } catch {
            Console.err("cr-agent: cannot serve on port \(settings.server.port): \(error)\n")
            return 1
        }
    }
}
