// One registry read of the API, on the reactor serving it: the request's access and registry, a registry
// client for them (RegistryTarget's, so trust, proxies and REGISTRY_ALLOWED_HOSTS are the commands'), the
// request's deadline, and its one answer. Registry errors become HTTP statuses keeping the registry's code.
import Core

final class ListingRequest {
    let exchange: HTTPExchange
    let service: AgentService
    let access: RegistryAccess
    /// The registry the credentials are for; nil only for a type that lists through its vendor's API
    /// and was given no registry (ecr without registryBase / CR_BASE).
    let base: RegistryBase?
    let session: RegistrySession
    var settings: ListingSettings { service.settings.listing }
    /// Set once the answer is sent, the deadline passed or the client left: later results are dropped
    /// and no further registry request is started.
    private(set) var answered = false
    /// Answers a failure in the route's own shape (/systemcheck's `ok: false`); else the JSON error.
    var onFailure: ((ServiceError) -> Void)?
    private var deadline: TimerID?
    /// The request's one registry client (its token cache serves every page and manifest of the
    /// request). Kept here because its calls hold it unowned: the request outlives them, since each
    /// call's completion holds the request.
    private var registryClient: RegistryClient?

    private init(exchange: HTTPExchange, service: AgentService, access: RegistryAccess, base: RegistryBase?, session: RegistrySession) {
        self.exchange = exchange
        self.service = service
        self.access = access
        self.base = base
        self.session = session
    }

    /// Reads the request's credentials and registry and arms the deadline, then runs `body`; an unusable
    /// request is answered here (401/400) and `body` never runs.
    static func start(_ ex: HTTPExchange, service: AgentService, _ body: (ListingRequest) -> Void) {
        guard let session = service.session(for: ex) else { return }
        let access: RegistryAccess
        switch RequestAccess.access(for: ex.request, service: service) {
        case .failure(let e): return ex.respond(e)
        case .success(let a): access = a
        }
        let base: RegistryBase?
        switch registryBase(of: access, environment: service.environment) {
        case .failure(let e): return ex.respond(e)
        case .success(let b): base = b
        }
        let request = ListingRequest(exchange: ex, service: service, access: access, base: base, session: session)
        var user: JSON = .null
        if case .broker(let c, _) = access.source { user = c.username.map(JSON.string) ?? .null }
        service.logger.debug("registry read", [("route", .string(ex.route)), ("registry", .string(request.registryName)),
                                               ("type", access.type.map { .string($0.name) } ?? .null), ("user", user)])
        let ms = service.settings.listing.deadlineMs
        request.deadline = session.reactor.schedule(afterMilliseconds: ms) { [weak request] in
            request?.deadline = nil
            request?.fail(ServiceError(status: 504, code: "REGISTRY_TIMEOUT",
                                       message: "the registry work of this request did not finish within \(ms) ms (LISTING_TIMEOUT_MS)"))
        }
        ex.onAbort = { [weak request] in request?.finish() }
        body(request)
    }

    /// The request's registry: the credentials' `registryBase`, else their type's own registry, else the
    /// agent's CR_BASE. nil when none is known and the type lists through its vendor's API.
    static func registryBase(of access: RegistryAccess, environment env: Environment) -> Result<RegistryBase?, ServiceError> {
        var written: String?
        if case .broker(_, let b) = access.source, let b = b?.trimmed(" \t"), !b.isEmpty, b != "undefined", b != "null" { written = b }
        if written == nil, let host = access.type?.defaultRegistry { written = "https://" + host }
        if written == nil { written = env["CR_BASE"] }
        guard let written else {
            if case .vendorAPI? = access.type?.repositoryListing { return .success(nil) }
            return .failure(.badRequest("no registry: the credentials carry no registryBase, type \(access.type?.name ?? "(none)") has no registry of its own and the agent has no CR_BASE"))
        }
        do {
            return .success(try RegistryBase(parsing: written))
        } catch {
            return .failure(.badRequest("registryBase: \(Redaction.text(error.message))"))
        }
    }

    /// The registry client for the request's registry with the type's credentials for it (ECR's login
    /// exchanged as the type does), made on first use. `adjust` changes the options of the one made.
    func client(adjust: @escaping (inout RegistryOptions) -> Void = { _ in }, _ done: @escaping (RegistryClient) -> Void) {
        if let made = registryClient { return done(made) }
        guard let base else {
            return fail(.badRequest("type \(access.type?.name ?? "(none)") was given no registry: set registryBase in the credentials or CR_BASE on the agent"))
        }
        access.registryCredentials(for: base, session: session) { [self] result in
            guard !answered else { return }
            switch result {
            case .failure(let f): fail(f)
            case .success(let credentials):
                do throws(RegistryError) {
                    let made = try RegistryTarget.client(for: base, on: session.reactor, environment: session.environment,
                                                         credentials: credentials, logger: session.logger, adjust: adjust)
                    registryClient = made
                    done(made)
                } catch {
                    fail(ServiceError.registry(error))
                }
            }
        }
    }

    /// The registry the answer names (never with credentials: a base holds none).
    var registryName: String { base?.description ?? access.type?.name ?? "" }

    func respond(_ value: JSON, status: Int = 200, headers: HTTPHeaders = HTTPHeaders()) {
        guard !answered else { return }
        finish()
        exchange.respond(status: status, json: value, headers: headers)
    }

    func fail(_ error: ServiceError) {
        guard !answered else { return }
        service.logger.debug("registry read failed", [("route", .string(exchange.route)), ("status", .int(error.status)),
                                                      ("code", .string(error.code)), ("message", .string(error.message))])
        if let answer = onFailure {
            onFailure = nil
            return answer(error)
        }
        finish()
        exchange.respond(error)
    }

    func fail(_ error: RegistryError) { fail(ServiceError.registry(error)) }

    func fail(_ failure: RegistryAccessFailure) {
        switch failure {
        case .configuration(let m): fail(.badRequest(Redaction.text(m)))
        case .registry(let e): fail(e)
        }
    }

    private func finish() {
        answered = true
        if let d = deadline { session.reactor.cancel(d); deadline = nil }
        exchange.onAbort = nil
    }
}

extension ServiceError {
    /// The HTTP answer for a registry's failure, keeping its code: 401/403 as the registry said them,
    /// 404 for what it does not have, 502 when it failed, could not be reached or may not be, 504 when it stalled,
    /// 429 when it asked us to slow down, 400 for what the request itself got wrong.
    static func registry(_ e: RegistryError) -> ServiceError {
        let status: Int, fallbackCode: String
        switch e.kind {
        case .authentication:
            (status, fallbackCode) = (e.status == 403 ? 403 : 401, "UNAUTHORIZED")
        case .permission:
            (status, fallbackCode) = (e.status == 401 ? 401 : 403, "DENIED")
        case .notFound: (status, fallbackCode) = (404, "NOT_FOUND")
        case .invalidInput: (status, fallbackCode) = (400, "BAD_REQUEST")
        case .unsupported: (status, fallbackCode) = (422, "UNSUPPORTED")
        // The agent will not go there (a refused address, outside REGISTRY_ALLOWED_HOSTS, a next-page link
        // to another origin): no answer can come from that registry.
        case .refused: (status, fallbackCode) = (502, "REGISTRY_REFUSED")
        case .network:
            let stalled = e.message.contains("stalled") || e.message.lowercased().contains("timed out")
            (status, fallbackCode) = stalled ? (504, "REGISTRY_TIMEOUT") : (502, "REGISTRY_UNREACHABLE")
        case .tooLarge, .integrity, .registry:
            (status, fallbackCode) = e.status == 429 ? (429, "TOOMANYREQUESTS") : (502, "REGISTRY_ERROR")
        }
        return ServiceError(status: status, code: e.code ?? fallbackCode, message: e.description)
    }
}
