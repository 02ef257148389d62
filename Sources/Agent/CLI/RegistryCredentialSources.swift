// Registry credentials for CLI commands, first found wins: CR_CREDENTIALS (the broker's base64 JSON),
// CR_USERNAME + CR_PASSWORD (or CR_TOKEN), the Docker config file's `auths` entry for the host, else
// anonymous. Each belongs to one registry and is given for that registry only: CR_CREDENTIALS to its
// `registryBase` (or its type's own registry), CR_USERNAME/CR_PASSWORD to the registry the command names
// (CR_BASE, else the reference's host), a Docker config entry to its host.
import Core
import Glibc

enum RegistryCredentialSources {
    static func resolve(_ env: Environment, registryHost: String) -> Result<RegistryCredentials, ConfigurationError> {
        if let raw = env["CR_CREDENTIALS"] { return fromBrokerCredentials(raw, for: registryHost) }
        if env["CR_USERNAME"] != nil || env["CR_PASSWORD"] != nil || env["CR_TOKEN"] != nil {
            return FetchCommand.registryCredentials(env)
        }
        if let c = fromDockerConfig(env, host: registryHost) { return .success(c) }
        return .success(.anonymous)
    }

    /// `CR_CREDENTIALS`: base64 of `{"type","username","password","registryBase"}` (REFERENCE §3), for a
    /// command on `registryHost` (`host[:port]`): refused when the credentials are for another registry.
    static func fromBrokerCredentials(_ raw: String, for registryHost: String) -> Result<RegistryCredentials, ConfigurationError> {
        guard let bytes = Base64.decode(raw.trimmingCharactersSpace()), let json = try? JSON.parse(bytes) else {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "expected base64 of a JSON object"))
        }
        let user = json["username"]?.string, password = json["password"]?.string
        if user == nil && password == nil {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "the JSON has no username or password (type \(json["type"]?.string ?? "?") needs its own flow)"))
        }
        let type = json["type"]?.string ?? ""
        let owner: String
        switch credentialsRegistry(type: type, registryBase: json["registryBase"]?.string) {
        case .failure(let e): return .failure(e)
        case .success(let o): owner = o
        }
        let wanted = canonicalHost(registryHost)
        guard owner == wanted else {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message:
                "its credentials are for \(owner) and are not sent to \(wanted), the registry this command names; name an image on \(owner), or give credentials for \(wanted)"))
        }
        return .success(RegistryCredentials(username: user, password: password))
    }

    /// The registry (`host[:port]`) broker credentials belong to: their `registryBase`, or when that is
    /// empty or `undefined` (snyk's plugin writes that) the type's own registry.
    static func credentialsRegistry(type: String, registryBase: String?) -> Result<String, ConfigurationError> {
        let written = registryBase?.trimmed(" \t") ?? ""
        if written.isEmpty || written == "undefined" || written == "null" {
            guard let host = defaultRegistry[type] else {
                return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message:
                    "registryBase is empty and type \(type.isEmpty ? "(none)" : type) has no registry of its own; set registryBase (CR_BASE) to the registry the credentials are for"))
            }
            return .success(host)
        }
        do {
            return .success(canonicalHost(try RegistryBase(parsing: written).authority))
        } catch {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "registryBase: \(error.message)"))
        }
    }

    /// Registries the hosted types live on, for credentials that name none.
    static let defaultRegistry: [String: String] = [
        "docker-hub": "registry-1.docker.io", "github-cr": "ghcr.io", "gitlab-cr": "registry.gitlab.com",
        "quay-cr": "quay.io", "gcr": "gcr.io", "digitalocean-cr": "registry.digitalocean.com",
    ]

    /// Docker Hub's names are one registry; every other host stands for itself (lower-cased).
    static func canonicalHost(_ host: String) -> String {
        let h = host.lowercased()
        return ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].contains(h) ? "registry-1.docker.io" : h
    }

    /// The `auths` entry for `host` in `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`):
    /// `auth` (base64 `user:password`) or `username`/`password`. Credential helpers are not run.
    static func fromDockerConfig(_ env: Environment, host: String) -> RegistryCredentials? {
        let dir = env["DOCKER_CONFIG"] ?? (env["HOME"].map { "\($0)/.docker" } ?? "")
        guard !dir.isEmpty, let bytes = readFile("\(dir)/config.json", cap: 1 << 20), let json = try? JSON.parse(bytes),
              let auths = json["auths"]?.object else { return nil }
        let wanted = host == "registry-1.docker.io" ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"] : [host]
        for (key, entry) in auths {
            var k = Substring(key)
            if let r = k.range(of: "://") { k = k[r.upperBound...] }
            if let slash = k.firstIndex(of: "/") { k = k[..<slash] }
            guard wanted.contains(String(k)) || wanted.contains(key) else { continue }
            if let auth = entry["auth"]?.string, let decoded = Base64.decode(auth), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) {
                return RegistryCredentials(username: String(decoding: decoded[..<colon], as: UTF8.self),
                                           password: String(decoding: decoded[(colon + 1)...], as: UTF8.self))
            }
            if let u = entry["username"]?.string, let p = entry["password"]?.string { return RegistryCredentials(username: u, password: p) }
        }
        return nil
    }

    static func readFile(_ path: String, cap: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while out.count <= cap {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out += buf[0..<n]
        }
        return nil
    }
}
