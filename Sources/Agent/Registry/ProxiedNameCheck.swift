// Where a name leads when requests go through a proxy: no local connect happens then, so the connect
// filter never sees the address. A name that resolves here is checked on every address it resolves to;
// one that does not (many companies' names resolve only at the proxy) is let through to the proxy.
import Core
import Glibc

final class ProxiedNameCheck {
    private let http: HTTPClient
    private let connectTimeoutMs: Int
    /// Verdicts by host (nil: allowed), bounded: a long-running client meets few hosts.
    private var verdicts: [String: String?] = [:]
    static let maxRemembered = 64
    /// Local resolutions made so far (for tests).
    private(set) var probes = 0

    init(http: HTTPClient, connectTimeoutMs: Int) {
        self.http = http
        self.connectTimeoutMs = connectTimeoutMs
    }

    enum Verdict: Equatable { case allowed, refused(String), unknown }

    /// What is known now, without resolving: for decisions that cannot wait (a redirect about to be
    /// followed); `.unknown` means `check` must run first.
    func verdictNow(_ url: String) -> Verdict {
        guard !http.configuration.proxies.proxy(for: url).isEmpty, let host = URLParts.host(url), !Self.isLiteral(host) else { return .allowed }
        guard let known = verdicts[host] else { return .unknown }
        return known.map { .refused($0) } ?? .allowed
    }

    /// Calls `done` with why `url` may not be requested through the proxy, or nil: at once when no proxy
    /// applies, the host is a literal (checked elsewhere) or its verdict is known; else after resolving it.
    func check(_ url: String, done: @escaping (String?) -> Void) {
        guard !http.configuration.proxies.proxy(for: url).isEmpty, let host = URLParts.host(url), !Self.isLiteral(host),
              let origin = URLParts.origin(url) else { return done(nil) }
        if let known = verdicts[host] { return done(known) }
        var seen: [ConnectAddress] = []
        // The probe resolves the name with the client's own resolver and refuses every address it is
        // shown, so no socket is ever opened: it only learns the addresses.
        let probe = ClientRequest(method: "HEAD", url: origin + "/", timeouts: ClientTimeouts(connect: connectTimeoutMs, total: connectTimeoutMs),
                                  connectFilter: { address in seen.append(address); return "address probe only" }, bypassesProxy: true)
        probes += 1
        http.start(probe, onBody: { _ in .continue }) { [self] _ in
            var verdict: String?
            for address in seen {
                if let why = AddressPolicy.refusal(address: address) {
                    verdict = "\(host) resolves to \(address.ip) (\(why))"
                    break
                }
            }
            if verdicts.count >= Self.maxRemembered { verdicts.removeAll() }
            verdicts[host] = .some(verdict)
            done(verdict)
        }
    }

    static func isLiteral(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 || AddressPolicy.isLegacyIPv4(host)
    }
}
