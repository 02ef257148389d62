// A `request` event as snyk's server sends it down the tunnel ({url, method, body, headers, streamingID,
// requestId}), decoded from its emitter arguments, and the body forms EJSON and Node put on the wire.
import Core

public struct IncomingTunnelRequest: Sendable, Equatable {
    public var url: String
    public var method: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set when the server waits for the answer on `POST /response-data/<token>/<streamingID>`.
    public var streamingID: String?
    public var requestId: String?

    public init(url: String, method: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                streamingID: String? = nil, requestId: String? = nil) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.streamingID = streamingID
        self.requestId = requestId
    }

    public static func == (a: IncomingTunnelRequest, b: IncomingTunnelRequest) -> Bool {
        a.url == b.url && a.method == b.method && a.body == b.body && a.streamingID == b.streamingID
            && a.requestId == b.requestId && a.headers.fields.map { "\($0.name):\($0.value)" } == b.headers.fields.map { "\($0.name):\($0.value)" }
    }

    /// Reads the first emitter argument; nil with why when it is not a request object.
    public static func decode(_ value: JSON) -> Result<IncomingTunnelRequest, IncomingTunnelRequestError> {
        guard case .object = value else { return .failure(IncomingTunnelRequestError("the request event's payload is not an object")) }
        guard let url = value["url"]?.string, url.hasPrefix("/") else {
            return .failure(IncomingTunnelRequestError("the request event has no url starting with /"))
        }
        let method = (value["method"]?.string ?? "GET").uppercased()
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            return .failure(IncomingTunnelRequestError("the request event's method is not a token"))
        }
        var headers = HTTPHeaders()
        if let pairs = value["headers"]?.object {
            for (name, v) in pairs {
                switch v {
                case .string(let s): headers.add(name, s)
                case .int(let n): headers.add(name, String(n))
                case .double(let d): headers.add(name, String(d))
                case .bool(let b): headers.add(name, b ? "true" : "false")
                case .array(let items): for item in items { if let s = item.string { headers.add(name, s) } }
                default: continue
                }
            }
        }
        let body = decodeBody(value["body"])
        let streamingID = value["streamingID"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let requestId = value["requestId"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        return .success(IncomingTunnelRequest(url: url, method: method, headers: headers, body: body,
                                      streamingID: streamingID, requestId: requestId))
    }

    /// The body as snyk's server sends it: a string, EJSON binary (`{"$binary": base64}`), a Node Buffer
    /// serialised by JSON (`{"type":"Buffer","data":[...]}`), a parsed JSON value (sent as JSON), or nothing.
    static func decodeBody(_ value: JSON?) -> [UInt8] {
        guard let value else { return [] }
        switch value {
        case .null: return []
        case .string(let s): return Array(s.utf8)
        case .object(let pairs):
            if pairs.count == 1, pairs[0].0 == "$binary", let b64 = pairs[0].1.string, let bytes = Base64.decode(b64) { return bytes }
            if value["type"]?.string == "Buffer", let data = value["data"]?.array {
                return data.compactMap { $0.int.flatMap { (0...255).contains($0) ? UInt8($0) : nil } }
            }
            // An empty object is what express leaves for a request without a body.
            if pairs.isEmpty { return [] }
            return Array(value.serialized.utf8)
        default: return Array(value.serialized.utf8)
        }
    }
}

public struct IncomingTunnelRequestError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
