// The broker server's settings, read from the environment (docs/broker-server.md lists each one).
import Core

public struct BrokerServerSettings: Sendable {
    /// Where the accepted tokens come from.
    public enum TokenSource: Sendable, Equatable {
        /// BROKER_TOKENS, comma-separated.
        case list([String])
        /// BROKER_TOKENS_FILE, one token per line; re-read on SIGHUP.
        case file(String)
    }

    public var server: HTTPServerConfiguration
    public var tokens: TokenSource
    /// Where the clients' callbacks go (BROKER_UPSTREAM_URL) when no ACCEPT filter decides.
    public var upstreamURL: String?
    /// A filter file in snyk's server format (ACCEPT): its rules and origins decide the callbacks.
    public var acceptFilterPath: String?
    /// How long a caller of /broker/<token>/* waits for the start of the client's answer (snyk's
    /// webserver request timeout: 600 s).
    public var requestTimeoutMs = 600_000
    /// Request bodies of /broker/<token>/* and of the callbacks relayed upstream (snyk's body parser: 10 MB).
    public var maxRequestBodyBytes = 10 * 1024 * 1024
    /// Upstream answers sent back through an emitter ack (snyk's socketMaxResponseLength: 20 MiB).
    public var maxAckResponseBytes = 20 * 1024 * 1024
    /// The lowest client version accepted at identify (snyk's MINIMAL_SUPPORTED_BROKER_VERSION).
    public var minimalClientVersion = "4.100.0"
    /// The largest WebSocket message accepted from a client (BROKER_MAX_MESSAGE_BYTES), never more
    /// than the open packet announces (`acceptedMessageBytes`).
    public var maxMessageBytes = 33_554_432
    /// How long a new socket may take to send its `identify` before it is closed (BROKER_IDENTIFY_TIMEOUT_MS;
    /// snyk has no setting for it): an unidentified socket is of no use and must not be held forever.
    public var identifyTimeoutMs = 30_000
    /// Sockets one token may hold open at once (BROKER_MAX_SOCKETS_PER_TOKEN): a client has two, a
    /// few clients per token are normal; past it an upgrade is refused, so one token holder cannot
    /// take the server's descriptors from the others.
    public var maxSocketsPerToken = 64
    /// Bytes of requests queued towards one client socket and not yet taken by it
    /// (BROKER_MAX_QUEUED_BYTES_PER_SOCKET): past it a /broker caller gets 503 `connection-overloaded`.
    /// 32 MiB holds two of the largest requests (10 MiB bodies, 13.4 MiB as base64).
    public var maxQueuedBytesPerSocket = 32 << 20
    /// The server's environment variables a client's callbacks may have substituted through
    /// `x-broker-var-sub` / `BROKER_VAR_SUB` (BROKER_SERVER_VAR_SUB_VARIABLES, comma-separated). None by
    /// default: snyk's server fills them from its whole environment, which would hand any client every
    /// tenant's token (`${BROKER_TOKENS}`) and the server's own secrets.
    public var varSubVariables: [String] = []
    /// Callbacks of one token relayed upstream and not yet answered (BROKER_MAX_CALLBACKS_IN_FLIGHT_PER_TOKEN);
    /// past it a callback is answered 429 TOO_MANY_CALLBACKS at once. Each holds an outbound connection
    /// and its answer, so a client's burst must not take the server's descriptors from the others.
    public var maxCallbacksInFlightPerToken = 64
    public var logLevel: LogLevel = .info

    /// The largest client message the server accepts, and announces as engine.io's maxPayload: the
    /// smaller of BROKER_MAX_MESSAGE_BYTES and snyk's 22020096 (a peer is never sent a promise the
    /// server does not keep, and never allowed more than it was promised).
    public var acceptedMessageBytes: Int { min(maxMessageBytes, BrokerSocket.snykMaxPayload) }

    /// The variables `varSubVariables` names that are set, with their values: all a client's callback
    /// may have substituted from the server's environment.
    public func varSubValues(from env: Environment) -> [String: String] {
        var out: [String: String] = [:]
        for name in varSubVariables { if let v = env[name] { out[name] = v } }
        return out
    }

    public init(server: HTTPServerConfiguration = HTTPServerConfiguration(), tokens: TokenSource = .list([])) {
        self.server = server
        self.tokens = tokens
    }

    /// PORT (7341), BROKER_TOKENS or BROKER_TOKENS_FILE, BROKER_UPSTREAM_URL, ACCEPT,
    /// BROKER_REQUEST_TIMEOUT_MS, MINIMAL_SUPPORTED_BROKER_VERSION, LOG_LEVEL, and the HTTP server's own
    /// (HTTPS_CERT/HTTPS_KEY, timeouts). One reactor thread: every socket and waiting request shares it.
    public static func from(_ env: Environment) throws(ConfigurationError) -> BrokerServerSettings {
        let port = try env.int("PORT", default: 7341, range: 0...65535)
        var server = try HTTPServerConfiguration.from(env, port: port)
        server.threads = 1
        server.serverName = "broker-server"
        let tokens: TokenSource
        switch (env["BROKER_TOKENS"], env["BROKER_TOKENS_FILE"]) {
        case (let list?, nil):
            let parsed = TokenBook.parse(list, separator: ",")
            guard !parsed.isEmpty else { throw ConfigurationError(variable: "BROKER_TOKENS", message: "no token in the list; give one or more, comma-separated") }
            tokens = .list(parsed)
        case (nil, let path?):
            tokens = .file(path)
        case (nil, nil):
            throw ConfigurationError(variable: "BROKER_TOKENS", message: "not set; set BROKER_TOKENS (comma-separated) or BROKER_TOKENS_FILE (one token per line)")
        case (_?, _?):
            throw ConfigurationError(variable: "BROKER_TOKENS_FILE", message: "BROKER_TOKENS is set too; set only one of them")
        }
        var s = BrokerServerSettings(server: server, tokens: tokens)
        if let up = env["BROKER_UPSTREAM_URL"] {
            guard up.hasPrefix("http://") || up.hasPrefix("https://") else {
                throw ConfigurationError(variable: "BROKER_UPSTREAM_URL", message: "expected an http:// or https:// URL, got \"\(up)\"")
            }
            s.upstreamURL = up.hasSuffix("/") ? String(up.dropLast()) : up
        }
        s.acceptFilterPath = env["ACCEPT"]
        s.maxMessageBytes = try env.int("BROKER_MAX_MESSAGE_BYTES", default: s.maxMessageBytes, range: 1024...1 << 30)
        s.identifyTimeoutMs = try env.int("BROKER_IDENTIFY_TIMEOUT_MS", default: s.identifyTimeoutMs, range: 100...600_000)
        s.maxSocketsPerToken = try env.int("BROKER_MAX_SOCKETS_PER_TOKEN", default: s.maxSocketsPerToken, range: 1...100_000)
        s.maxQueuedBytesPerSocket = try env.int("BROKER_MAX_QUEUED_BYTES_PER_SOCKET", default: s.maxQueuedBytesPerSocket, range: 65_536...1 << 34)
        if let list = env["BROKER_SERVER_VAR_SUB_VARIABLES"] {
            let names = list.split(separator: ",").map { String($0.trimmed(" \t")) }.filter { !$0.isEmpty }
            if let secret = names.first(where: { $0 == "BROKER_TOKENS" || $0 == "BROKER_TOKENS_FILE" }) {
                throw ConfigurationError(variable: "BROKER_SERVER_VAR_SUB_VARIABLES", message: "\(secret) may never be substituted into a client's request; remove it")
            }
            s.varSubVariables = names
        }
        s.maxCallbacksInFlightPerToken = try env.int("BROKER_MAX_CALLBACKS_IN_FLIGHT_PER_TOKEN", default: s.maxCallbacksInFlightPerToken, range: 1...100_000)
        s.requestTimeoutMs = try env.int("BROKER_REQUEST_TIMEOUT_MS", default: s.requestTimeoutMs, range: 100...86_400_000)
        if let v = env["MINIMAL_SUPPORTED_BROKER_VERSION"] {
            guard ClientVersion(v) != nil else {
                throw ConfigurationError(variable: "MINIMAL_SUPPORTED_BROKER_VERSION", message: "expected a version like 4.100.0, got \"\(v)\"")
            }
            s.minimalClientVersion = v
        }
        s.logLevel = try env.logLevel()
        return s
    }
}

/// A broker client's announced version (major.minor.patch, a pre-release suffix sorting lower), as
/// semver compares them.
struct ClientVersion: Comparable {
    let numbers: [Int]
    let prerelease: Bool

    init?(_ text: String) {
        var t = Substring(text.hasPrefix("v") ? String(text.dropFirst()) : text)
        if let plus = t.firstIndex(of: "+") { t = t[..<plus] }
        var pre = false
        if let dash = t.firstIndex(of: "-") { pre = true; t = t[..<dash] }
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var n: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 9, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p) else { return nil }
            n.append(v)
        }
        numbers = n
        prerelease = pre
    }

    static func < (a: ClientVersion, b: ClientVersion) -> Bool {
        if a.numbers != b.numbers { return a.numbers.lexicographicallyPrecedes(b.numbers) }
        return a.prerelease && !b.prerelease
    }
}
