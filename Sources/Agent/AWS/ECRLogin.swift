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
}

final class ECRLoginFlow {
    private let call: AWSCall
    private let aws: AWSEnvironment
    private let role: ECRRole
    private let sessionName: String

    init(call: AWSCall, aws: AWSEnvironment, role: ECRRole, sessionName: String = "cr-agent") {
        self.call = call
        self.aws = aws
        self.role = role
        self.sessionName = sessionName
    }

    func start(done: @escaping (Result<ECRLogin, RegistryError>) -> Void) {
        ecrCredentials { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let credentials): authorizationToken(with: credentials, done: done)
            }
        }
    }

    /// The credentials ECR calls are signed with: the assumed role's, or the agent's own without a role.
    func ecrCredentials(done: @escaping (Result<AWSCredentials, RegistryError>) -> Void) {
        ownCredentials { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let own):
                guard let roleArn = role.roleArn else { return done(.success(own)) }
                assumeRole(roleArn, with: own, done: done)
            }
        }
    }

    /// The agent's own credentials: its keys, or those of its web identity's role.
    func ownCredentials(done: @escaping (Result<AWSCredentials, RegistryError>) -> Void) {
        switch aws.identity {
        case .keys(let keys):
            done(.success(keys))
        case .webIdentity(let roleArn, let tokenFile, let sessionName):
            guard let bytes = RegistryCredentialSources.readFile(tokenFile, cap: 64 << 10), !bytes.isEmpty else {
                return done(.failure(RegistryError(.authentication, registry: aws.stsEndpoint,
                                                   "cannot read the web identity token file \(tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE)")))
            }
            let token = String(decoding: bytes, as: UTF8.self).trimmingCharactersSpace().split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            Redaction.register(secret: token)
            stsCredentials(action: "AssumeRoleWithWebIdentity", roleArn: roleArn, sessionName: sessionName,
                           extra: [("WebIdentityToken", token)], signedWith: nil, done: done)
        }
    }

    /// STS AssumeRole of `roleArn`, signed with `credentials`.
    func assumeRole(_ roleArn: String, with credentials: AWSCredentials, done: @escaping (Result<AWSCredentials, RegistryError>) -> Void) {
        stsCredentials(action: "AssumeRole", roleArn: roleArn, sessionName: sessionName,
                       extra: role.externalID.map { [("ExternalId", $0)] } ?? [], signedWith: credentials, done: done)
    }

    /// An STS action that hands out temporary credentials (Query protocol: a form-encoded POST, XML answer).
    private func stsCredentials(action: String, roleArn: String, sessionName: String, extra: [(String, String)],
                                signedWith credentials: AWSCredentials?, done: @escaping (Result<AWSCredentials, RegistryError>) -> Void) {
        let form = [("Action", action), ("Version", "2011-06-15"), ("RoleArn", roleArn), ("RoleSessionName", sessionName)] + extra
        let body = Array(form.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&").utf8)
        let what = "STS \(action) of \(roleArn)"
        call.post(service: "sts", endpoint: aws.stsEndpoint, headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                  body: body, credentials: credentials, what: what) { [aws] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let xml):
                guard let key = AWSXML.text(of: "AccessKeyId", in: xml), let secret = AWSXML.text(of: "SecretAccessKey", in: xml),
                      !key.isEmpty, !secret.isEmpty else {
                    return done(.failure(RegistryError(.registry, registry: aws.stsEndpoint, "\(what): the answer has no Credentials")))
                }
                let token = AWSXML.text(of: "SessionToken", in: xml)
                for s in [secret, token].compactMap({ $0 }) { Redaction.register(secret: s) }
                done(.success(AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)))
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
