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

    func attach(_ server: HTTPServer) { self.server = server }

    /// A registry session on the reactor serving `exchange`, for the request's registry work.
    func session(for exchange: HTTPExchange, logger: Logger? = nil) -> RegistrySession? {
        guard let reactor = exchange.reactor else { return nil }
        return RegistrySession(reactor: reactor, environment: environment, logger: logger ?? self.logger)
    }
}
