// The agent's own AWS identity and the endpoints it calls, from the environment as the AWS SDKs read
// them: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else a web identity
// (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE: EKS service accounts); and AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL_ECR or AWS_ENDPOINT_URL in place of the public endpoints of the region.
import Core

/// Where the agent's own AWS credentials come from.
enum AWSIdentity: Sendable {
    case keys(AWSCredentials)
    /// STS AssumeRoleWithWebIdentity with the token in `tokenFile` (re-read at each login: it rotates).
    case webIdentity(roleArn: String, tokenFile: String, sessionName: String)
}

struct AWSEnvironment: Sendable {
    var identity: AWSIdentity
    var region: String
    var stsEndpoint: String
    var ecrEndpoint: String

    static func from(_ env: Environment, region: String) -> Result<AWSEnvironment, ConfigurationError> {
        let identity: AWSIdentity
        if let key = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"] {
            identity = .keys(AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"]))
        } else if let role = env["AWS_ROLE_ARN"], let file = env["AWS_WEB_IDENTITY_TOKEN_FILE"] {
            identity = .webIdentity(roleArn: role, tokenFile: file, sessionName: env["AWS_ROLE_SESSION_NAME"] ?? "cr-agent")
        } else {
            return .failure(ConfigurationError(variable: "AWS_ACCESS_KEY_ID",
                message: "the ecr registry type needs the agent's AWS identity: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"))
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

    static func isRegionName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
    }

    private static func trimmed(_ url: String) -> String {
        var u = Substring(url)
        while u.hasSuffix("/") { u = u.dropLast() }
        return String(u)
    }
}
