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
