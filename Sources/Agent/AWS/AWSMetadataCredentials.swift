// The agent's own temporary credentials from the metadata endpoints AWS runs next to a workload: the
// ECS/EKS container credentials endpoint (one GET with the authorization token) and EC2's instance metadata
// service, version 2 only (PUT /latest/api/token, then GET /latest/meta-data/iam/security-credentials/ for
// the role's name and .../<role> for its credentials, each with the session token). As botocore's
// ContainerMetadataFetcher (2 s, 3 tries) and InstanceMetadataFetcher (1 s, 1 try, 21600 s token TTL)
// do. These are the only requests allowed to the link-local metadata addresses; every other request
// of the agent keeps AddressPolicy's refusal.
import Core

final class AWSMetadataCredentials {
    private let http: HTTPClient
    private let userAgent: String

    init(http: HTTPClient, userAgent: String) {
        self.http = http
        self.userAgent = userAgent
    }

    /// The addresses only this provider may connect to: EC2's IMDS (169.254.169.254, fd00:ec2::254) and
    /// the container endpoints (169.254.170.2, 169.254.170.23, fd00:ec2::23).
    static let metadataAddresses: [[UInt8]] = [
        [169, 254, 169, 254], [169, 254, 170, 2], [169, 254, 170, 23],
        [0xFD, 0, 0x0E, 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54],
        [0xFD, 0, 0x0E, 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23],
    ]

    /// The metadata addresses, and what AddressPolicy allows anyway (loopback, private: an override
    /// endpoint, a sidecar); every other link-local or metadata address stays refused.
    static var connectFilter: ConnectFilter {
        { address in metadataAddresses.contains(address.bytes) ? nil : AddressPolicy.refusal(address: address) }
    }

    /// IMDS session token lifetime asked for (botocore IMDSFetcher._TOKEN_TTL).
    static let imdsTokenTTLSeconds = 21_600
    /// IMDS role names as IAM allows them; an IMDS token as a header value.
    static let maxRoleName = 128
    static let maxIMDSToken = 4096
    static let containerAttempts = 3

    // MARK: container credentials

    /// GET `url` with `Authorization` (the token, or the file's first line), JSON answer
    /// `{"AccessKeyId","SecretAccessKey","Token","Expiration"}`.
    func container(url: String, authorization: ContainerAuthorization?, attempt: Int = 1,
                   done: @escaping (Result<AWSTemporaryCredentials, RegistryError>) -> Void) {
        let what = "container credentials from \(url)"
        var headers = HTTPHeaders()
        headers.set("Accept", "application/json")
        switch authorization {
        case nil: break
        case .token(let t)?:
            guard let value = Self.headerValue(t) else {
                return done(.failure(RegistryError(.invalidInput, registry: url, "AWS_CONTAINER_AUTHORIZATION_TOKEN is not a legal header value (empty, or holds a line break)")))
            }
            Redaction.register(secret: value)
            headers.set("Authorization", value)
        case .tokenFile(let path)?:
            guard let bytes = RegistryCredentialSources.readFile(path, cap: 16 << 10), let value = Self.headerValue(String(decoding: bytes, as: UTF8.self)) else {
                return done(.failure(RegistryError(.authentication, registry: url, "cannot read a token from \(path) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)")))
            }
            Redaction.register(secret: value)
            headers.set("Authorization", value)
        }
        get(url, headers: headers, timeoutMs: 2_000, what: what) { [self] result in
            switch result {
            case .failure(let e) where e.kind == .network && attempt < Self.containerAttempts,
                 .failure(let e) where (e.status ?? 0) >= 500 && attempt < Self.containerAttempts:
                http.reactor.schedule(afterMilliseconds: 1_000) { self.container(url: url, authorization: authorization, attempt: attempt + 1, done: done) }
            case .failure(let e): done(.failure(e))
            case .success(let body): done(Self.parseCredentials(body, what: what, registry: url))
            }
        }
    }

    // MARK: EC2 instance metadata (IMDSv2)

    func instance(endpoint: String, done: @escaping (Result<AWSTemporaryCredentials, RegistryError>) -> Void) {
        var headers = HTTPHeaders()
        headers.set("X-aws-ec2-metadata-token-ttl-seconds", String(Self.imdsTokenTTLSeconds))
        request("PUT", endpoint + "/latest/api/token", headers: headers, timeoutMs: 1_000, what: "the IMDSv2 session token from \(endpoint)") { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let body):
                guard body.count <= Self.maxIMDSToken, let token = Self.headerValue(String(decoding: body, as: UTF8.self)) else {
                    return done(.failure(RegistryError(.registry, registry: endpoint, "the IMDSv2 session token from \(endpoint) is empty, over \(Self.maxIMDSToken) bytes or not a header value")))
                }
                Redaction.register(secret: token)
                var authorized = HTTPHeaders()
                authorized.set("X-aws-ec2-metadata-token", token)
                let list = endpoint + "/latest/meta-data/iam/security-credentials/"
                get(list, headers: authorized, timeoutMs: 1_000, what: "the instance's IAM role from \(endpoint)") { [self] result in
                    switch result {
                    case .failure(let e): done(.failure(e))
                    case .success(let body):
                        let name = String(decoding: body.prefix(1024), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                        guard !name.isEmpty, name.utf8.count <= Self.maxRoleName,
                              name.utf8.allSatisfy({ Self.roleNameBytes.contains($0) || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                            return done(.failure(RegistryError(.registry, registry: endpoint, "the instance metadata at \(endpoint) names no IAM role (is an instance profile attached?)")))
                        }
                        let what = "the credentials of instance role \(name) from \(endpoint)"
                        get(list + name, headers: authorized, timeoutMs: 1_000, what: what) { result in
                            done(result.flatMap { Self.parseCredentials($0, what: what, registry: endpoint) })
                        }
                    }
                }
            }
        }
    }

    /// Characters of an IAM role name besides letters and digits: `+=,.@_-`.
    static let roleNameBytes: Set<UInt8> = Set("+=,.@_-".utf8)

    /// `{"Code":"Success","AccessKeyId","SecretAccessKey","Token","Expiration",...}`: IMDS and the
    /// container endpoint answer the same fields; a `Code` other than Success is IMDS's error form.
    static func parseCredentials(_ body: [UInt8], what: String, registry: String) -> Result<AWSTemporaryCredentials, RegistryError> {
        guard let json = try? JSON.parse(body), case .object = json else {
            return .failure(RegistryError(.registry, registry: registry, "\(what): the answer is not a JSON object"))
        }
        if let code = json["Code"]?.string, code != "Success" {
            let message = json["Message"]?.string.map { UntrustedText.truncated(UntrustedText.terminalSafe($0), maxBytes: 300) } ?? ""
            return .failure(RegistryError(.authentication, registry: registry, "\(what): \(message.isEmpty ? code : message)", code: UntrustedText.truncated(code, maxBytes: 64)))
        }
        let result = AWSTemporaryCredentials.checked(accessKeyID: json["AccessKeyId"]?.string, secret: json["SecretAccessKey"]?.string,
                                                     token: json["Token"]?.string, expiration: json["Expiration"]?.string, what: what)
        switch result {
        case .failure(let e): return .failure(RegistryError(.registry, registry: registry, e.message))
        case .success(let c):
            Redaction.register(secret: c.credentials.secretAccessKey)
            if let t = c.credentials.sessionToken { Redaction.register(secret: t) }
            return .success(c)
        }
    }

    /// A token as a header value: trimmed (a file's final line break too), not empty, one line
    /// (botocore `_validate_auth_token`).
    static func headerValue(_ raw: String) -> String? {
        var v = Substring(raw)
        while let last = v.last, last == "\n" || last == "\r" || last == " " || last == "\t" { v = v.dropLast() }
        while let first = v.first, first == " " || first == "\t" { v = v.dropFirst() }
        guard !v.isEmpty, v.utf8.count <= 16 << 10, !v.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else { return nil }
        return String(v)
    }

    private func get(_ url: String, headers: HTTPHeaders, timeoutMs: Int, what: String, done: @escaping (Result<[UInt8], RegistryError>) -> Void) {
        request("GET", url, headers: headers, timeoutMs: timeoutMs, what: what, done: done)
    }

    /// One bounded request to a metadata endpoint: straight there (never through a proxy), with the
    /// metadata connect filter, its answer capped at `AWSAnswerLimits.metadataBody`.
    private func request(_ method: String, _ url: String, headers: HTTPHeaders, timeoutMs: Int, what: String,
                         done: @escaping (Result<[UInt8], RegistryError>) -> Void) {
        var h = headers
        h.set("User-Agent", userAgent)
        let req = ClientRequest(method: method, url: url, headers: h, body: method == "PUT" ? .bytes([]) : nil,
                                timeouts: ClientTimeouts(connect: timeoutMs, total: timeoutMs * 3),
                                connectFilter: Self.connectFilter, bypassesProxy: true)
        http.fetch(req, maxBodyBytes: AWSAnswerLimits.metadataBody) { result in
            switch result {
            case .failure(let e) where e.kind == .bodyTooLarge:
                done(.failure(RegistryError(.tooLarge, registry: url, "\(what): the answer is over \(AWSAnswerLimits.metadataBody) bytes")))
            case .failure(let e):
                done(.failure(RegistryError(e.kind == .refused ? .refused : .network, registry: url, "\(what) failed: \(e.message)")))
            case .success(let r) where r.status == 200:
                done(.success(r.body))
            case .success(let r):
                let text = UntrustedText.truncated(UntrustedText.terminalSafe(String(decoding: r.body.prefix(300), as: UTF8.self)), maxBytes: 200)
                let kind: RegistryError.Kind = r.status == 401 || r.status == 403 ? .authentication : r.status == 404 ? .notFound : .registry
                done(.failure(RegistryError(kind, registry: url, "\(what): HTTP \(r.status)\(text.isEmpty ? "" : ": " + text)", status: r.status)))
            }
        }
    }
}

/// The credential-answer checks, for the fuzz target: the access key ID and expiry a metadata endpoint's
/// JSON answer (`AWSMetadataCredentials.parseCredentials`) or an ISO 8601 time gives, or nil.
public enum AWSCredentialAnswer {
    public static func metadata(_ body: [UInt8]) -> (accessKeyID: String, expiresAt: Int?)? {
        guard case .success(let c) = AWSMetadataCredentials.parseCredentials(body, what: "fuzz", registry: "fuzz") else { return nil }
        return (c.credentials.accessKeyID, c.expiresAt)
    }

    public static func time(_ text: String) -> Int? { AWSTime.parseISO8601(text) }

    public static let maxAccessKeyID = AWSAnswerLimits.accessKeyID
    public static let expiryRange = AWSAnswerLimits.expiryRange
}
