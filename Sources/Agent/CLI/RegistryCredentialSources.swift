// Registry credentials from the environment for one registry, through the one credential chain
// (RegistryAccess: CR_CREDENTIALS, CR_USERNAME + CR_PASSWORD or CR_TOKEN, the Docker config file's
// `auths` entry for the host, else anonymous), and the Docker config file's reading.
import Core
import Glibc

enum RegistryCredentialSources {
    /// The user name and password the chain gives `registryHost` (`host[:port]`); a type that exchanges
    /// its credentials (ecr) goes through `RegistryAccess.registryCredentials` instead.
    static func resolve(_ env: Environment, registryHost: String) -> Result<RegistryCredentials, ConfigurationError> {
        RegistryAccess.fromEnvironment(env).flatMap { $0.source.credentials(for: registryHost, type: $0.type) }
    }

    /// Docker Hub's names are one registry; every other host stands for itself (lower-cased).
    static func canonicalHost(_ host: String) -> String {
        let h = host.lowercased()
        return ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].contains(h) ? "registry-1.docker.io" : h
    }

    /// The `auths` entry for `host` in `<directory>/config.json` ($DOCKER_CONFIG, or ~/.docker): `auth`
    /// (base64 `user:password`) or `username`/`password`. Credential helpers are not run.
    static func fromDockerConfig(directory dir: String, host: String) -> RegistryCredentials? {
        guard !dir.isEmpty, let bytes = readFile("\(dir)/config.json", cap: 1 << 20), let json = try? JSON.parse(bytes),
              let auths = json["auths"]?.object else { return nil }
        let wanted = host == "registry-1.docker.io" ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"] : [host]
        for (key, entry) in auths {
            var k = Substring(key)
            if let r = k.range(of: "://") { k = k[r.upperBound...] }
            if let slash = k.firstIndex(of: "/") { k = k[..<slash] }
            guard wanted.contains(String(k).lowercased()) || wanted.contains(key) else { continue }
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
