// Registry authentication state: Basic when the registry asks for it, bearer tokens from the realm
// it names (GET with repeated `scope`, or the OAuth2 POST form), cached per (realm, service, scopes).
import Core

final class RegistryAuth {
    struct TokenKey: Hashable { let realm: String; let service: String; let scopes: [String] }
    struct CachedToken { let token: String; let expiresAt: UInt64 }

    let registry: String
    let credentials: RegistryCredentials
    private let http: HTTPClient
    private let options: RegistryOptions
    private var tokens: [TokenKey: CachedToken] = [:]
    /// The bearer challenge last seen, so later requests can get a token before their first try.
    private var bearer: (realm: String, service: String)?
    private var wantsBasic = false
    private var preferPost: Set<String> = []
    /// Scopes a 401 asked for beyond what a request needed, by the scopes it needed.
    private var extraScopes: [[String]: Set<String>] = [:]
    private(set) var tokenRequests = 0

    private let nameCheck: ProxiedNameCheck

    init(registry: String, credentials: RegistryCredentials, http: HTTPClient, options: RegistryOptions, nameCheck: ProxiedNameCheck) {
        self.nameCheck = nameCheck
        self.registry = registry
        self.credentials = credentials
        self.http = http
        self.options = options
    }

    /// Marks every cached token as expired (for tests of renewal).
    func expireAllTokens() {
        for (k, t) in tokens { tokens[k] = CachedToken(token: t.token, expiresAt: 0) }
    }

    func allScopes(_ scopes: [String]) -> [String] {
        Array(Set(scopes).union(extraScopes[scopes.sorted()] ?? [])).sorted()
    }

    /// The Authorization value to send now for a request needing `scopes`, if one is known.
    func authorization(for scopes: [String]) -> String? {
        if wantsBasic { return credentials.basicAuthorization }
        guard let b = bearer else { return nil }
        let key = TokenKey(realm: b.realm, service: b.service, scopes: allScopes(scopes))
        if let t = tokens[key], t.expiresAt > Reactor.now() { return "Bearer \(t.token)" }
        return nil
    }

    /// Whether a token for `scopes` must be fetched before the request (a bearer realm is known).
    func needsToken(for scopes: [String]) -> Bool { bearer != nil && !wantsBasic && authorization(for: scopes) == nil }

    /// Whether a bearer challenge asks for scopes beyond those a request's token already covers.
    func asksForNewScopes(_ fields: [String], scopes: [String]) -> Bool {
        guard let b = AuthChallenge.parse(fields).first(where: { $0.scheme == "bearer" }), let asked = b["scope"] else { return false }
        return !Set(asked.split(separator: " ").map(String.init)).isSubset(of: Set(allScopes(scopes)))
    }

    /// Reacts to a 401: learns the scheme from the challenges and gets what the retry needs.
    func handleChallenge(_ fields: [String], scopes: [String], done: @escaping (RegistryError?) -> Void) {
        let challenges = AuthChallenge.parse(fields)
        if let b = challenges.first(where: { $0.scheme == "bearer" }), let realm = b["realm"] {
            bearer = (realm, b["service"] ?? "")
            wantsBasic = false
            if let extra = b["scope"] {
                let asked = Set(extra.split(separator: " ").map(String.init)).subtracting(scopes)
                // Bounded: a registry inventing scopes on every 401 cannot grow this without end.
                if !asked.isEmpty && (extraScopes.count < 256 || extraScopes[scopes.sorted()] != nil) {
                    extraScopes[scopes.sorted(), default: []].formUnion(asked.prefix(16))
                }
            }
            fetchToken(scopes: scopes, done: done)
        } else if challenges.contains(where: { $0.scheme == "basic" }) {
            wantsBasic = true
            done(credentials.isAnonymous ? RegistryError(.authentication, registry: registry, "the registry requires credentials (Basic); set CR_USERNAME and CR_PASSWORD", status: 401) : nil)
        } else {
            let schemes = challenges.map(\.scheme).joined(separator: ", ")
            done(RegistryError(.authentication, registry: registry, "the registry answered 401 with no usable challenge (\(schemes.isEmpty ? "none" : schemes))", status: 401))
        }
    }

    func fetchToken(scopes: [String], done: @escaping (RegistryError?) -> Void) {
        guard let b = bearer else { return done(RegistryError(.authentication, registry: registry, "no token realm known")) }
        if let why = RegistryClient.refusal(url: b.realm, allowedHosts: options.allowedHosts) {
            return done(RegistryError(.refused, registry: registry, "token realm \(b.realm) is \(why); refusing to send credentials there"))
        }
        guard b.realm.lowercased().hasPrefix("https://") || b.realm.lowercased().hasPrefix("http://") else {
            return done(RegistryError(.authentication, registry: registry, "token realm \"\(b.realm)\" is not an http(s) URL"))
        }
        // The realm was named by the registry's own 401 (challenges from other origins are refused
        // before they get here); over https the credentials stay encrypted on their way to it as well.
        if registry.lowercased().hasPrefix("https://") && !b.realm.lowercased().hasPrefix("https://") && !credentials.isAnonymous {
            return done(RegistryError(.refused, registry: registry,
                "token realm \(b.realm) is plain http while the registry is https; the credentials are not sent to it in clear"))
        }
        nameCheck.check(b.realm) { [self] why in
            if let why { return done(RegistryError(.refused, registry: registry, "token realm \(b.realm): \(why); refusing to send credentials there")) }
            requestToken(realm: b.realm, service: b.service, scopes: scopes, done: done)
        }
    }

    private func requestToken(realm: String, service: String, scopes: [String], done: @escaping (RegistryError?) -> Void) {
        let b = (realm: realm, service: service)
        let all = allScopes(scopes)
        let key = TokenKey(realm: b.realm, service: b.service, scopes: all)
        if (preferPost.contains(b.realm) || options.oauth2TokenPost) && !credentials.isAnonymous { return postToken(key, done: done) }
        var query: [String] = []
        if !b.service.isEmpty { query.append("service=" + PercentEncoding.encode(b.service)) }
        for s in all { query.append("scope=" + PercentEncoding.encode(s)) }
        let url = b.realm + (b.realm.contains("?") ? "&" : "?") + query.joined(separator: "&")
        var headers = HTTPHeaders()
        if let basic = credentials.basicAuthorization { headers.set("Authorization", basic) }
        headers.set("User-Agent", options.userAgent)
        tokenRequests += 1
        let request = ClientRequest(url: url, headers: headers, timeouts: timeouts, connectFilter: AddressPolicy.connectFilter)
        http.fetch(request, maxBodyBytes: 1 << 20) { [self] result in
            switch result {
            case .failure(let e):
                done(tokenFailure(e, realm: b.realm))
            case .success(let r) where (r.status == 404 || r.status == 405) && !credentials.isAnonymous:
                if preferPost.count < 64 { preferPost.insert(b.realm) }      // this token server wants the OAuth2 form
                postToken(key, done: done)
            case .success(let r):
                accept(r, key: key, done: done)
            }
        }
    }

    /// The OAuth2 password grant (RFC 6749 §4.3) that some token servers require.
    private func postToken(_ key: TokenKey, done: @escaping (RegistryError?) -> Void) {
        var form = ["grant_type=password", "client_id=cr-agent", "access_type=offline"]
        if !key.service.isEmpty { form.append("service=" + PercentEncoding.encode(key.service)) }
        if !key.scopes.isEmpty { form.append("scope=" + PercentEncoding.encode(key.scopes.joined(separator: " "))) }
        form.append("username=" + PercentEncoding.encode(credentials.username ?? ""))
        form.append("password=" + PercentEncoding.encode(credentials.password ?? ""))
        var headers = HTTPHeaders()
        headers.set("Content-Type", "application/x-www-form-urlencoded")
        headers.set("User-Agent", options.userAgent)
        tokenRequests += 1
        let req = ClientRequest(method: "POST", url: key.realm, headers: headers,
                                body: .bytes(Array(form.joined(separator: "&").utf8)), timeouts: timeouts,
                                connectFilter: AddressPolicy.connectFilter)
        http.fetch(req, maxBodyBytes: 1 << 20) { [self] result in
            switch result {
            case .failure(let e): done(tokenFailure(e, realm: key.realm))
            case .success(let r): accept(r, key: key, done: done)
            }
        }
    }

    private func tokenFailure(_ e: HTTPClientError, realm: String) -> RegistryError {
        RegistryError(e.kind == .refused ? .refused : .network, registry: registry, "token request to \(realm) failed: \(e.message)")
    }

    private func accept(_ r: ClientResponse, key: TokenKey, done: (RegistryError?) -> Void) {
        guard r.status == 200 else {
            var e = RegistryError.fromResponse(registry: registry, status: r.status, body: r.body, what: "token request to \(key.realm)")
            if r.status == 401 || r.status == 403 {
                e = RegistryError(.authentication, registry: registry, credentials.isAnonymous
                    ? "the token server refused anonymous access (\(e.message)); set CR_USERNAME and CR_PASSWORD"
                    : "the token server rejected the credentials (\(e.message))", status: r.status, code: e.code)
            }
            return done(e)
        }
        guard let json = try? JSON.parse(r.body), let token = json["token"]?.string ?? json["access_token"]?.string, !token.isEmpty else {
            return done(RegistryError(.authentication, registry: registry, "token server at \(key.realm) answered without a token"))
        }
        var lifetime = 60
        if let field = json["expires_in"], !field.isNull {
            guard let n = field.int, RegistryOptions.tokenLifetimeRange.contains(n) else {
                return done(RegistryError(.authentication, registry: registry,
                    "token server at \(key.realm) answered expires_in \(String(field.serialized.prefix(40))), outside \(RegistryOptions.tokenLifetimeRange.lowerBound)...\(RegistryOptions.tokenLifetimeRange.upperBound) seconds"))
            }
            lifetime = max(n, 1)
        }
        // Masked for its lifetime plus a while (a late log line may still quote it), then dropped.
        Redaction.register(secret: token, expiresInSeconds: lifetime + 600)
        // Renew shortly before expiry: 10% of the lifetime, at least 5 s and at most 30 s early.
        let margin = min(30, max(5, lifetime / 10))
        let usable = max(lifetime - margin, 1)
        let now = Reactor.now()
        storeToken(CachedToken(token: token, expiresAt: now + UInt64(usable) * 1_000_000_000), for: key, now: now)
        done(nil)
    }

    /// Keeps at most `options.maxCachedTokens`: expired tokens go first, then those expiring soonest.
    private func storeToken(_ t: CachedToken, for key: TokenKey, now: UInt64) {
        tokens[key] = t
        let cap = max(1, options.maxCachedTokens)
        guard tokens.count > cap else { return }
        tokens = tokens.filter { $0.value.expiresAt > now || $0.key == key }
        while tokens.count > cap, let soonest = tokens.filter({ $0.key != key }).min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
            tokens[soonest.key] = nil
        }
    }

    /// Tokens held now (for tests of the cache's bound).
    var cachedTokenCount: Int { tokens.count }

    private var timeouts: ClientTimeouts {
        ClientTimeouts(connect: options.connectTimeoutMs, total: 60_000, lowSpeed: options.stallRule)
    }
}
