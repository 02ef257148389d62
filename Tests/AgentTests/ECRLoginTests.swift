// The ecr registry type end to end: `cr-agent fetch` / `scan` with the agent's AWS keys assume a role
// through STS and get a registry login from ECR (moto's server, verifying every SigV4 signature and IAM
// policy), then pull from the reference registry (docker-registry, htpasswd) with that login. ECR's own
// registry endpoint is not on this machine, so CR_BASE points the pull at the local registry, whose
// htpasswd user is the login ECR hands out.
import Foundation
import TestSupport
import XCTest
@testable import AgentKit

final class ECRLoginTests: XCTestCase {
    nonisolated(unsafe) static var aws: AWSFixture?
    nonisolated(unsafe) static var registry: RegistryFixture?

    override class func setUp() {
        super.setUp()
        do {
            let a = try AWSFixture.start()
            aws = a
            registry = try RegistryFixture.start(auth: "htpasswd", htpasswdUser: "AWS:\(a.ecrPassword)", pushing: ["basic"])
        } catch {
            XCTFail("cannot start moto and the registry: \(error)")
        }
    }

    override class func tearDown() {
        aws?.stop()
        registry?.stop()
        super.tearDown()
    }

    var aws: AWSFixture { Self.aws! }
    var registry: RegistryFixture { Self.registry! }

    /// The environment of an agent whose identity is moto's `cr-agent` user, pulling from the local registry.
    func environment(role: String?, secret: String? = nil, extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": "/usr/bin:/bin", "CR_BASE": registry.url, "CR_TYPE": "ecr", "CR_REGION": aws.region,
                   "AWS_ACCESS_KEY_ID": aws.accessKeyID, "AWS_SECRET_ACCESS_KEY": secret ?? aws.secretAccessKey,
                   "AWS_ENDPOINT_URL": aws.endpoint]
        if let role { env["CR_ROLE_ARN"] = role }
        return env.merging(extra) { _, b in b }
    }

    func agent(_ args: [String], _ env: [String: String]) throws -> ProcessResult {
        try runProcess(agentExecutablePath, args, environment: env, timeout: 60)
    }

    func testFetchWithTheLoginOfAnAssumedRole() throws {
        let want = try registry.image("single/app:1.0")
        let r = try agent(["fetch", "--json", "single/app:1.0"], environment(role: aws.roleArn, extra: ["CR_EXTERNAL_ID": "ext-7", "LOG_LEVEL": "debug"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(json["manifestDigest"] as? String, want["digest"] as? String)
        for secret in [aws.secretAccessKey, aws.ecrPassword] {
            XCTAssertFalse(r.stdout.contains(secret) || r.stderr.contains(secret), "a secret reached the output at LOG_LEVEL=debug")
        }
    }

    func testScanWithTheBrokersCredentialsForm() throws {
        let credentials = #"{"type":"ecr","roleArn":"\#(aws.roleArn)","extra":{"region":"\#(aws.region)","externalId":"ext-7"}}"# + "\n"
        var env = environment(role: nil)
        env["CR_TYPE"] = nil
        env["CR_REGION"] = nil
        env["CR_CREDENTIALS"] = Data(credentials.utf8).base64EncodedString()
        let r = try agent(["scan", "single/app:1.0"], env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("base-files"), r.stdout)
    }

    /// Without a role the agent's own identity asks ECR; moto's cr-agent user may only assume roles.
    func testOwnIdentityWithoutECRPermissionIsDenied() throws {
        let r = try agent(["fetch", "single/app:1.0"], environment(role: nil))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("permission denied: ECR GetAuthorizationToken"), r.stderr)
        XCTAssertTrue(r.stderr.contains("[AccessDenied]"), r.stderr)
    }

    func testRoleWithoutECRPermissionIsDenied() throws {
        let r = try agent(["fetch", "single/app:1.0"], environment(role: aws.noECRRoleArn))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("assumed-role/no-ecr"), r.stderr)
        XCTAssertTrue(r.stderr.contains("ecr:GetAuthorizationToken [AccessDenied] (HTTP 403)"), r.stderr)
    }

    func testWrongSecretIsAnAuthenticationFailureThatKeepsAWSsCode() throws {
        let wrong = "wrong-secret-" + aws.secretAccessKey.prefix(8)
        let r = try agent(["fetch", "single/app:1.0"], environment(role: aws.roleArn, secret: wrong))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("authentication failed: STS AssumeRole of \(aws.roleArn)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("[SignatureDoesNotMatch]"), r.stderr)
        XCTAssertFalse(r.stderr.contains(wrong), "the secret is not echoed")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line")
    }

    /// An EKS service account's identity: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, exchanged with STS
    /// AssumeRoleWithWebIdentity (unsigned, as on AWS; moto checks the signature of everything after it).
    func testWebIdentityTokenFile() throws {
        let dir = try makeTemporaryDirectory("web-identity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = "eyJhbGciOiJSUzI1NiJ9.service-account-token-\(UUID().uuidString).sig"
        let file = dir.appendingPathComponent("token")
        try (token + "\n").write(to: file, atomically: true, encoding: .utf8)
        var env = environment(role: nil, extra: ["AWS_ROLE_ARN": aws.roleArn, "AWS_WEB_IDENTITY_TOKEN_FILE": file.path,
                                                 "LOG_LEVEL": "debug"])
        env["AWS_ACCESS_KEY_ID"] = nil
        env["AWS_SECRET_ACCESS_KEY"] = nil
        try aws.allowUnauthenticatedRequests(1)
        defer { try? aws.allowUnauthenticatedRequests(0) }
        let r = try agent(["fetch", "single/app:1.0"], env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.contains(token) || r.stderr.contains(token))

        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir.appendingPathComponent("missing").path
        let missing = try agent(["fetch", "single/app:1.0"], env)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("cannot read the web identity token file"), missing.stderr)
    }

    /// ECR's registry has no /v2/_catalog: `list` asks ECR's API (DescribeRepositories, ListImages), page
    /// by page, signed with the assumed role's credentials.
    func testListThroughECRsAPI() throws {
        let env = environment(role: aws.roleArn)
        let repositories = try agent(["list", "--page-size", "2"], env)
        XCTAssertEqual(repositories.status, 0, repositories.stderr)
        XCTAssertEqual(repositories.stdout.split(separator: "\n").sorted(), ["app/one", "app/two", "base/debian"])
        let tags = try agent(["list", "--page-size", "1", "app/one"], env)
        XCTAssertEqual(tags.status, 0, tags.stderr)
        XCTAssertEqual(tags.stdout.split(separator: "\n").sorted(), ["1.0", "2.0", "latest"])
        let none = try agent(["list", "app/none"], env)
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("not found: ECR ListImages: ") && none.stderr.contains("[RepositoryNotFoundException]"), none.stderr)
        let denied = try agent(["list"], environment(role: aws.noECRRoleArn))
        XCTAssertEqual(denied.status, 1)
        XCTAssertTrue(denied.stderr.contains("ecr:DescribeRepositories [AccessDenied]"), denied.stderr)
    }

    func testMissingSettingsAreConfigurationErrors() throws {
        var env = environment(role: aws.roleArn)
        env["AWS_ACCESS_KEY_ID"] = nil
        var r = try agent(["fetch", "single/app:1.0"], env)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("cr-agent fetch: AWS_ACCESS_KEY_ID: "), r.stderr)
        env = environment(role: aws.roleArn)
        env["CR_REGION"] = nil
        r = try agent(["scan", "single/app:1.0"], env)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("CR_REGION: CR_TYPE=ecr needs the registry's AWS region"), r.stderr)
        env = environment(role: aws.roleArn, extra: ["CR_REGION": "eu-west-1; rm -rf /"])
        r = try agent(["fetch", "single/app:1.0"], env)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("is not an AWS region name"), r.stderr)
    }

    /// Without CR_BASE the ECR login belongs to its proxyEndpoint (moto's `<account>.dkr.ecr.<region>.amazonaws.com`):
    /// an image named on another registry (the local one) is refused it, exit 2, and that registry sees no request.
    func testLoginIsNotSentToAnotherRegistry() throws {
        var env = environment(role: aws.roleArn)
        env["CR_BASE"] = nil
        let log = registry.info["registry_log"] as! String
        let before = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? -1
        let host = registry.info["host"] as! String
        let r = try agent(["fetch", "--plain-http", "\(host)/single/app:1.0"], env)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("the ECR login is for https://") && r.stderr.contains(".dkr.ecr.\(aws.region).amazonaws.com and is not sent to \(host)"), r.stderr)
        XCTAssertFalse(r.stderr.contains(aws.ecrPassword))
        XCTAssertEqual((try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? -2, before, "the registry saw no request")
    }

    // MARK: - the answers' parsers

    func testAuthorizationDataParsing() throws {
        let body = #"{"authorizationData":[{"authorizationToken":"QVdTOnNlY3JldC1wYXNzd29yZA==","expiresAt":1.7E9,"proxyEndpoint":"https://1.dkr.ecr.eu-west-1.amazonaws.com"}]}"#
        let login = try XCTUnwrap(ECRLoginFlow.parseAuthorization(Array(body.utf8)))
        XCTAssertEqual(login.credentials.username, "AWS")
        XCTAssertEqual(login.credentials.password, "secret-password")
        XCTAssertEqual(login.proxyEndpoint, "https://1.dkr.ecr.eu-west-1.amazonaws.com")
        XCTAssertEqual(login.expiresAt, 1_700_000_000)
        for bad in [#"{}"#, #"{"authorizationData":[]}"#, #"{"authorizationData":[{"authorizationToken":"bm9jb2xvbg==","proxyEndpoint":"x"}]}"#,
                    #"{"authorizationData":[{"authorizationToken":"!!","proxyEndpoint":"x"}]}"#, "not json"] {
            XCTAssertNil(ECRLoginFlow.parseAuthorization(Array(bad.utf8)), bad)
        }
    }

    func testAWSErrorAnswers() {
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired &amp; gone</Message></Error></ErrorResponse>"
        var e = AWSCall.error(status: 400, body: Array(xml.utf8), endpoint: "https://sts.x", what: "STS AssumeRole")
        XCTAssertEqual(e.kind, .authentication)
        XCTAssertEqual(e.code, "ExpiredToken")
        XCTAssertEqual(e.message, "STS AssumeRole: The security token included in the request is expired & gone")
        let json = #"{"__type":"com.amazonaws.ecr#RepositoryNotFoundException","message":"no repo"}"#
        e = AWSCall.error(status: 400, body: Array(json.utf8), endpoint: "https://api.ecr.x", what: "ECR ListImages")
        XCTAssertEqual(e.kind, .notFound)
        XCTAssertEqual(e.code, "RepositoryNotFoundException")
        e = AWSCall.error(status: 503, body: Array("Service Unavailable\n".utf8), endpoint: "https://api.ecr.x", what: "ECR")
        XCTAssertEqual(e.kind, .registry)
        XCTAssertEqual(e.message, "ECR: Service Unavailable")
    }

    func testXMLText() {
        let doc = Array(#"<R xmlns="x"><CodeX>no</CodeX><Code a="1">A&lt;B&#65;&#x42;&unknown;</Code><Empty/><N><i>x</i></N></R>"#.utf8)
        XCTAssertEqual(AWSXML.text(of: "Code", in: doc), "A<BAB&unknown;")
        XCTAssertEqual(AWSXML.text(of: "Empty", in: doc), "")
        XCTAssertNil(AWSXML.text(of: "N", in: doc), "markup inside")
        XCTAssertNil(AWSXML.text(of: "Missing", in: doc))
        XCTAssertNil(AWSXML.text(of: "Code", in: Array("<Code>unterminated".utf8)))
    }
}
