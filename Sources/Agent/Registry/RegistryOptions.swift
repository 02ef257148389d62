// Tunables of the registry client, with the defaults container tools use.
import Core

public struct RegistryCredentials: Sendable {
    public let username: String?
    public let password: String?

    public static let anonymous = RegistryCredentials(username: nil, password: nil)

    public init(username: String?, password: String?) {
        self.username = username
        self.password = password
    }

    var isAnonymous: Bool { username == nil && password == nil }

    /// `Basic base64(user:password)`, nil when anonymous.
    var basicAuthorization: String? {
        guard !isAnonymous else { return nil }
        return "Basic " + Base64.encode(Array("\(username ?? ""):\(password ?? "")".utf8))
    }
}

public struct RegistryOptions: Sendable {
    /// Entries asked for per page of `_catalog` and `tags/list`.
    public var pageSize = 100
    /// The actions of the `repository:<name>:<actions>` scope asked for to list tags (ACR: pull and metadata_read).
    public var tagListActions = ["pull"]
    public var platform = Platform()
    /// Manifests larger than this are refused (distribution's own limit is 4 MiB).
    public var maxManifestBytes = 4 << 20
    public var maxConfigBytes = 8 << 20
    /// Tries per request for 408/429/5xx answers and connection errors.
    public var maxAttempts = 4
    public var retryBaseDelayMs = 250
    public var maxRetryDelayMs = 30_000
    public var maxRedirects = 5
    /// Requests in flight to one registry host within the process (`REGISTRY_MAX_CONCURRENCY`); the rest
    /// wait in order. A 429 lowers it for that host for a while (`HostLimiter`).
    public var maxConcurrentPerHost = HostLimiter.defaultLimit
    public var connectTimeoutMs = 30_000
    /// A transfer that moves under `stallMinimumBytes` in this window is aborted, and not retried
    /// (`REGISTRY_STALL_TIMEOUT_MS`). libcurl measures in whole seconds: the window is rounded up.
    public var stallTimeoutMs = RegistryOptions.defaultStallTimeoutMs
    public static let defaultStallTimeoutMs = 30_000
    public static let stallMinimumBytes = 1024
    /// Hosts registry, token-realm and redirect requests may reach (`REGISTRY_ALLOWED_HOSTS`); nil: any
    /// host the address policy allows. Entries are names or literals, or `.domain` for names under it.
    public var allowedHosts: [String]?
    /// Token lifetimes are taken from `expires_in` only within this range, in seconds.
    public static let tokenLifetimeRange = 0...(366 * 86_400)
    /// Pages of one listing followed at most (a registry whose Link never ends cannot keep a listing going).
    public var maxListPages = 10_000
    /// Bearer tokens kept per registry client; past it the expired, then the soonest to expire, go.
    public var maxCachedTokens = 64
    public var userAgent = "cr-agent/\(ProductVersion.current)"
    /// Ask token servers with the OAuth2 password-grant POST from the start (some require it; others
    /// are detected when their GET endpoint answers 404 or 405).
    public var oauth2TokenPost = false
    /// Roots of per-host TLS folders, as podman and skopeo read them: the first root holding a
    /// `<host[:port]>` folder wins; its `*.crt` are CAs trusted for that registry (with the system's
    /// and `CA_CERT`), and a `*.cert` with its `*.key` is the client certificate. See `RegistryTrust`.
    public var certsDirectories = RegistryOptions.defaultCertsDirectories

    public static let defaultCertsDirectories = ["/etc/containers/certs.d", "/etc/docker/certs.d"]

    public init() {}

    /// The defaults, with `REGISTRY_CERTS_DIRS` (colon-separated roots; empty for none),
    /// `REGISTRY_ALLOWED_HOSTS` and `REGISTRY_STALL_TIMEOUT_MS` when set; an unusable stall timeout
    /// keeps the default (`validated(environment:)` reports it instead).
    public init(environment env: [String: String]) {
        if let dirs = env["REGISTRY_CERTS_DIRS"] {
            certsDirectories = dirs.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        allowedHosts = AddressPolicy.allowList(env["REGISTRY_ALLOWED_HOSTS"])
        if let ms = try? Environment(env).int("REGISTRY_STALL_TIMEOUT_MS", default: Self.defaultStallTimeoutMs, range: Self.stallTimeoutRange) {
            stallTimeoutMs = ms
        }
        if let n = try? Environment(env).int("REGISTRY_MAX_CONCURRENCY", default: HostLimiter.defaultLimit, range: HostLimiter.limitRange) {
            maxConcurrentPerHost = n
        }
    }

    public static let stallTimeoutRange = 1_000...3_600_000

    /// As `init(environment:)`, but a setting that cannot be used is an error naming it.
    public static func validated(environment env: [String: String]) throws(ConfigurationError) -> RegistryOptions {
        _ = try Environment(env).int("REGISTRY_STALL_TIMEOUT_MS", default: defaultStallTimeoutMs, range: stallTimeoutRange)
        _ = try Environment(env).int("REGISTRY_MAX_CONCURRENCY", default: HostLimiter.defaultLimit, range: HostLimiter.limitRange)
        return RegistryOptions(environment: env)
    }

    /// The libcurl low-speed rule for the stall window: under `stallMinimumBytes` over the window,
    /// as bytes per second over whole seconds (at least 1 byte/s).
    var stallRule: (bytesPerSecond: Int, seconds: Int) {
        ClientTimeouts.stallRule(milliseconds: stallTimeoutMs, minimumBytes: Self.stallMinimumBytes)
    }
}
