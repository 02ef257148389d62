// The broker's event vocabulary on the tunnel, as snyk/broker emits it: the two `identify` events and
// the `request` event, to and from EJSON values, with every field from a peer checked.
import Core

/// Event names snyk/broker's classic client and server exchange.
public enum BrokerEvent {
    public static let identify = "identify"
    public static let request = "request"
    /// Server to client: `{level, message}` (an outdated client hears why it is dropped).
    public static let notification = "notification"
}

/// The server's `identify`, sent as soon as a client connects (server/socketHandlers/connectionHandler.ts).
public struct ServerIdentify: Equatable, Sendable {
    public var capabilities: [String]
    public init(capabilities: [String] = ["receive-post-streams"]) { self.capabilities = capabilities }

    public var json: JSON { .object([("capabilities", .array(capabilities.map(JSON.string)))]) }

    public init(json: JSON) throws(BrokerProtocolError) {
        guard case .object = json else { throw .emitter("server identify is not an object") }
        self.init(capabilities: try stringList(json["capabilities"], "server identify capabilities"))
    }

    /// Whether the server reads answers streamed to /response-data (otherwise: answers ride in acks).
    public var receivesPostStreams: Bool { capabilities.contains("receive-post-streams") }
}

/// The client's `identify` (client/socketHandlers/openHandler.ts): the token, and metadata whose
/// `identifier` is the SHA-256 hex of the token (common/utils/token.ts `hashToken`).
public struct ClientIdentify: Equatable, Sendable {
    public var token: String
    public var capabilities: [String]
    public var clientId: String
    public var identifier: String
    public var version: String
    /// The filter file as loaded (snyk sends its rules so the server can show them); `{}` when none.
    public var filters: JSON
    public var role: String
    /// snyk's `getClientConfigMetadata` flags; nil leaves the key out, as undefined does in JSON.stringify.
    public var clientConfig: JSON?

    public static let maxTokenBytes = 256

    /// snyk's `hashToken`: lowercase hex SHA-256 of the token, no prefix. Also what logs show instead of a token.
    public static func hashToken(_ token: String) -> String {
        let h = SHA256()
        h.update(Array(token.utf8))
        return h.finalizeHex()
    }
    /// snyk's server refuses clients older than this (server/socketHandlers/identifyHandler.ts).
    public static let minimumServerAcceptedVersion = (4, 100, 0)

    public init(token: String, clientId: String, version: String, filters: JSON = .object([]), role: String = "primary",
                capabilities: [String] = ["post-streams"], clientConfig: JSON? = nil) {
        self.token = token
        self.capabilities = capabilities
        self.clientId = clientId
        self.identifier = ClientIdentify.hashToken(token)
        self.version = version
        self.filters = filters
        self.role = role
        self.clientConfig = clientConfig
    }

    /// Key order as openHandler.ts builds `metadata` (capabilities, clientId, identifier, preflightChecks,
    /// version, clientConfig, filters, role, deploymentId; the undefined ones drop out).
    public var json: JSON {
        var metadata: [(String, JSON)] = [("capabilities", .array(capabilities.map(JSON.string))), ("clientId", .string(clientId)),
                                          ("identifier", .string(identifier)), ("version", .string(version))]
        if let clientConfig { metadata.append(("clientConfig", clientConfig)) }
        metadata += [("filters", filters), ("role", .string(role))]
        return .object([("token", .string(token)), ("metadata", .object(metadata))])
    }

    /// Reads a client's identify. A bare string is a token from a client older than 4.27 (identifyHandler.ts
    /// stubs its version as `pre-4.27`, which no server accepts). The server lowercases the token itself.
    public init(json: JSON) throws(BrokerProtocolError) {
        if case .string(let token) = json {
            guard !token.isEmpty, token.utf8.count <= Self.maxTokenBytes else { throw .emitter("client identify token of \(token.utf8.count) bytes") }
            self.init(token: token, clientId: "", version: "pre-4.27")
            return
        }
        guard case .object = json, case .object? = json["metadata"] else { throw .emitter("client identify without a metadata object") }
        guard let token = json["token"]?.string, !token.isEmpty, token.utf8.count <= Self.maxTokenBytes else {
            throw .emitter("client identify without a token of 1...\(Self.maxTokenBytes) bytes")
        }
        let m = json["metadata"]!
        func text(_ key: String, max: Int = 256) throws(BrokerProtocolError) -> String {
            guard let s = m[key]?.string, s.utf8.count <= max else { throw .emitter("client identify metadata.\(key) is not a string of at most \(max) bytes") }
            return s
        }
        let capabilities = try stringList(m["capabilities"], "client identify capabilities")
        let clientId = try text("clientId")
        let version = try text("version", max: 64)
        self.init(token: token, clientId: clientId, version: version, filters: m["filters"] ?? .object([]),
                  role: (try? text("role", max: 32)) ?? "primary", capabilities: capabilities, clientConfig: m["clientConfig"])
        // The identifier as sent (snyk sends '****' when it has none), not recomputed.
        self.identifier = (try? text("identifier", max: 128)) ?? ""
    }

    /// Whether snyk's server would take this client's version (semver major.minor.patch >= 4.100.0, or `local`).
    public var versionAcceptedBySnykServer: Bool {
        if version == "local" { return true }
        let parts = version.split(separator: "-", maxSplits: 1)[0].split(separator: ".").prefix(3).map { Int($0) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let c = parts[2] else { return false }
        let m = Self.minimumServerAcceptedVersion
        return (a, b, c) >= (m.0, m.1, m.2)
    }
}

/// The body of a tunnelled request as it rides in the `request` event.
public enum TunnelBody: Equatable, Sendable {
    case none
    case text(String)
    /// A raw body (snyk's server parses bodies with bodyParser.raw: a Buffer, EJSON binary on the wire).
    case bytes([UInt8])
    /// A parsed JSON body (older peers).
    case json(JSON)

    /// The body as bytes to send on: text as UTF-8, JSON serialized.
    public var bytes: [UInt8] {
        switch self {
        case .none: return []
        case .text(let s): return Array(s.utf8)
        case .bytes(let b): return b
        case .json(let j): return Array(j.serialized.utf8)
        }
    }
}

/// The `request` event (clientRequestHelpers.ts `makeWebsocketRequestWithStreamingResponse`, both ways:
/// the server sends callers' requests down, the client sends the agent's callbacks up).
public struct TunnelRequest: Equatable, Sendable {
    public var url: String
    public var method: String
    public var headers: [(String, String)]
    public var body: TunnelBody
    /// Where the answer goes (`/response-data/<token>/<streamingID>`); empty: answer through the ack.
    public var streamingID: String
    public var requestId: String?

    public static let maxURLBytes = 65_536
    public static let maxHeaders = 256

    public init(url: String, method: String, headers: [(String, String)], body: TunnelBody = .none, streamingID: String, requestId: String? = nil) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.streamingID = streamingID
        self.requestId = requestId
    }

    public static func == (a: TunnelRequest, b: TunnelRequest) -> Bool {
        a.url == b.url && a.method == b.method && a.headers.elementsEqual(b.headers, by: { $0 == $1 }) && a.body == b.body
            && a.streamingID == b.streamingID && a.requestId == b.requestId
    }

    /// The event's argument: `{url, method, body, headers, streamingID, requestId}` in that order, the body
    /// left out when there is none (JSON.stringify drops undefined), binary as EJSON `$binary`, header
    /// maps escaped where they look like EJSON types. Repeated header names become one array, as Node holds them.
    public var json: JSON {
        var pairs: [(String, JSON)] = [("url", .string(url)), ("method", .string(method))]
        switch body {
        case .none: break
        case .text(let s): pairs.append(("body", .string(s)))
        case .bytes(let b): pairs.append(("body", EJSON.binary(b)))
        case .json(let j): pairs.append(("body", EJSON.escape(plain: j)))
        }
        pairs += [("headers", EJSON.escape(plain: TunnelHeaderFields.json(headers))), ("streamingID", .string(streamingID))]
        if let requestId { pairs.append(("requestId", .string(requestId))) }
        return .object(pairs)
    }

    public init(json: JSON) throws(BrokerProtocolError) {
        guard case .object = json else { throw .emitter("request is not an object") }
        guard let url = json["url"]?.string, url.hasPrefix("/"), url.utf8.count <= Self.maxURLBytes,
              !url.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) else {
            throw .emitter("request url is not a path of at most \(Self.maxURLBytes) bytes without spaces or control characters")
        }
        guard let method = json["method"]?.string, ResponseDataHead.isToken(method), method.utf8.count <= 32 else {
            throw .emitter("request method is not an HTTP token")
        }
        let headers = try TunnelHeaderFields.parse(json["headers"].map(EJSON.unescape), subject: "request header", maxHeaders: Self.maxHeaders,
                                                   acceptsBooleans: false, error: BrokerProtocolError.emitter)
        let body: TunnelBody
        switch json["body"] {
        case nil, .null?: body = .none
        case .string(let s)?: body = .text(s)
        case let v?:
            if let b = EJSON.bytes(of: v) {
                body = .bytes(b)
            } else if v["type"]?.string == "Buffer", case .array(let items)? = v["data"], v.object?.count == 2 {
                // Buffer.toJSON's shape, when a peer serialised a Buffer with plain JSON (prepareRequest.ts reads it too).
                var out: [UInt8] = []
                out.reserveCapacity(items.count)
                for i in items {
                    guard let n = i.int, (0...255).contains(n) else { throw .emitter("request body Buffer holds a non-byte") }
                    out.append(UInt8(n))
                }
                body = .bytes(out)
            } else {
                body = .json(EJSON.unescape(v))
            }
        }
        let sid: String
        switch json["streamingID"] {
        case nil, .null?: sid = ""
        case .string(let s)?: sid = s
        default: throw .emitter("request streamingID is not a string")
        }
        guard sid.utf8.count <= 128, sid.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw .emitter("request streamingID is not a printable string of at most 128 bytes without '/'")
        }
        var requestId: String? = nil
        if let r = json["requestId"], !r.isNull {
            guard let s = r.string, s.utf8.count <= 256, !s.utf8.contains(where: { $0 < 0x20 }) else { throw .emitter("request requestId is not a short string") }
            requestId = s
        }
        self.init(url: url, method: method, headers: headers, body: body, streamingID: sid, requestId: requestId)
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.0.lowercased() == n }?.1
    }
}

private func stringList(_ value: JSON?, _ what: String) throws(BrokerProtocolError) -> [String] {
    guard let items = value?.array, items.count <= 64 else { throw .emitter("\(what) is not a list") }
    var out: [String] = []
    for i in items {
        guard let s = i.string, s.utf8.count <= 128 else { throw .emitter("\(what) holds a non-string") }
        out.append(s)
    }
    return out
}
