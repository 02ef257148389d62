// Routes by method and path (exact, or a prefix ending in `*`), each with its own request-body limit.

public typealias HTTPHandler = @Sendable (HTTPExchange) -> Void

public struct Route: Sendable {
    public let method: String
    /// An exact path, or a prefix followed by `*` (`/list/*`).
    public let pattern: String
    /// The name used for metrics (the pattern, so that label values stay bounded).
    public var name: String { pattern }
    public let maxBodyBytes: Int
    public let handler: HTTPHandler
    private let prefix: Substring?

    init(method: String, pattern: String, maxBodyBytes: Int, handler: @escaping HTTPHandler) {
        self.method = method
        self.pattern = pattern
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
        self.prefix = pattern.hasSuffix("*") ? pattern.dropLast() : nil
    }

    func matches(path: Substring) -> Bool {
        if let prefix { return path.hasPrefix(prefix) }
        return path == pattern
    }
}

public struct Router: Sendable {
    public private(set) var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, maxBodyBytes: Int = 0, _ handler: @escaping HTTPHandler) {
        routes.append(Route(method: method, pattern: pattern, maxBodyBytes: maxBodyBytes, handler: handler))
    }

    public enum Match {
        case found(Route)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    /// HEAD is served by the GET route of the same path.
    public func match(method: String, path: Substring) -> Match {
        var allowed: [String] = []
        for r in routes where r.matches(path: path) {
            if r.method == method || (method == "HEAD" && r.method == "GET") { return .found(r) }
            allowed.append(r.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }
}
