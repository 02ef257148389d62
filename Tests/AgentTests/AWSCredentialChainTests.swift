// The agent's own AWS identity beyond its keys: ECS container credentials and EC2 IMDSv2 from the
// metadata stand-in (Tests/registry/aws_metadata_standin.py, serving temporary credentials moto issued),
// used to sign STS AssumeRole at moto (moto logs which access key signed each call); the chain's order; the
// answers' bounds; the metadata addresses reachable by this provider only; and the session cache, whose
// clock the test moves.
@testable import AgentKit
import Core
import Foundation
import Synchronization
import TestSupport
import XCTest

final class AWSCredentialChainTests: XCTestCase {
    nonisolated(unsafe) static var aws: AWSFixture?
    nonisolated(unsafe) static var registry: RegistryFixture?
    nonisolated(unsafe) static var standIn: AWSMetadataStandIn?

    override class func setUp() {
        super.setUp()
        do {
            let a = try AWSFixture.start()
            aws = a
            registry = try RegistryFixture.start(auth: "htpasswd", htpasswdUser: "AWS:\(a.ecrPassword)", pushing: ["basic"])
            standIn = try AWSMetadataStandIn(aws: a)
        } catch {
            XCTFail("cannot start moto, the registry and the metadata stand-in: \(error)")
        }
    }

    override class func tearDown() {
        aws?.stop()
        registry?.stop()
        standIn?.stop()
        super.tearDown()
    }

    override func setUpWithError() throws { try standIn.reset() }

    var aws: AWSFixture { Self.aws! }
    var registry: RegistryFixture { Self.registry! }
    var standIn: AWSMetadataStandIn { Self.standIn! }

    /// An agent with no keys of its own, assuming the ECR role, pulling from the local registry.
    func environment(_ extra: [String: String]) -> [String: String] {
        ["PATH": "/usr/bin:/bin", "CR_BASE": registry.url, "CR_TYPE": "ecr", "CR_REGION": aws.region,
         "CR_ROLE_ARN": aws.roleArn, "AWS_ENDPOINT_URL": aws.endpoint, "LOG_LEVEL": "debug"].merging(extra) { _, b in b }
    }

    func fetch(_ env: [String: String]) throws -> ProcessResult {
        try runProcess(agentExecutablePath, ["fetch", "--json", "single/app:1.0"], environment: env, timeout: 60)
    }

    /// The access key that signed the latest AssumeRole moto answered.
    var lastAssumeRoleKey: String? { aws.calls().last { $0.action == "AssumeRole" }?.accessKeyID }

    func assertNoSecret(_ r: ProcessResult, _ secrets: [String], file: StaticString = #filePath, line: UInt = #line) {
        for s in secrets where !s.isEmpty {
            XCTAssertFalse(r.stdout.contains(s) || r.stderr.contains(s), "a secret reached the output at LOG_LEVEL=debug", file: file, line: line)
        }
    }

    // MARK: IMDSv2

    func testInstanceMetadataV2CredentialsSignTheAssumeRole() throws {
        let r = try fetch(environment(["AWS_EC2_METADATA_SERVICE_ENDPOINT": standIn.url]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let instance = aws.instanceCredentials
        XCTAssertEqual(lastAssumeRoleKey, instance["AccessKeyId"], "AssumeRole was signed with the instance role's key")
        let seen = try standIn.requests()
        XCTAssertEqual(seen.map { "\($0["method"]!) \($0["path"]!)" },
                       ["PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
                        "GET /latest/meta-data/iam/security-credentials/agent-instance"])
        XCTAssertEqual(seen.first?["ttl"] as? String, "21600")
        XCTAssertTrue(seen.dropFirst().allSatisfy { $0["imds_token_valid"] as? Bool == true }, "every GET carried the session token")
        assertNoSecret(r, [instance["SecretAccessKey"]!, instance["Token"]!, aws.ecrPassword])
    }

    /// The stand-in is IMDSv2-only, as the instances it stands for: a GET without the session token is 401.
    func testTheStandInRefusesAGetWithoutToken() throws {
        let r = try runProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(standIn.url)/latest/meta-data/iam/security-credentials/"])
        XCTAssertEqual(r.stdout, "401")
    }

    /// Instance metadata is the chain's last link: when it gives nothing (no instance profile, or
    /// IMDS's error answer), the agent has no identity and says which variables would give it one.
    func testInstanceWithoutCredentialsIsAConfigurationError() throws {
        for (mode, words) in [("no-role", "names no IAM role"), ("error-code", "EC2 cannot assume the role agent-instance")] {
            try standIn.setMode(mode)
            let r = try fetch(environment(["AWS_EC2_METADATA_SERVICE_ENDPOINT": standIn.url]))
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("cr-agent fetch: AWS_ACCESS_KEY_ID: "), r.stderr)
            XCTAssertTrue(r.stderr.contains(words), r.stderr)
        }
        let off = try fetch(environment(["AWS_EC2_METADATA_SERVICE_ENDPOINT": standIn.url, "AWS_EC2_METADATA_DISABLED": "true"]))
        XCTAssertEqual(off.status, 2)
        XCTAssertTrue(off.stderr.contains("AWS_EC2_METADATA_DISABLED=true"), off.stderr)
        XCTAssertEqual(try standIn.requests().filter { ($0["method"] as? String) == "PUT" }.count, 2, "nothing asked once it is off")
    }

    // MARK: container credentials

    func testContainerCredentialsWithTheAuthorizationToken() throws {
        let uri = "\(standIn.url)/v2/credentials/task-1"
        let r = try fetch(environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": standIn.containerToken,
                                       "AWS_EC2_METADATA_SERVICE_ENDPOINT": standIn.url]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let container = aws.containerCredentials
        XCTAssertEqual(lastAssumeRoleKey, container["AccessKeyId"], "the container's credentials, not the instance's")
        let seen = try standIn.requests()
        XCTAssertEqual(seen.count, 1, "instance metadata is not asked when the container answers: \(seen)")
        XCTAssertEqual(seen.first?["authorization_valid"] as? Bool, true)
        assertNoSecret(r, [container["SecretAccessKey"]!, container["Token"]!, standIn.containerToken, aws.ecrPassword])

        // The token from a file (EKS Pod Identity), which wins over the variable.
        let dir = try makeTemporaryDirectory("container-token")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("token")
        try (standIn.containerToken + "\n").write(to: file, atomically: true, encoding: .utf8)
        let fromFile = try fetch(environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "stale",
                                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": file.path]))
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)

        let wrong = "wrong-token-" + UUID().uuidString
        let refused = try fetch(environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": wrong]))
        XCTAssertEqual(refused.status, 1)
        // The URI is masked too: the agent masks every *CREDENTIALS* variable's value (ECS's relative URIs are secret).
        XCTAssertTrue(refused.stderr.contains("authentication failed: container credentials from [REDACTED]: HTTP 401: {\"message\": \"invalid authorization token\"}"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains(wrong), "the token is not echoed")
        XCTAssertEqual(try standIn.requests().count, 2 + 1, "a 401 is not retried")
    }

    func testPlainHTTPContainerURIOnlyToLoopbackOrAWSsHosts() throws {
        let r = try fetch(environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://credentials.example.com/v2/x"]))
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is allowed only to a loopback address"), r.stderr)
        XCTAssertNil(AWSEnvironment.containerURLRefusal("https://credentials.example.com/v2/x"))
        XCTAssertNil(AWSEnvironment.containerURLRefusal("http://169.254.170.23/v1/credentials"))
        XCTAssertNil(AWSEnvironment.containerURLRefusal("http://[fd00:ec2::23]/v1/credentials"))
        XCTAssertNil(AWSEnvironment.containerURLRefusal("http://127.0.0.1:9/x"))
        XCTAssertNotNil(AWSEnvironment.containerURLRefusal("http://169.254.169.254/latest/meta-data/"))
        XCTAssertNotNil(AWSEnvironment.containerURLRefusal("file:///etc/passwd"))
    }

    /// Oversized answers, expirations that are not times, and times past the year 9999 are refused
    /// with a message naming them; nothing is used.
    func testMetadataAnswersAreBounded() throws {
        let uri = "\(standIn.url)/v2/credentials/task-1"
        for (mode, words) in [("huge", "the answer is over 65536 bytes"),
                              ("bad-expiration", "Expiration \"tomorrow at noon\" is not an ISO 8601 time"),
                              ("far-expiration", "Expiration \"99999-01-01T00:00:00Z\" is not an ISO 8601 time")] {
            try standIn.setMode(mode)
            let r = try fetch(environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": standIn.containerToken]))
            XCTAssertEqual(r.status, 1, mode)
            XCTAssertTrue(r.stderr.contains(words), "\(mode): \(r.stderr)")
        }
    }

    // MARK: the chain, the addresses

    func testChainOrder() throws {
        func identity(_ env: [String: String]) -> AWSIdentity? { try? AWSEnvironment.identityFrom(Environment(env)).get() }
        let all = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ROLE_ARN": "arn:r", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t",
                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/c",
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN": "tok", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/f"]
        XCTAssertEqual(identity(all), .keys(AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s", sessionToken: nil)))
        var env = all
        env["AWS_SECRET_ACCESS_KEY"] = nil
        XCTAssertEqual(identity(env), .webIdentity(roleArn: "arn:r", tokenFile: "/t", sessionName: "cr-agent"))
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = nil
        XCTAssertEqual(identity(env), .container(url: "http://169.254.170.2/v2/credentials/x", authorization: .tokenFile("/f")))
        env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = nil
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = nil
        XCTAssertEqual(identity(env), .container(url: "http://127.0.0.1:1/c", authorization: .token("tok")))
        XCTAssertEqual(identity([:]), .instanceMetadata(endpoint: "http://169.254.169.254", fallback: true))
        XCTAssertEqual(identity(["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"]), .instanceMetadata(endpoint: "http://[fd00:ec2::254]", fallback: true))
        XCTAssertEqual(identity(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9/"]), .instanceMetadata(endpoint: "http://127.0.0.1:9", fallback: true))
        XCTAssertNil(identity(["AWS_EC2_METADATA_DISABLED": "true"]))
        XCTAssertNil(identity(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "169.254.169.254"]))
        XCTAssertNil(identity(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "@evil.example/x"]))
    }

    /// Only the metadata provider connects to the metadata addresses; registry, token, STS and ECR
    /// requests keep refusing them.
    func testOnlyTheMetadataProviderReachesTheMetadataAddresses() throws {
        for (bytes, family) in [([169, 254, 169, 254] as [UInt8], AF_INET), ([169, 254, 170, 2], AF_INET), ([169, 254, 170, 23], AF_INET),
                                ([0xFD, 0, 0x0E, 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54], AF_INET6)] {
            let a = ConnectAddress(family: family, bytes: bytes, port: 80)
            XCTAssertNil(AWSMetadataCredentials.connectFilter(a), a.description)
            XCTAssertNotNil(AddressPolicy.connectFilter(a), a.description)
        }
        let other = ConnectAddress(family: AF_INET, bytes: [169, 254, 1, 1], port: 80)
        XCTAssertNotNil(AWSMetadataCredentials.connectFilter(other), "other link-local addresses stay refused")
        XCTAssertNotNil(RegistryClient.refusal(url: "http://169.254.169.254/v2/", allowedHosts: nil))

        var env = environment(["AWS_ENDPOINT_URL_STS": "http://169.254.169.254", "AWS_ACCESS_KEY_ID": aws.accessKeyID,
                               "AWS_SECRET_ACCESS_KEY": aws.secretAccessKey])
        env["LOG_LEVEL"] = nil
        let r = try fetch(env)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("refused: STS AssumeRole of \(aws.roleArn): http://169.254.169.254 is a link-local / cloud metadata address"), r.stderr)
    }

    // MARK: the session cache

    /// A clock the test moves (seconds since 1970).
    final class Clock: Sendable {
        let seconds: Atomic<Int>
        init(_ t: Int) { seconds = Atomic(t) }
        func set(_ t: Int) { seconds.store(t, ordering: .relaxed) }
        var now: @Sendable () -> Int { { [self] in seconds.load(ordering: .relaxed) } }
    }

    /// Runs the ecr type's login (`login`) or repository listing in this process, with `cache`.
    func exchange(_ cache: AWSSessionCache, secret: String? = nil, listing: Bool = false, registryBase: String? = nil,
                  configuredBase: String? = "", target: String? = nil, identity: [String: String]? = nil,
                  role: String?? = .none) throws -> Result<String, RegistryAccessFailure> {
        let env = Core.Environment((identity ?? ["AWS_ACCESS_KEY_ID": aws.accessKeyID, "AWS_SECRET_ACCESS_KEY": secret ?? aws.secretAccessKey])
            .merging(["AWS_ENDPOINT_URL": aws.endpoint]) { a, _ in a })
        let type = ECRType(cache: cache)
        let access = RegistryAccess(type: type, source: .awsRole(ECRRole(roleArn: role ?? aws.roleArn, region: aws.region, externalID: "ext-7",
                                                                         registryBase: registryBase)),
                                    configuredBase: configuredBase == "" ? registry.url : configuredBase)
        var outcome: Result<String, RegistryAccessFailure>?
        try runOnReactor(seconds: 60) { reactor, finish in
            let session = AgentKit.RegistrySession(reactor: reactor, environment: env, logger: Logger(level: .error, component: "test"))
            if listing {
                type.listing(access, base: nil, pageSize: 100, session: session) { result in
                    switch result {
                    case .failure(let f): outcome = .failure(f); finish()
                    case .success(let l):
                        var names: [String] = []
                        l.repositories({ names += $0 }) { r in
                            outcome = r.map { _ in names.sorted().joined(separator: ",") }.mapError { .registry($0) }
                            finish()
                        }
                    }
                }
            } else {
                type.registryCredentials(access, registry: try RegistryBase(parsing: target ?? registry.url), session: session) { result in
                    outcome = result.map { $0.password ?? "" }
                    finish()
                }
            }
        }
        return try XCTUnwrap(outcome)
    }

    /// One STS session and one ECR login serve two logins and a listing; a session is renewed once the
    /// clock is within 5 minutes of its expiry, a login likewise (with a fresh session, the old one
    /// being past its hour); a failed renewal keeps the old login while it has over a minute left, then fails.
    func testSessionAndLoginAreCachedAndRenewedBeforeExpiry() throws {
        let start = Int(Date().timeIntervalSince1970)
        let clock = Clock(start)
        let cache = AWSSessionCache(now: clock.now)
        var assumed = aws.count("AssumeRole"), logins = aws.count("GetAuthorizationToken")
        func delta() -> (Int, Int) {
            let now = (aws.count("AssumeRole"), aws.count("GetAuthorizationToken"))
            defer { (assumed, logins) = now }
            return (now.0 - assumed, now.1 - logins)
        }

        XCTAssertEqual(try exchange(cache).get(), aws.ecrPassword)
        XCTAssertEqual(try exchange(cache).get(), aws.ecrPassword)
        XCTAssertEqual(try exchange(cache, listing: true).get(), "app/one,app/two,base/debian")
        XCTAssert(delta() == (1, 1), "one STS call and one ECR login for two logins and a listing")
        XCTAssertEqual(cache.stats.hits, 2)

        clock.set(start + 3600 - 200)             // the session (an hour) is due for renewal, the login (12 h) is not
        XCTAssertEqual(try exchange(cache).get(), aws.ecrPassword)
        XCTAssert(delta() == (0, 0), "the login is still fresh")
        XCTAssertNotNil(try exchange(cache, listing: true).success)
        XCTAssert(delta() == (1, 0), "the listing renewed the session")

        clock.set(start + 43_200 - 100)           // the login is due; the session is long past
        XCTAssertEqual(try exchange(cache).get(), aws.ecrPassword)
        XCTAssert(delta() == (1, 1))

        // Renewal fails (a wrong secret: STS refuses) while the old login has 100 s left: it is kept.
        XCTAssertEqual(try exchange(cache, secret: "wrong-" + aws.secretAccessKey.prefix(6)).get(), aws.ecrPassword)
        XCTAssertEqual(cache.stats.keptAfterFailedRenewal, 1)
        clock.set(start + 43_200 - 30)            // under a minute left: no longer used
        let failed = try exchange(cache, secret: "wrong-" + aws.secretAccessKey.prefix(6))
        XCTAssertTrue(failed.failure?.description.contains("SignatureDoesNotMatch") ?? false, "\(failed)")
        XCTAssertEqual(cache.stats.keptAfterFailedRenewal, 1)
    }

    /// A web identity's STS session is the agent's own identity, kept like the others: a login and a
    /// listing (ECR's API signed with it, no role) make one AssumeRoleWithWebIdentity call.
    func testWebIdentitySessionIsKept() throws {
        let dir = try makeTemporaryDirectory("web-identity-cache")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("token")
        try "eyJhbGciOiJSUzI1NiJ9.cache-test.sig\n".write(to: file, atomically: true, encoding: .utf8)
        let identity = ["AWS_ROLE_ARN": aws.roleArn, "AWS_WEB_IDENTITY_TOKEN_FILE": file.path]
        let cache = AWSSessionCache()
        let before = (aws.count("AssumeRoleWithWebIdentity"), aws.count("GetAuthorizationToken"), aws.count("DescribeRepositories"))
        try aws.allowUnauthenticatedRequests(1)          // AssumeRoleWithWebIdentity is unsigned, as on AWS
        defer { try? aws.allowUnauthenticatedRequests(0) }
        XCTAssertEqual(try exchange(cache, identity: identity, role: .some(nil)).get(), aws.ecrPassword)
        XCTAssertEqual(try exchange(cache, listing: true, identity: identity, role: .some(nil)).get(), "app/one,app/two,base/debian")
        XCTAssertEqual(aws.count("AssumeRoleWithWebIdentity") - before.0, 1)
        XCTAssertEqual(aws.count("GetAuthorizationToken") - before.1, 1)
        XCTAssertEqual(aws.count("DescribeRepositories") - before.2, 1)
        XCTAssertEqual(cache.stats.identityFetches, 1)
    }

    /// Three logins asked for at once on one reactor share one exchange: one STS call, one ECR login.
    func testConcurrentLoginsShareOneExchange() throws {
        let cache = AWSSessionCache()
        let before = (aws.count("AssumeRole"), aws.count("GetAuthorizationToken"))
        let env = Core.Environment(["AWS_ACCESS_KEY_ID": aws.accessKeyID, "AWS_SECRET_ACCESS_KEY": aws.secretAccessKey, "AWS_ENDPOINT_URL": aws.endpoint])
        let type = ECRType(cache: cache)
        let access = RegistryAccess(type: type, source: .awsRole(ECRRole(roleArn: aws.roleArn, region: aws.region, externalID: "ext-8")),
                                    configuredBase: registry.url)
        var passwords: [String] = []
        try runOnReactor(seconds: 60) { reactor, finish in
            let session = AgentKit.RegistrySession(reactor: reactor, environment: env, logger: Logger(level: .error, component: "test"))
            for _ in 0..<3 {
                type.registryCredentials(access, registry: try RegistryBase(parsing: registry.url), session: session) { result in
                    passwords.append((try? result.get().password ?? "") ?? "failed: \(result)")
                    if passwords.count == 3 { finish() }
                }
            }
        }
        XCTAssertEqual(passwords, Array(repeating: aws.ecrPassword, count: 3))
        XCTAssertEqual(aws.count("AssumeRole") - before.0, 1)
        XCTAssertEqual(aws.count("GetAuthorizationToken") - before.1, 1)
        XCTAssertEqual(cache.stats.joined, 2)
    }

    /// The login goes to the credentials' registryBase, else CR_BASE, else its proxyEndpoint; never to
    /// another registry.
    func testTheLoginGoesToItsRegistryOnly() throws {
        let cache = AWSSessionCache()
        XCTAssertEqual(try exchange(cache, registryBase: registry.url, configuredBase: nil).get(), aws.ecrPassword)
        let elsewhere = try exchange(cache, registryBase: registry.url, configuredBase: nil, target: "http://127.0.0.1:1")
        XCTAssertTrue(elsewhere.failure?.description.contains("is not sent to 127.0.0.1:1") ?? false, "\(elsewhere)")
        let crBase = try exchange(cache, target: "http://127.0.0.1:1")
        XCTAssertTrue(crBase.failure?.description.contains("is not sent to 127.0.0.1:1") ?? false, "CR_BASE binds the login too: \(crBase)")
        let proxy = try exchange(cache, configuredBase: nil)
        XCTAssertTrue(proxy.failure?.description.contains(".dkr.ecr.\(aws.region).amazonaws.com and is not sent to") ?? false, "\(proxy)")
        XCTAssertEqual(cache.stats.ecrLogins, 1, "one login served all four")

        let json = #"{"type":"ecr","roleArn":"r","extra":{"region":"eu-west-1"},"registryBase":"https://mirror.example.com"}"#
        let given = try BrokerCredentials.parse(Data(json.utf8).base64EncodedString()).get()
        guard case .awsRole(let role) = try ECRType().source(fromBroker: given).get() else { return XCTFail("not a role") }
        XCTAssertEqual(role.registryBase, "https://mirror.example.com")
    }

    func testISO8601Times() {
        XCTAssertEqual(AWSTime.parseISO8601("2015-08-30T12:36:00Z"), 1_440_938_160)
        XCTAssertEqual(AWSTime.parseISO8601("2015-08-30T12:36:00.359Z"), 1_440_938_160)
        XCTAssertEqual(AWSTime.parseISO8601("2015-08-30T14:36:00+02:00"), 1_440_938_160)
        for bad in ["", "2015-08-30", "2015-13-30T12:36:00Z", "2015-08-30T25:00:00Z", "2015-08-30T12:36:00", "99999-01-01T00:00:00Z",
                    "1969-12-31T23:59:59Z", "2015-08-30T12:36:00Zjunk", "2015-08-30T12:36:00.Z"] {
            XCTAssertNil(AWSTime.parseISO8601(bad), bad)
        }
    }
}
