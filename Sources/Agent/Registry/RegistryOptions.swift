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
    public var platform = Platform()
    /// Manifests larger than this are refused (distribution's own limit is 4 MiB).
    public var maxManifestBytes = 4 << 20
    public var maxConfigBytes = 8 << 20
    /// Tries per request for 408/429/5xx answers and connection errors.
    public var maxAttempts = 4
    public var retryBaseDelayMs = 250
    public var maxRetryDelayMs = 30_000
    public var maxRedirects = 5
    public var connectTimeoutMs = 30_000
    /// A transfer moving under 1 byte/s for this long is aborted (and retried).
    public var stallTimeoutMs = 60_000
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

    /// The defaults, with `REGISTRY_CERTS_DIRS` (colon-separated roots; empty for none) when set.
    public init(environment env: [String: String]) {
        if let dirs = env["REGISTRY_CERTS_DIRS"] {
            certsDirectories = dirs.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
    }
}

/// Standard base64 (RFC 4648) without line breaks.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
