// The agent's HTTP API.
import Core

enum AgentRoutes {
    static func router() -> Router {
        var r = Router()
        let health = Array(JSON.object([("ok", .bool(true)), ("version", .string(ProductVersion.current))]).serialized.utf8)
        let jsonType: HTTPHeaders = ["Content-Type": "application/json"]
        r.add("GET", "/healthcheck") { ex in ex.respond(status: 200, headers: jsonType, body: health) }
        r.add("GET", "/metrics") { ex in
            let text = ex.metrics?.render() ?? ""
            var h = HTTPHeaders()
            h.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            ex.respond(status: 200, headers: h, body: Array(text.utf8))
        }
        return r
    }
}
