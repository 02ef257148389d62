// Routes by method and path (exact, or a prefix ending in `*`), each with its own request-body limit.
// A case-insensitive router matches as snyk's accept filters (path-to-regexp) do: any letter case, and
// an exact path with one optional trailing slash (`/list/` is `/list`; `/list/*` needs its `/`).

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

    func matches(path: Substring, caseInsensitive: Bool) -> Bool {
        guard caseInsensitive else {
            if let prefix { return path.hasPrefix(prefix) }
            return path == pattern
        }
        if let prefix { return path.utf8.count >= prefix.utf8.count && path.prefix(prefix.count).lowercased() == prefix.lowercased() }
        let trimmed = path.count > 1 && path.hasSuffix("/") ? path.dropLast() : path
        return trimmed.lowercased() == pattern.lowercased()
    }

    /// What a prefix route's `*` matched in `path` ("" for an exact route): `/list/*` on `/LIST/a/b` is `a/b`.
    public func remainder(of path: Substring) -> Substring {
        guard let prefix, path.count >= prefix.count else { return "" }
        return path.dropFirst(prefix.count)
    }
}

public struct Router: Sendable {
    public private(set) var routes: [Route] = []
    public let caseInsensitive: Bool

    public init(caseInsensitive: Bool = false) { self.caseInsensitive = caseInsensitive }

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
        for r in routes where r.matches(path: path, caseInsensitive: caseInsensitive) {
            if r.method == method || (method == "HEAD" && r.method == "GET") { return .found(r) }
            allowed.append(r.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }
}
