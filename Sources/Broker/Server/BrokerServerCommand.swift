// `broker server`: reads the settings, binds PORT, serves until SIGTERM/SIGINT has drained it.
import Core

public enum BrokerServerCommand {
    /// Returns the process exit status: 0 after a drain, 2 for a setting at fault, 1 when the port
    /// cannot be bound.
    public static func run(environment env: Environment) -> Int32 {
        Redaction.registerSecrets(fromEnvironment: env.values)
        let settings: BrokerServerSettings
        do { settings = try BrokerServerSettings.from(env) } catch {
            Console.err("broker server: \(error.description)\n")
            return 2
        }
        let logger = Logger(level: settings.logLevel, fd: 1, component: "broker-server")
        var filter: AcceptFilter?
        if let path = settings.acceptFilterPath {
            // Origins and auth come from the whole environment (the operator's file); what a client's
            // request asks to have substituted, only from the variables the operator lists.
            switch AcceptFilter.load(acceptPath: path, environment: env.values, requestVariables: settings.varSubValues(from: env)) {
            case .success(let f): filter = f
            case .failure(let e):
                Console.err("broker server: ACCEPT: \(e.description)\n")
                return 2
            }
        }
        let broker: BrokerServer
        do { broker = try BrokerServer(settings: settings, logger: logger, filter: filter) } catch {
            Console.err("broker server: \(error.description)\n")
            return 2
        }
        let server: HTTPServer
        do {
            server = try HTTPServer(config: settings.server, router: broker.router(upgrade: broker.webSocketUpgrade()), logger: logger)
        } catch {
            Console.err("broker server: cannot listen on port \(settings.server.port): \(error)\n")
            return 1
        }
        broker.attach(server)
        logger.info("broker server listening", [("port", .int(server.port)), ("tls", .bool(settings.server.tls != nil)),
                                                ("acceptedClients", .int(broker.tokens.tokens.count)),
                                                ("upstream", .string(settings.upstreamURL ?? "")), ("version", .string(ProductVersion.current))])
        do { try broker.run() } catch {
            logger.error("server stopped", [("error", .string("\(error)"))])
            return 1
        }
        logger.info("broker server stopped")
        return 0
    }
}
