// Scans as operations: POST /scan and /discover (202 and an operation id), GET and DELETE
// /operations/<id>, and /ready.
import Core

enum OperationRoutes {
    static func add(to r: inout Router, service: AgentService) {
    }
}
