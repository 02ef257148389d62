// The agent's HTTP service: its settings and the routes of each endpoint family. Health and metrics live
// in AgentRoutes; the registry reads (list, tags, metadata, systemcheck) in ListingRoutes; scans and
// their operations in OperationRoutes. Paths match case-insensitively with an optional trailing slash,
// as the broker's accept filter does.
import Core

// @unchecked: immutable after init except `server`, which is set once before the server runs.
final class AgentService: @unchecked Sendable {
    let settings: AgentSettings
    let environment: Environment
    let logger: Logger
    /// Set by `serve` before the first request; handlers may hop to `server.mainReactor`.
    private(set) var server: HTTPServer?
    /// The operations (POST /scan, /discover), on the server's main reactor; set by `attach`.
    private(set) var scheduler: OperationScheduler?
    let operationMetrics = OperationMetrics()
    let callbackMetrics = CallbackMetrics()

    init(settings: AgentSettings, environment: Environment, logger: Logger) {
        self.settings = settings
        self.environment = environment
        self.logger = logger
    }

    func router() -> Router {
        var r = Router(caseInsensitive: true)
        AgentRoutes.add(to: &r)
        ListingRoutes.add(to: &r, service: self)
        OperationRoutes.add(to: &r, service: self)
        return r
    }

    /// Called once before the server runs: the scheduler takes the main reactor, /metrics gains the
    /// operations' section, and SIGTERM first winds the operations down (every image reported), then
    /// drains the HTTP server.
    func attach(_ server: HTTPServer) {
        self.server = server
        let scheduler = OperationScheduler(reactor: server.mainReactor, settings: settings.operations, environment: environment,
                                           logger: logger, metrics: operationMetrics, callbackMetrics: callbackMetrics)
        self.scheduler = scheduler
        let (metrics, callbacks) = (operationMetrics, callbackMetrics)
        server.metrics.addSection { metrics.render() + callbacks.render() + RegistryMetrics.render() }
        server.onTerminationSignal = { [logger, settings] sig in
            logger.info("signal received; draining", [("signal", .int(Int(sig)))])
            scheduler.beginDrain(timeoutMilliseconds: settings.operations.shutdownTimeoutMilliseconds) { server.beginDrain() }
        }
    }

    /// A registry session on the reactor serving `exchange`, for the request's registry work.
    func session(for exchange: HTTPExchange, logger: Logger? = nil) -> RegistrySession? {
        guard let reactor = exchange.reactor else { return nil }
        return RegistrySession(reactor: reactor, environment: environment, logger: logger ?? self.logger)
    }
}
