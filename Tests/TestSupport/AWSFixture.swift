// moto's server with request authentication on (Tests/aws/moto_fixture.py): STS, IAM and ECR on
// 127.0.0.1 that verify every SigV4 signature and IAM policy.
import Foundation

public struct AWSFixture {
    public let dir: URL
    public let info: [String: Any]
    public var endpoint: String { info["endpoint"] as! String }
    public var region: String { info["region"] as! String }
    public var accessKeyID: String { info["access_key_id"] as! String }
    public var secretAccessKey: String { info["secret_access_key"] as! String }
    /// A role allowed ECR's read actions.
    public var roleArn: String { info["role_arn"] as! String }
    /// A role with no ECR permission.
    public var noECRRoleArn: String { info["no_ecr_role_arn"] as! String }
    /// The registry password GetAuthorizationToken hands out for the roles' account.
    public var ecrPassword: String { info["ecr_password"] as! String }

    /// Temporary credentials of the `agent-instance` role, as an EC2 instance profile and an ECS task role
    /// would hand them out: `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`.
    public var instanceCredentials: [String: String] { info["instance_credentials"] as! [String: String] }
    public var containerCredentials: [String: String] { info["container_credentials"] as! [String: String] }

    /// The STS and ECR calls moto answered so far: `action` and the `access_key_id` that signed it.
    public func calls() -> [(action: String, accessKeyID: String?)] {
        guard let text = try? String(contentsOfFile: info["calls"] as! String, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let a = o["action"] as? String else { return nil }
            return (a, o["access_key_id"] as? String)
        }
    }

    /// How many calls of `action` moto answered so far.
    public func count(_ action: String) -> Int { calls().filter { $0.action == action }.count }

    static var script: String { repositoryRoot.appendingPathComponent("Tests/aws/moto_fixture.py").path }

    public static func start() throws -> AWSFixture {
        let dir = try makeTemporaryDirectory("moto")
        let r = try runProcess(projectPython, [script, "start", "--dir", dir.path, "--max-lifetime", "900"], timeout: 90)
        guard r.status == 0 else { throw NSError(domain: "moto", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
        let json = try Data(contentsOf: dir.appendingPathComponent("fixture.json"))
        return AWSFixture(dir: dir, info: try JSONSerialization.jsonObject(with: json) as! [String: Any])
    }

    /// Lets the next `count` requests through unauthenticated (moto's /moto-api/reset-auth); 0 checks
    /// every request again.
    public func allowUnauthenticatedRequests(_ count: Int) throws {
        let r = try runProcess("/usr/bin/curl", ["-fsS", "-X", "POST", "-H", "Content-Type: text/plain", "--data", String(count),
                                                 endpoint + "/moto-api/reset-auth"], timeout: 30)
        guard r.status == 0 else { throw NSError(domain: "moto", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
    }

    public func stop() {
        _ = try? runProcess(projectPython, [Self.script, "stop", "--dir", dir.path], timeout: 30)
        try? FileManager.default.removeItem(at: dir)
    }
}

/// The stand-in for the AWS metadata endpoints (Tests/registry/aws_metadata_standin.py): IMDSv2 and the
/// container credentials endpoint, serving moto's temporary credentials.
public final class AWSMetadataStandIn {
    public let process: BackgroundProcess
    public let dir: URL
    public let url: String
    public let containerToken: String
    public let role = "agent-instance"

    public init(aws: AWSFixture) throws {
        dir = try makeTemporaryDirectory("metadata")
        containerToken = "container-auth-" + UUID().uuidString
        let file = dir.appendingPathComponent("credentials.json")
        let creds: [String: Any] = ["instance": aws.instanceCredentials, "container": aws.containerCredentials,
                                    "role": role, "container_token": containerToken]
        try JSONSerialization.data(withJSONObject: creds).write(to: file)
        (process, url) = try startPythonServer("registry/aws_metadata_standin.py",
                                               ["--dir", dir.path, "--credentials", file.path, "--max-lifetime", "900"])
    }

    /// Every request the stand-in saw: method, path, and whether its token / Authorization was right.
    public func requests() throws -> [[String: Any]] {
        let r = try runProcess("curl", ["-sS", "\(url)/_standin/record"])
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any])["requests"] as! [[String: Any]]
    }

    public func reset() throws { _ = try runProcess("curl", ["-sS", "-X", "POST", "\(url)/_standin/reset"]) }

    /// normal, huge, bad-expiration, far-expiration, no-role, error-code (see the script).
    public func setMode(_ mode: String) throws { _ = try runProcess("curl", ["-sS", "-X", "POST", "--data", mode, "\(url)/_standin/mode"]) }

    public func stop() {
        _ = process.stop()
        try? FileManager.default.removeItem(at: dir)
    }
}
