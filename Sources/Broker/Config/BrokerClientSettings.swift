// What `broker client` runs with, read from the environment by BrokerClientSettings+Environment.swift.
import Core

public struct BrokerClientSettings: Sendable {
    /// The token that names this client at the server (never logged; hash it).
    public var brokerToken: String
    /// The broker server, e.g. https://broker.example.com (BROKER_SERVER_URL).
    public var serverURL: String
    /// Where the agent calls back: scheme, host and port of this client (BROKER_CLIENT_URL).
    public var clientURL: String
    /// The agent, with a scheme (CR_AGENT_URL; `https://` added when it had none, as snyk does).
    public var agentURL: String
    /// Base64 CR_CREDENTIALS sent as `authorization` on every request to the agent.
    public var crCredentials: String
    /// Local port for the agent's callbacks, /healthcheck, /systemcheck, /metrics (PORT, default 7341).
    public var port: Int
    /// BROKER_CLIENT_VALIDATION_URL, nil when unset.
    public var validationURL: String?
    /// The filter in force (the default container-registry-agent filter or the ACCEPT file).
    public var filter: any RequestFilter
    /// The protocol version announced to the server (BROKER_CLIENT_VERSION, default 4.200.0).
    public var clientVersion: String
    /// Environment used for `${VAR}` origins and var-sub (the process environment).
    public var environment: [String: String]
    /// HTTPS_CERT / HTTPS_KEY for the local server, when both are set.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// The largest WebSocket message accepted or sent (BROKER_MAX_MESSAGE_BYTES, default 33554432).
    public var maxMessageBytes: Int = 33_554_432
    /// Requests from the server run at once (BROKER_CLIENT_MAX_CONCURRENT_REQUESTS, default 64); more
    /// wait in a queue of `maxQueuedRequests` (and `maxQueuedBodyBytes` of bodies), past which 503 CLIENT_BUSY.
    public var maxConcurrentRequests: Int = 64
    public var maxQueuedRequests: Int = 4096
    public var maxQueuedBodyBytes: Int = 64 << 20
    /// The whole request to the agent, connect to last byte (BROKER_DOWNSTREAM_TIMEOUT); 0, the default, for
    /// none, as in snyk: a long answer streaming to a slow caller is not cut for taking long, only for
    /// stalling (the idle limit below).
    public var downstreamTimeoutMilliseconds: Int = 0
    /// A request to the agent that moves no byte for this long is cut off (BROKER_DOWNSTREAM_IDLE_TIMEOUT,
    /// default 660000 ms: longer than the broker server waits for an answer to start (600 s) and than the
    /// agent's longest listing limit, so only a hung agent reaches it; time the client itself holds the
    /// transfer paused does not count).
    public var downstreamIdleTimeoutMilliseconds: Int = 660_000
    /// The longest a request may wait in the queue: past the broker server's own wait for an answer
    /// (BROKER_REQUEST_TIMEOUT_MS, 600 s by default) its caller has had a 504, so an older request is
    /// dropped without reaching the agent.
    public var queuedRequestMaxAgeMilliseconds: Int = 600_000
    /// An answer's upload to /response-data that moves no byte for this long is cut off
    /// (BROKER_CLIENT_POST_TIMEOUT, snyk's name and default: 1200000 ms, its socket inactivity timeout).
    public var uploadIdleTimeoutMilliseconds: Int = 1_200_000
    /// LOG_LEVEL (debug, info, warn, error; default info).
    public var logLevel: LogLevel = .info
    /// CR_TYPE as given, nil when only CR_CREDENTIALS was (for logs and /systemcheck).
    public var crType: String?

    public init(brokerToken: String, serverURL: String, clientURL: String, agentURL: String, crCredentials: String,
                port: Int = 7341, validationURL: String? = nil, filter: any RequestFilter, clientVersion: String = "4.200.0",
                environment: [String: String] = [:], tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil) {
        self.brokerToken = brokerToken
        self.serverURL = serverURL
        self.clientURL = clientURL
        self.agentURL = agentURL
        self.crCredentials = crCredentials
        self.port = port
        self.validationURL = validationURL
        self.filter = filter
        self.clientVersion = clientVersion
        self.environment = environment
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
    }
}
