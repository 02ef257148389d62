// One accepted POST /scan or /discover: its images and where each stands, as GET /operations/<id> shows
// it. Lives on the service's main reactor (the scheduler's thread).
import Core

final class Operation {
    enum State: String { case queued, running, done }

    struct Image {
        enum State: String { case queued, running, scanned, failed }
        /// As the request named it.
        let name: String
        /// The name within the registry (the worker's `image`).
        let reference: String
        var state = State.queued
        var code: String?
        var message: String?
        var packages: Int?
        var durationMilliseconds: Int?
        /// When its worker started (monotonic ns); nil for an image that never ran.
        var startedAt: UInt64?
    }

    let id: String
    let kind: OperationKind
    let target: CallbackTarget
    let requestId: String?
    /// The request's raw CR_CREDENTIALS (nil: the agent's own settings); goes only to its workers' stdin,
    /// and is dropped when the operation ends (ended operations are kept for GET without it).
    var credentials: String?
    let registryBase: String?
    let platform: Platform
    let createdAt = Reactor.now()
    var state = State.queued
    var images: [Image]
    /// The image a worker scans now, and the worker.
    var current: (index: Int, worker: ScanWorker)?
    var endedBy: String?

    init(id: String, kind: OperationKind, target: CallbackTarget, requestId: String?, credentials: String?,
         registryBase: String?, platform: Platform, images: [(name: String, reference: String)]) {
        self.id = id
        self.kind = kind
        self.target = target
        self.requestId = requestId
        self.credentials = credentials
        self.registryBase = registryBase
        self.platform = platform
        self.images = images.map { Image(name: $0.name, reference: $0.reference) }
    }

    var nextQueuedImage: Int? { images.firstIndex { $0.state == .queued } }
    var remainingImages: Int { images.count(where: { $0.state == .queued || $0.state == .running }) }

    var summary: OperationSummary {
        var s = OperationSummary()
        s.images = images.count
        for image in images {
            switch image.state {
            case .scanned: s.scanned += 1
            case .failed:
                s.failed += 1
                if s.errors.count < 100 { s.errors.append((image.name, image.code ?? "", image.message ?? "")) }
            case .queued, .running: break
            }
        }
        s.endedBy = endedBy
        return s
    }

    /// The body of GET /operations/<id>.
    var json: JSON {
        func opt(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        let s = summary
        return .object([
            ("operationId", .string(id)), ("kind", .string(kind.rawValue)), ("state", .string(state.rawValue)),
            ("endedBy", opt(endedBy)), ("requestId", opt(requestId)),
            ("counts", .object([("images", .int(s.images)), ("scanned", .int(s.scanned)), ("failed", .int(s.failed)),
                                ("remaining", .int(remainingImages))])),
            ("images", .array(images.map { i in
                var pairs: [(String, JSON)] = [("image", .string(i.name)), ("state", .string(i.state.rawValue))]
                if let c = i.code { pairs.append(("code", .string(c))) }
                if let m = i.message { pairs.append(("message", .string(m))) }
                if let p = i.packages { pairs.append(("packages", .int(p))) }
                if let d = i.durationMilliseconds { pairs.append(("durationMs", .int(d))) }
                return .object(pairs)
            })),
        ])
    }
}
