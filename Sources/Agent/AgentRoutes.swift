// The agent's health and metrics endpoints (the rest of the API: Service/).
import Core

enum AgentRoutes {
    /// `/healthcheck` answers 200 whenever the process runs, with or without an `authorization` header
    /// (snyk's helm chart points the broker client's validation at it).
    static func add(to r: inout Router) {
        let health = Array(JSON.object([("ok", .bool(true)), ("version", .string(ProductVersion.current))]).serialized.utf8)
        let jsonType: HTTPHeaders = ["Content-Type": "application/json"]
        r.add("GET", "/healthcheck") { ex in ex.respond(status: 200, headers: jsonType, body: health) }
        r.add("GET", "/metrics") { ex in
            let text = ex.metrics?.render() ?? ""
            var h = HTTPHeaders()
            h.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            ex.respond(status: 200, headers: h, body: Array(text.utf8))
        }
    }
}
