// Per-registry TLS trust as container tools keep it (certs.d/<host[:port]>/*.crt, *.cert + *.key), with
// one HTTP client per reactor for each distinct set of those files, so no host trusts another's CAs.
import Core
import Glibc

/// The TLS files a certs.d root holds for one registry host.
public struct HostTrustFiles: Hashable, Sendable {
    /// The host's folder they came from; nil when no root has one.
    public let directory: String?
    /// `*.crt` by name: CA certificates trusted for this host on top of the system's and `CA_CERT`.
    public let caFiles: [String]
    /// The first `*.cert` by name with its `*.key`, presented when the registry asks for one.
    public let clientCertificate: ClientCertificate?
    /// Modification time and size of each file, so an edited file gets a fresh client.
    let stamps: [Int]

    static let none = HostTrustFiles(directory: nil, caFiles: [], clientCertificate: nil, stamps: [])

    /// Reads `<root>/<authority>/` from the first root that has that folder, as containers/image does
    /// (roots it may not read are skipped). A `.cert` without its `.key`, or the reverse, is an error.
    public static func read(authority: String, roots: [String]) throws(RegistryError) -> HostTrustFiles {
        for root in roots {
            let dir = root + "/" + authority
            var st = stat()
            guard stat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            let names = regularFiles(in: dir)
            var stamps: [Int] = []
            func path(_ name: String) -> String {
                let p = dir + "/" + name
                var s = stat()
                if stat(p, &s) == 0 { stamps += [s.st_mtim.tv_sec * 1_000_000_000 + s.st_mtim.tv_nsec, Int(s.st_size)] }
                return p
            }
            let cas = names.filter { $0.hasSuffix(".crt") }.map(path)
            var pair: ClientCertificate?
            for name in names where name.hasSuffix(".cert") || name.hasSuffix(".key") {
                let stem = String(name.dropLast(name.hasSuffix(".key") ? 4 : 5))
                let (cert, key) = (stem + ".cert", stem + ".key")
                guard names.contains(cert), names.contains(key) else {
                    let missing = names.contains(cert) ? "key \(key) for client certificate \(cert)" : "client certificate \(cert) for key \(key)"
                    throw RegistryError(.invalidInput, registry: authority,
                        "\(dir): missing \(missing); CA certificates must end in .crt, a client certificate in .cert with its .key")
                }
                if pair == nil { pair = ClientCertificate(certificateFile: path(cert), keyFile: path(key)) }
            }
            return HostTrustFiles(directory: dir, caFiles: cas, clientCertificate: pair, stamps: stamps)
        }
        return .none
    }

    /// Names of the regular files (symlinks followed) in `dir`, sorted; hidden files left out.
    private static func regularFiles(in dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cBytes: $0) }
            var st = stat()
            if !name.hasPrefix("."), stat(dir + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFREG { names.append(name) }
        }
        return names.sorted()
    }
}

/// Hands each registry the HTTP client that trusts what its host's certs.d folder says, on one reactor.
/// Hosts with the same files (most often none) share a client and its connection cache. Use on the
/// reactor's thread.
public final class RegistryTrust {
    public let reactor: Reactor
    /// What every client starts from: `CA_CERT`, proxies, user agent, ...
    public let configuration: HTTPClientConfiguration
    private var clients: [HostTrustFiles: HTTPClient] = [:]
    private var filesByHost: [String: HostTrustFiles] = [:]

    public init(reactor: Reactor, configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.reactor = reactor
        self.configuration = configuration
    }

    /// The reactor's own instance, made with `configuration` on first use.
    public static func shared(on reactor: Reactor, configuration: @autoclosure () -> HTTPClientConfiguration) -> RegistryTrust {
        reactor.local(RegistryTrust.self) { RegistryTrust(reactor: reactor, configuration: configuration()) }
    }

    /// HTTP clients currently kept (one per distinct set of files in use).
    public var clientCount: Int { clients.count }

    /// The client for `base`: trusts the system's CAs, `CA_CERT` and the `*.crt` of `base`'s certs.d
    /// folder, and presents its client certificate. The folder is read again on every call (a few
    /// small syscalls), so edits apply to the next registry client made.
    public func httpClient(for base: RegistryBase, certsDirectories: [String]) throws(RegistryError) -> HTTPClient {
        let files: HostTrustFiles
        do {
            files = try HostTrustFiles.read(authority: base.authority, roots: certsDirectories)
        } catch {
            throw RegistryError(error.kind, registry: base.origin, error.message)
        }
        if let old = filesByHost.updateValue(files, forKey: base.authority), old != files, !filesByHost.values.contains(old) {
            clients[old] = nil   // requests still running keep their client alive
        }
        if let client = clients[files] { return client }
        var config = configuration
        config.caCertificateFiles += files.caFiles
        if let pair = files.clientCertificate { config.clientCertificate = pair }
        do {
            let client = try HTTPClient(reactor: reactor, configuration: config)
            clients[files] = client
            return client
        } catch {
            throw RegistryError(.invalidInput, registry: base.origin, "TLS settings\(files.directory.map { " in \($0)" } ?? ""): \(error.message)")
        }
    }
}
