// The agent's own AWS identity and the endpoints it calls, from the environment as the AWS SDKs read
// them, first found wins (botocore credentials.py `create_credential_resolver`; the Go SDK's
// config.resolveCredentialChain): AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; a web
// identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE: EKS service accounts); ECS container credentials
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI under 169.254.170.2, or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN: ECS tasks, EKS Pod
// Identity); then EC2 instance metadata (IMDSv2) unless AWS_EC2_METADATA_DISABLED=true. And
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_ECR or AWS_ENDPOINT_URL in place of the region's endpoints.
import Core

/// Where the agent's own AWS credentials come from.
enum AWSIdentity: Sendable, Equatable {
    case keys(AWSCredentials)
    /// STS AssumeRoleWithWebIdentity with the token in `tokenFile` (re-read at each login: it rotates).
    case webIdentity(roleArn: String, tokenFile: String, sessionName: String)
    /// The ECS/EKS container credentials endpoint, with the `Authorization` value to send (a token or a
    /// file holding it, read at each fetch: EKS Pod Identity rotates it).
    case container(url: String, authorization: ContainerAuthorization?)
    /// EC2 instance metadata (IMDSv2) at `endpoint` (`http://169.254.169.254` unless overridden).
    /// `fallback`: nothing else was configured, so a failure here means no identity at all.
    case instanceMetadata(endpoint: String, fallback: Bool)

    /// What names the identity in cache keys and logs (never a secret: an access key ID is not one).
    var label: String {
        switch self {
        case .keys(let k): return "keys:\(k.accessKeyID)"
        case .webIdentity(let role, let file, _): return "web-identity:\(role):\(file)"
        case .container(let url, _): return "container:\(url)"
        case .instanceMetadata(let endpoint, _): return "imds:\(endpoint)"
        }
    }
}

enum ContainerAuthorization: Sendable, Equatable {
    case token(String)
    case tokenFile(String)
}

struct AWSEnvironment: Sendable {
    var identity: AWSIdentity
    var region: String
    var stsEndpoint: String
    var ecrEndpoint: String

    /// ECS's container credentials address (botocore ContainerMetadataFetcher.IP_ADDRESS).
    static let containerHost = "169.254.170.2"
    /// Hosts a plain-http AWS_CONTAINER_CREDENTIALS_FULL_URI may name besides loopback addresses
    /// (botocore ContainerMetadataFetcher._ALLOWED_HOSTS: ECS, EKS Pod Identity over IPv4 and IPv6).
    static let containerHTTPHosts = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"]
    /// IMDS's addresses (botocore utils METADATA_BASE_URL and METADATA_BASE_URL_IPv6).
    static let instanceMetadataEndpoint = "http://169.254.169.254"
    static let instanceMetadataEndpointIPv6 = "http://[fd00:ec2::254]"

    static func from(_ env: Environment, region: String) -> Result<AWSEnvironment, ConfigurationError> {
        let identity: AWSIdentity
        switch identityFrom(env) {
        case .failure(let e): return .failure(e)
        case .success(let i): identity = i
        }
        guard isRegionName(region) else {
            return .failure(ConfigurationError(variable: "CR_REGION", message: "\"\(region)\" is not an AWS region name (like eu-west-1)"))
        }
        let shared = env["AWS_ENDPOINT_URL"].map(trimmed)
        return .success(AWSEnvironment(
            identity: identity,
            region: region,
            stsEndpoint: env["AWS_ENDPOINT_URL_STS"].map(trimmed) ?? shared ?? "https://sts.\(region).amazonaws.com",
            ecrEndpoint: env["AWS_ENDPOINT_URL_ECR"].map(trimmed) ?? shared ?? "https://api.ecr.\(region).amazonaws.com"))
    }

    /// The first identity the chain finds.
    static func identityFrom(_ env: Environment) -> Result<AWSIdentity, ConfigurationError> {
        func set(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let key = set("AWS_ACCESS_KEY_ID"), let secret = set("AWS_SECRET_ACCESS_KEY") {
            return .success(.keys(AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: set("AWS_SESSION_TOKEN"))))
        }
        if let role = set("AWS_ROLE_ARN"), let file = set("AWS_WEB_IDENTITY_TOKEN_FILE") {
            return .success(.webIdentity(roleArn: role, tokenFile: file, sessionName: set("AWS_ROLE_SESSION_NAME") ?? "cr-agent"))
        }
        // botocore ContainerProvider: the relative URI wins over the full one; the token file over the token.
        let authorization: ContainerAuthorization? = set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map { .tokenFile($0) }
            ?? set("AWS_CONTAINER_AUTHORIZATION_TOKEN").map { .token($0) }
        if let relative = set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            guard relative.hasPrefix("/"), !relative.contains("@"), relative.utf8.count <= 2048 else {
                return .failure(ConfigurationError(variable: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", message: "must be a path starting with /"))
            }
            return .success(.container(url: "http://\(containerHost)\(relative)", authorization: authorization))
        }
        if let full = set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            if let why = containerURLRefusal(full) {
                return .failure(ConfigurationError(variable: "AWS_CONTAINER_CREDENTIALS_FULL_URI", message: why))
            }
            return .success(.container(url: full, authorization: authorization))
        }
        if set("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" {
            return .failure(ConfigurationError(variable: "AWS_ACCESS_KEY_ID", message:
                "the ecr registry type needs the agent's AWS identity: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI (EC2 instance metadata is off: AWS_EC2_METADATA_DISABLED=true)"))
        }
        var endpoint = instanceMetadataEndpoint
        if let custom = set("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
            guard let scheme = custom.range(of: "://").map({ custom[..<$0.lowerBound].lowercased() }), scheme == "http" || scheme == "https",
                  URLParts.host(custom).map({ !$0.isEmpty }) == true, custom.utf8.count <= 2048 else {
                return .failure(ConfigurationError(variable: "AWS_EC2_METADATA_SERVICE_ENDPOINT", message: "\"\(UntrustedText.truncated(custom, maxBytes: 100))\" is not an http(s) URL"))
            }
            endpoint = trimmed(custom)
        } else if set("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")?.lowercased() == "ipv6" {
            endpoint = instanceMetadataEndpointIPv6
        }
        return .success(.instanceMetadata(endpoint: endpoint, fallback: true))
    }

    /// Why a full container credentials URI is not used: as botocore's `_validate_allowed_url`, https
    /// may name any host, plain http only a loopback address or one of `containerHTTPHosts`.
    static func containerURLRefusal(_ url: String) -> String? {
        guard let r = url.range(of: "://"), url.utf8.count <= 2048, let host = URLParts.host(url), !host.isEmpty else {
            return "\"\(UntrustedText.truncated(url, maxBytes: 100))\" is not an http(s) URL"
        }
        switch url[..<r.lowerBound].lowercased() {
        case "https": return nil
        case "http":
            if containerHTTPHosts.contains(host) || isLoopback(host) { return nil }
            return "plain http is allowed only to a loopback address or \(containerHTTPHosts.joined(separator: ", ")), not \(host); use https"
        default:
            return "\"\(UntrustedText.truncated(url, maxBytes: 100))\" is not an http(s) URL"
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    static func isRegionName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
    }

    private static func trimmed(_ url: String) -> String {
        var u = Substring(url)
        while u.hasSuffix("/") { u = u.dropLast() }
        return String(u)
    }
}
