// A `request` event as the client acts on it: the protocol layer's TunnelRequest (validated) with its
// headers as HTTPHeaders and its body as bytes; and the body forms EJSON and Node put on the wire.
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

    /// Reads the first emitter argument with the protocol layer's checks (a path URL, a token method,
    /// header names that are tokens and values without CR/LF, a streamingID fit for a URL segment);
    /// the failure says why.
    public static func decode(_ value: JSON) -> Result<IncomingTunnelRequest, IncomingTunnelRequestError> {
        let parsed: TunnelRequest
        do { parsed = try TunnelRequest(json: value) } catch { return .failure(IncomingTunnelRequestError(error.description)) }
        var headers = HTTPHeaders()
        for (name, v) in parsed.headers { headers.add(name, v) }
        var body = parsed.body.bytes
        // An empty object is what express leaves for a request without a body.
        if case .json(.object(let pairs)) = parsed.body, pairs.isEmpty { body = [] }
        return .success(IncomingTunnelRequest(url: parsed.url, method: parsed.method.uppercased(), headers: headers, body: body,
                                              streamingID: parsed.streamingID.isEmpty ? nil : parsed.streamingID,
                                              requestId: parsed.requestId.flatMap { $0.isEmpty ? nil : $0 }))
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
