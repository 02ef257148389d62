// Scans as operations: POST /scan and /discover (202 and an operation id), GET and DELETE
// /operations/<id>, and /ready. The scheduler lives on the server's main reactor: each handler reads and
// checks its request on its own reactor, hops there for the decision, and hops back to answer.
import Core

enum OperationRoutes {
    static func add(to r: inout Router, service: AgentService) {
        r.add("POST", "/scan", maxBodyBytes: ScanRequest.maxBodyBytes) { ex in accept(ex, kind: .scan, service: service) }
        r.add("POST", "/discover", maxBodyBytes: ScanRequest.maxBodyBytes) { ex in accept(ex, kind: .discover, service: service) }
        r.add("GET", "/operations/*") { ex in
            let id = operationId(ex)
            onScheduler(ex, service) { s in s.status(id).map { (200, $0) } ?? (404, notFound(id)) }
        }
        r.add("DELETE", "/operations/*") { ex in
            let id = operationId(ex)
            onScheduler(ex, service) { s in s.cancel(id).map { (200, $0) } ?? (404, notFound(id)) }
        }
        r.add("GET", "/ready") { ex in
            onScheduler(ex, service) { s in
                if s.draining { return (503, .object([("ready", .bool(false)), ("reason", .string("draining: the agent is shutting down"))])) }
                if s.queueFull { return (503, .object([("ready", .bool(false)), ("reason", .string("the operation queue is full (MAX_QUEUED_OPERATIONS)"))])) }
                return (200, .object([("ready", .bool(true))]))
            }
        }
    }

    /// An exchange carried to the scheduler's reactor and back. @unchecked: it is only touched again on
    /// its own reactor, inside the closure sent back there with `execute`.
    struct Carried: @unchecked Sendable { let exchange: HTTPExchange }

    static func operationId(_ ex: HTTPExchange) -> String {
        var id = String(ex.request.path.dropFirst("/operations/".count))
        if id.hasSuffix("/") { id.removeLast() }
        return id
    }

    static func notFound(_ id: String) -> JSON {
        .object([("code", .string("NOT_FOUND")), ("message", .string("no operation \(UntrustedText.truncated(id, maxBytes: 80)) (the last \(OperationScheduler.maxEndedOperations) ended operations, up to \(OperationScheduler.maxEndedImages) images, are kept)"))])
    }

    /// Runs `decide` on the scheduler's reactor and answers its status and JSON on the exchange's own.
    static func onScheduler(_ ex: HTTPExchange, _ service: AgentService, _ decide: @escaping @Sendable (OperationScheduler) -> (Int, JSON)) {
        guard let scheduler = service.scheduler, let home = ex.reactor else {
            return ex.respond(ServiceError(status: 503, code: "NOT_READY", message: "the agent is starting"))
        }
        let carried = Carried(exchange: ex)
        scheduler.reactor.execute {
            let (status, body) = decide(scheduler)
            home.execute { carried.exchange.respond(status: status, json: body) }
        }
    }

    static func accept(_ ex: HTTPExchange, kind: OperationKind, service: AgentService) {
        ex.collectBody(limit: ScanRequest.maxBodyBytes) { result in
            let body: [UInt8]
            switch result {
            case .failure(let e): return ex.respond(ServiceError(status: e.status, code: e.status == 413 ? "BODY_TOO_LARGE" : "BAD_REQUEST", message: e.message))
            case .success(let b): body = b
            }
            let request: ScanRequest
            switch ScanRequest.parse(body) {
            case .failure(let why): return ex.respond(.badRequest(why.message))
            case .success(let r): request = r
            }
            let access: RegistryAccess
            switch RequestAccess.access(for: ex.request, service: service) {
            case .failure(let e): return ex.respond(e)
            case .success(let a): access = a
            }
            let target: CallbackTarget
            switch CallbackSender.target(for: ex.request, bodyCallbackURL: request.callbackURL, environment: service.environment) {
            case .failure(let e): return ex.respond(e)
            case .success(let t): target = t
            }
            let base = registryBase(access)
            let images: [(name: String, reference: String)]
            switch references(request.images, base: base, access: access) {
            case .failure(let why): return ex.respond(.badRequest(why.message))
            case .success(let refs): images = Array(zip(request.images, refs))
            }
            let credentials = RequestAccess.rawCredentials(ex.request)
            let requestId = ex.request.headers["snyk-request-id"].map { UntrustedText.truncated($0, maxBytes: 200) }
            let platform = request.platform ?? Platform()
            guard let scheduler = service.scheduler, let home = ex.reactor else {
                return ex.respond(ServiceError(status: 503, code: "NOT_READY", message: "the agent is starting"))
            }
            let carried = Carried(exchange: ex)
            scheduler.reactor.execute {
                let admission = scheduler.submit(kind: kind, target: target, requestId: requestId, credentials: credentials,
                                                 registryBase: base, platform: platform, images: images)
                home.execute {
                    let ex = carried.exchange
                    switch admission {
                    case .accepted(let id, let duplicate):
                        var fields: [(String, JSON)] = [("operationId", .string(id))]
                        if duplicate { fields.append(("duplicate", .bool(true))) }
                        ex.respond(status: 202, json: .object(fields))
                    case .queueFull(let seconds):
                        ex.respond(ServiceError(status: 429, code: "TOO_MANY_OPERATIONS",
                                                message: "\(scheduler.settings.maxQueued) operations are waiting (MAX_QUEUED_OPERATIONS); retry in about \(seconds) s"),
                                   headers: ["Retry-After": String(seconds)])
                    case .draining:
                        ex.respond(ServiceError(status: 503, code: "SHUTTING_DOWN", message: "the agent is shutting down and takes no new scans"),
                                   headers: ["Retry-After": "5"])
                    }
                }
            }
        }
    }

    /// The registry the request's images live in: the credentials' registryBase, else CR_BASE; nil: the
    /// type's own registry (docker-hub, gcr, ...).
    static func registryBase(_ access: RegistryAccess) -> String? {
        if case .broker(_, let written) = access.source, let b = written?.trimmed(" \t"), !b.isEmpty, b != "undefined", b != "null" {
            return b
        }
        return access.configuredBase
    }

    /// Each image as a name within that registry, checked as the worker will build it.
    static func references(_ images: [String], base: String?, access: RegistryAccess) -> Result<[String], RequestProblem> {
        var authority: String?
        if let base {
            do { authority = try RegistryBase(parsing: base.contains("://") ? base : "https://" + base).authority } catch {
                return .failure("the registry base \(UntrustedText.truncated(base, maxBytes: 200)) is not usable: \(error.message)")
            }
        } else {
            authority = access.type?.defaultRegistry
        }
        var names = images
        if let authority {
            switch ScanRequest.references(images, registry: authority) {
            case .failure(let why): return .failure(why)
            case .success(let n): names = n
            }
        }
        for (i, name) in names.enumerated() {
            do { _ = try RegistryTarget(reference: name, crBase: base, plainHTTP: false, defaultType: access.type) } catch {
                return .failure("images[\(i)]: \(error.description)")
            }
        }
        return .success(names)
    }
}
