// A parsed HTTP/1.x request head: request line, header fields and the body framing they imply.

public enum BodyFraming: Equatable, Sendable {
    case none
    case contentLength(Int)
    case chunked
}

public struct HTTPRequestHead: Sendable {
    public var method: String
    /// The request-target exactly as sent (origin-form, or absolute-form for proxies).
    public var target: String { didSet { split() } }
    /// The path part of the target (before `?`).
    public private(set) var path: Substring = ""
    /// The query string (after `?`), if any.
    public private(set) var query: Substring?
    public var versionMinor: Int
    public var headers: HTTPHeaders
    public var framing: BodyFraming
    public var keepAlive: Bool
    public var expectsContinue: Bool

    public init(method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(),
                framing: BodyFraming = .none, keepAlive: Bool = true, expectsContinue: Bool = false) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
        self.framing = framing
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        split()
    }

    private mutating func split() {
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = target[..<q]
            query = target[target.index(after: q)...]
        } else {
            path = Substring(target)
            query = nil
        }
    }
}
