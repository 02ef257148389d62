// The ecr registry type's login: the agent's identity (its keys, or its web identity's role) assumes the
// customer's role with STS (AssumeRole, with the external ID when one is given), and the temporary
// credentials ask ECR for a registry login (GetAuthorizationToken: base64 of `AWS:<password>`, valid
// 12 hours).
import Core

/// Registry credentials from ECR, and the registry they are for.
struct ECRLogin: Sendable {
    var credentials: RegistryCredentials
    /// `https://<account>.dkr.ecr.<region>.amazonaws.com`
    var proxyEndpoint: String
    /// Seconds since 1970.
    var expiresAt: Int
}

/// What the broker's CR_CREDENTIALS (type `ecr`) or CR_ROLE_ARN / CR_REGION / CR_EXTERNAL_ID ask for.
struct ECRRole: Sendable, Equatable {
    var roleArn: String?
    var region: String
    var externalID: String?
    /// The registry the login goes to when the credentials name one (`registryBase`: a pull-through
    /// cache, a VPC endpoint); else the login's own proxyEndpoint.
    var registryBase: String? = nil
}

final class ECRLoginFlow {
    private let call: AWSCall
    private let aws: AWSEnvironment
    private let role: ECRRole
    private let sessionName: String
    private let cache: AWSSessionCache
    private let metadata: AWSMetadataCredentials
    private let logger: Logger?

    init(call: AWSCall, aws: AWSEnvironment, role: ECRRole, metadata: AWSMetadataCredentials, cache: AWSSessionCache = .shared,
         logger: Logger? = nil, sessionName: String = "cr-agent") {
        self.call = call
        self.aws = aws
        self.role = role
        self.metadata = metadata
        self.cache = cache
        self.logger = logger
        self.sessionName = sessionName
    }

    /// What a role session and a login are cached by: the identity asking, the role, its external ID,
    /// the region and the endpoints (none of it secret).
    private var roleKey: String {
        [aws.identity.label, role.roleArn ?? "-", role.externalID ?? "-", aws.region].joined(separator: "|")
    }

    /// The registry login, from the cache while it is fresh.
    func start(done: @escaping (Result<ECRLogin, RegistryError>) -> Void) {
        cache.obtain(.ecrLogin, key: roleKey + "|" + aws.ecrEndpoint, reactor: call.reactor, logger: logger, fetch: { [self] finished in
            ecrCredentials { [self] result in
                switch result {
                case .failure(let e): finished(.failure(e))
                case .success(let credentials):
                    authorizationToken(with: credentials) { finished($0.map { (.login($0), $0.expiresAt > 0 ? $0.expiresAt : nil) }) }
                }
            }
        }, done: { result in
            done(result.map { if case .login(let l) = $0 { return l }; preconditionFailure("a login entry holds a login") })
        })
    }

    /// The credentials ECR calls are signed with: the assumed role's (cached per role), or the agent's
    /// own without a role.
    func ecrCredentials(done: @escaping (Result<AWSCredentials, RegistryError>) -> Void) {
        guard let roleArn = role.roleArn else { return ownCredentials(done: done) }
        cache.obtain(.roleSession, key: roleKey + "|" + aws.stsEndpoint, reactor: call.reactor, logger: logger, fetch: { [self] finished in
            ownCredentials { [self] result in
                switch result {
                case .failure(let e): finished(.failure(e))
                case .success(let own):
                    assumeRole(roleArn, with: own) { finished($0.map { (.credentials($0.credentials), $0.expiresAt) }) }
                }
            }
        }, done: { done($0.map(Self.credentials)) })
    }

    /// The agent's own credentials, through the chain (AWSEnvironment): its keys as they are; the
    /// temporary ones of its web identity, container or instance role from the cache while fresh.
    func ownCredentials(done: @escaping (Result<AWSCredentials, RegistryError>) -> Void) {
        let fetch: (@escaping (Result<AWSTemporaryCredentials, RegistryError>) -> Void) -> Void
        switch aws.identity {
        case .keys(let keys):
            return done(.success(keys))
        case .webIdentity(let roleArn, let tokenFile, let sessionName):
            fetch = { [self] finished in
                guard let bytes = RegistryCredentialSources.readFile(tokenFile, cap: 64 << 10), !bytes.isEmpty else {
                    return finished(.failure(RegistryError(.authentication, registry: aws.stsEndpoint,
                                                           "cannot read the web identity token file \(tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE)")))
                }
                let token = String(decoding: bytes, as: UTF8.self).trimmed(" \t\r").split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                Redaction.register(secret: token)
                stsCredentials(action: "AssumeRoleWithWebIdentity", roleArn: roleArn, sessionName: sessionName,
                               extra: [("WebIdentityToken", token)], signedWith: nil, done: finished)
            }
        case .container(let url, let authorization):
            fetch = { [metadata] finished in metadata.container(url: url, authorization: authorization, done: finished) }
        case .instanceMetadata(let endpoint, let fallback):
            fetch = { [metadata] finished in
                metadata.instance(endpoint: endpoint) { result in
                    guard fallback, case .failure(let e) = result else { return finished(result) }
                    // Nothing else was configured and instance metadata gave no credentials (not on EC2,
                    // or no instance profile): the chain ends empty, as botocore's does, and the operator
                    // has to name an identity.
                    finished(.failure(RegistryError(.invalidInput, registry: endpoint, Self.noIdentity(e.message), code: Self.noIdentityCode)))
                }
            }
        }
        cache.obtain(.identity, key: aws.identity.label + "|" + aws.stsEndpoint, reactor: call.reactor, logger: logger, fetch: { finished in
            fetch { finished($0.map { (.credentials($0.credentials), $0.expiresAt) }) }
        }, done: { done($0.map(Self.credentials)) })
    }

    /// The code of the error of a chain that found nothing: the caller makes it a configuration error
    /// naming AWS_ACCESS_KEY_ID.
    static let noIdentityCode = "NoAWSIdentity"

    /// The message of a chain that found nothing.
    static func noIdentity(_ detail: String) -> String {
        "the ecr registry type needs the agent's AWS identity and found none: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI; EC2 instance metadata gave none (\(detail))"
    }

    private static func credentials(_ value: AWSSessionCache.Value) -> AWSCredentials {
        if case .credentials(let c) = value { return c }
        preconditionFailure("a credentials entry holds credentials")
    }

    /// STS AssumeRole of `roleArn`, signed with `credentials`.
    func assumeRole(_ roleArn: String, with credentials: AWSCredentials, done: @escaping (Result<AWSTemporaryCredentials, RegistryError>) -> Void) {
        stsCredentials(action: "AssumeRole", roleArn: roleArn, sessionName: sessionName,
                       extra: role.externalID.map { [("ExternalId", $0)] } ?? [], signedWith: credentials, done: done)
    }

    /// An STS action that hands out temporary credentials (Query protocol: a form-encoded POST, XML answer
    /// `<Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/><Expiration/></Credentials>`).
    private func stsCredentials(action: String, roleArn: String, sessionName: String, extra: [(String, String)],
                                signedWith credentials: AWSCredentials?, done: @escaping (Result<AWSTemporaryCredentials, RegistryError>) -> Void) {
        let form = [("Action", action), ("Version", "2011-06-15"), ("RoleArn", roleArn), ("RoleSessionName", sessionName)] + extra
        let body = Array(form.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }.joined(separator: "&").utf8)
        let what = "STS \(action) of \(roleArn)"
        call.post(service: "sts", endpoint: aws.stsEndpoint, headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                  body: body, credentials: credentials, what: what) { [aws] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let xml):
                let checked = AWSTemporaryCredentials.checked(
                    accessKeyID: AWSXML.text(of: "AccessKeyId", in: xml), secret: AWSXML.text(of: "SecretAccessKey", in: xml),
                    token: AWSXML.text(of: "SessionToken", in: xml), expiration: AWSXML.text(of: "Expiration", in: xml), what: what)
                switch checked {
                case .failure(let e):
                    done(.failure(RegistryError(.registry, registry: aws.stsEndpoint, e.message.hasSuffix("has no AccessKeyId and SecretAccessKey") ? "\(what): the answer has no Credentials" : e.message)))
                case .success(let c):
                    for s in [c.credentials.secretAccessKey, c.credentials.sessionToken].compactMap({ $0 }) { Redaction.register(secret: s) }
                    done(.success(c))
                }
            }
        }
    }

    /// ECR GetAuthorizationToken (JSON 1.1 protocol).
    func authorizationToken(with credentials: AWSCredentials, done: @escaping (Result<ECRLogin, RegistryError>) -> Void) {
        let what = "ECR GetAuthorizationToken"
        call.post(service: "ecr", endpoint: aws.ecrEndpoint,
                  headers: [("Content-Type", "application/x-amz-json-1.1"),
                            ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken")],
                  body: Array("{}".utf8), credentials: credentials, what: what) { [aws] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let body):
                let login: ECRLogin
                switch Self.parseAuthorizationChecked(body) {
                case .success(let l): login = l
                case .failure(let e): return done(.failure(RegistryError(.registry, registry: aws.ecrEndpoint, "\(what): \(e.message)")))
                }
                Redaction.register(secret: login.credentials.password ?? "")
                done(.success(login))
            }
        }
    }

    /// `{"authorizationData":[{"authorizationToken":"<base64 AWS:password>","proxyEndpoint":"https://..","expiresAt":<seconds>}]}`
    static func parseAuthorization(_ body: [UInt8]) -> ECRLogin? { try? parseAuthorizationChecked(body).get() }

    /// Seconds since 1970 an `expiresAt` may name (up to the year 9999).
    static let expiresAtRange = 0...253_402_300_799

    /// The same, with what is wrong when it is not usable.
    static func parseAuthorizationChecked(_ body: [UInt8]) -> Result<ECRLogin, AuthorizationDataError> {
        guard let json = try? JSON.parse(body), let first = json["authorizationData"]?.array?.first,
              let token = first["authorizationToken"]?.string, let decoded = Base64.decode(token),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")), let endpoint = first["proxyEndpoint"]?.string else {
            return .failure(AuthorizationDataError(message: "the answer has no usable authorizationData"))
        }
        let user = String(decoding: decoded[..<colon], as: UTF8.self), password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        guard !user.isEmpty, !password.isEmpty else { return .failure(AuthorizationDataError(message: "the answer has no usable authorizationData")) }
        var expires = 0
        switch first["expiresAt"] {
        case nil, .null?: break
        case .int(let i)? where expiresAtRange.contains(i): expires = i
        case .double(let d)? where d.isFinite && d >= 0 && d <= Double(expiresAtRange.upperBound): expires = Int(d)
        case let other?:
            return .failure(AuthorizationDataError(message: "authorizationData.expiresAt \(String(other.serialized.prefix(40))) is outside \(expiresAtRange.lowerBound)...\(expiresAtRange.upperBound) seconds since 1970"))
        }
        return .success(ECRLogin(credentials: RegistryCredentials(username: user, password: password), proxyEndpoint: endpoint, expiresAt: expires))
    }

    struct AuthorizationDataError: Error { let message: String }
}
