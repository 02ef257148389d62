// The registry reads of the API: /systemcheck, /validate-credentials, /list, /list/<repo>,
// /list-paginated/<...>, /list-with-metadata/<repo>, /get-state-identifier, /image-metadata/<repo>/<ref>.
import Core

enum ListingRoutes {
    static func add(to r: inout Router, service: AgentService) {
    }
}
