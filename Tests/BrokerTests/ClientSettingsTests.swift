// BrokerClientSettings.fromEnvironment: the documented variables, their defaults, and one error naming
// every missing or contradictory variable per CR_TYPE.
import XCTest
import Foundation
import Core
@testable import BrokerKit

final class ClientSettingsTests: XCTestCase {
    static let base = ["BROKER_TOKEN": "tok-123", "BROKER_CLIENT_URL": "http://broker-client:7341", "CR_AGENT_URL": "http://cr-agent:17500"]

    func settings(_ extra: [String: String]) -> Result<BrokerClientSettings, BrokerClientSettingsError> {
        BrokerClientSettings.fromEnvironment(Self.base.merging(extra) { $1 })
    }

    func problems(_ env: [String: String], _ file: StaticString = #filePath, _ line: UInt = #line) -> [String] {
        switch BrokerClientSettings.fromEnvironment(env) {
        case .success: XCTFail("accepted \(env)", file: file, line: line); return []
        case .failure(let e): return e.problems
        }
    }

    /// A caller's placeholders are filled from the client's environment, but never with a secret: the
    /// credentials and the token would otherwise go wherever the matching rule's origin is.
    func testACallersPlaceholdersAreNeverFilledWithASecret() throws {
        let s = try settings(["CR_TYPE": "harbor-cr", "CR_USERNAME": "robot", "CR_PASSWORD": "pw-secret", "CR_BASE": "harbor.example.com",
                              "SNYK_CALLBACK": "https://api.snyk.io/v2/import/done", "HTTPS_PROXY": "http://pu:proxy-secret@proxy:3128"]).get()
        let body = #"{"a":"${CR_PASSWORD}","b":"${CR_CREDENTIALS}","c":"${BROKER_TOKEN}","d":"${SNYK_CALLBACK}","e":"${HTTPS_PROXY}","BROKER_VAR_SUB":["a","b","c","d","e"]}"#
        let request = FilterRequest(method: "POST", url: "/scan",
                                    headers: ["x-broker-var-sub": "x-a, x-b, x-c", "x-a": "${CR_PASSWORD}", "x-b": "Basic ${CR_CREDENTIALS}",
                                              "x-c": "${SNYK_CALLBACK}"],
                                    body: Array(body.utf8))
        guard case .allowed(_, let out) = s.filter.decide(request, direction: .privateRules) else { return XCTFail("POST /scan blocked") }
        let text = String(decoding: out.body, as: UTF8.self)
        XCTAssertEqual(text, #"{"a":"${CR_PASSWORD}","b":"${CR_CREDENTIALS}","c":"${BROKER_TOKEN}","d":"https://api.snyk.io/v2/import/done","e":"${HTTPS_PROXY}"}"#)
        // As for a variable that is not set: empty within a header's value, and a header that would be
        // empty altogether is left as written.
        XCTAssertEqual(out.headers["x-a"], "${CR_PASSWORD}")
        XCTAssertEqual(out.headers["x-b"], "Basic ")
        XCTAssertEqual(out.headers["x-c"], "https://api.snyk.io/v2/import/done", "a variable that is not a secret is still filled")
        for secret in ["pw-secret", s.crCredentials, "tok-123", "proxy-secret"] {
            XCTAssertFalse(text.contains(secret) || out.headers.map(\.value).joined().contains(secret), secret)
        }
    }

    /// Secrets by name beyond the logger's list, the validation URL, and URLs that carry a user or password.
    func testSecretsForCallersAreKnownByNameAndByURLUserInformation() {
        for (name, value) in [("HTTPS_PROXY", "http://proxyuser:proxypw@proxy:3128"), ("https_proxy", "http://proxy:3128"),
                              ("BROKER_CLIENT_VALIDATION_BASIC_AUTH", "dXNlcjpwdw=="), ("DB_PASS", "x"), ("REGISTRY_PWD", "x"),
                              ("BROKER_CLIENT_VALIDATION_URL", "https://scanner:pw@registry/v2/"), ("MIRROR", "https://u:p@mirror.example/x"),
                              ("CR_PASSWORD", "x"), ("BROKER_TOKEN", "x")] {
            XCTAssertTrue(BrokerClientSettings.isSecretForCallers(name: name, value: value), name)
        }
        for (name, value) in [("SNYK_CALLBACK", "https://api.snyk.io/v2/import/done"), ("CR_BASE", "harbor.example.com"),
                              ("CR_AGENT_URL", "http://cr-agent:17500"), ("NOTE", "mail me@example.com"), ("CR_TYPE", "harbor-cr")] {
            XCTAssertFalse(BrokerClientSettings.isSecretForCallers(name: name, value: value), name)
        }
    }

    func testDefaultsAndTheDocumentedForm() throws {
        let s = try settings(["CR_TYPE": "harbor-cr", "CR_USERNAME": "robot", "CR_PASSWORD": "pw", "CR_BASE": "harbor.example.com"]).get()
        XCTAssertEqual(s.port, 7341)
        XCTAssertEqual(s.serverURL, "https://broker.snyk.io")
        XCTAssertEqual(s.clientVersion, "4.200.0")
        XCTAssertEqual(s.maxMessageBytes, 33_554_432)
        XCTAssertEqual(s.logLevel, .info)
        XCTAssertNil(s.validationURL)
        XCTAssertNil(s.tlsCertificatePath)
        XCTAssertEqual(s.crType, "harbor-cr")
        XCTAssertEqual(s.crCredentials, CRCredentials.build(["CR_TYPE": "harbor-cr", "CR_USERNAME": "robot", "CR_PASSWORD": "pw",
                                                             "CR_BASE": "harbor.example.com"]))
        XCTAssertEqual(s.environment["CR_CREDENTIALS"], s.crCredentials, "custom rules may name ${CR_CREDENTIALS}")
        // The filter in force is the default one, with the agent as origin.
        guard case .allowed(let origin, _) = s.filter.decide(FilterRequest(method: "GET", url: "/list"), direction: .privateRules) else {
            return XCTFail("GET /list blocked by the default filter")
        }
        XCTAssertEqual(origin, "http://cr-agent:17500")
    }

    func testAnAgentURLWithoutASchemeGetsHTTPS() throws {
        let s = try settings(["CR_AGENT_URL": "cr-agent:17500", "CR_CREDENTIALS": "abc"]).get()
        XCTAssertEqual(s.agentURL, "https://cr-agent:17500")
        guard case .allowed(let origin, _) = s.filter.decide(FilterRequest(method: "POST", url: "/scan"), direction: .privateRules) else {
            return XCTFail("POST /scan blocked")
        }
        XCTAssertEqual(origin, "https://cr-agent:17500")
    }

    func testGivenCredentialsAreKeptAndNeedNoType() throws {
        let s = try settings(["CR_CREDENTIALS": "eyJ0eXBlIjoiZWNyIn0K"]).get()
        XCTAssertEqual(s.crCredentials, "eyJ0eXBlIjoiZWNyIn0K")
        XCTAssertNil(s.crType)
    }

    func testEveryVariableIsRead() throws {
        let cert = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString).pem")
        try Data("x".utf8).write(to: cert)
        defer { try? FileManager.default.removeItem(at: cert) }
        let s = try settings(["CR_TYPE": "docker-hub", "CR_USERNAME": "u", "CR_PASSWORD": "p", "PORT": "8000",
                              "BROKER_SERVER_URL": "http://127.0.0.1:7341", "BROKER_CLIENT_VALIDATION_URL": "http://cr-agent:17500/healthcheck",
                              "BROKER_CLIENT_VERSION": "4.185.2", "BROKER_MAX_MESSAGE_BYTES": "1048576", "LOG_LEVEL": "debug",
                              "HTTPS_CERT": cert.path, "HTTPS_KEY": cert.path]).get()
        XCTAssertEqual(s.port, 8000)
        XCTAssertEqual(s.serverURL, "http://127.0.0.1:7341")
        XCTAssertEqual(s.validationURL, "http://cr-agent:17500/healthcheck")
        XCTAssertEqual(s.clientVersion, "4.185.2")
        XCTAssertEqual(s.maxMessageBytes, 1_048_576)
        XCTAssertEqual(s.logLevel, .debug)
        XCTAssertEqual(s.tlsCertificatePath, cert.path)
        XCTAssertEqual(s.tlsKeyPath, cert.path)
    }

    /// Per CR_TYPE: what is missing and what contradicts, all in one error.
    func testEachTypeNamesWhatItNeeds() {
        let rows: [(type: String, given: [String: String], named: [String])] = [
            ("ecr", [:], ["CR_ROLE_ARN", "CR_REGION"]),
            ("ElasticCR", ["CR_REGION": "eu-west-1"], ["CR_ROLE_ARN"]),
            ("ecr", ["CR_ROLE_ARN": "arn", "CR_REGION": "r", "CR_USERNAME": "u", "CR_PASSWORD": "p"], ["CR_USERNAME", "CR_PASSWORD"]),
            ("digitalocean-cr", [:], ["CR_TOKEN"]),
            ("digitalocean-cr", ["CR_TOKEN": "t", "CR_USERNAME": "u"], ["CR_USERNAME"]),
            ("docker-hub", [:], ["CR_USERNAME", "CR_PASSWORD"]),
            ("docker-hub", ["CR_USERNAME": "u", "CR_PASSWORD": "p", "CR_TOKEN": "t"], ["CR_TOKEN"]),
            ("gitlab-cr", ["CR_PASSWORD": "p", "CR_ROLE_ARN": "arn"], ["CR_USERNAME", "CR_ROLE_ARN"]),
            ("github-cr", ["CR_USERNAME": "u"], ["CR_PASSWORD"]),
            ("quay-cr", ["CR_USERNAME": "u"], ["CR_PASSWORD"]),
            ("gcr", ["CR_USERNAME": "_json_key"], ["CR_PASSWORD"]),
            ("artifactory-cr", ["CR_USERNAME": "u", "CR_PASSWORD": "p"], ["CR_BASE"]),
            ("harbor-cr", [:], ["CR_USERNAME", "CR_PASSWORD", "CR_BASE"]),
            ("nexus-cr", ["CR_USERNAME": "u", "CR_PASSWORD": "p"], ["CR_BASE"]),
            ("acr", ["CR_USERNAME": "u", "CR_PASSWORD": "p"], ["CR_BASE"]),
            ("azure-cr", ["CR_USERNAME": "u", "CR_PASSWORD": "p", "CR_BASE": "  "], ["CR_BASE"]),
            ("google-artifact-cr", ["CR_USERNAME": "_json_key", "CR_PASSWORD": "{}"], ["CR_BASE"]),
        ]
        for row in rows {
            let found = problems(Self.base.merging(row.given) { $1 }.merging(["CR_TYPE": row.type]) { $1 })
            XCTAssertEqual(found.count, row.named.count, "\(row.type): \(found)")
            for (problem, name) in zip(found, row.named) {
                XCTAssertTrue(problem.hasPrefix(name + " "), "\(row.type): \(problem) should be about \(name)")
                XCTAssertTrue(problem.contains("CR_TYPE=\(row.type)"), problem)
            }
        }
    }

    func testEveryTypeIsAcceptedWithWhatItNeeds() throws {
        for type in BrokerClientSettings.knownRegistryTypes + ["azure-cr", "ElasticCR"] {
            var env = ["CR_TYPE": type]
            if CRCredentials.isECR(type) { env["CR_ROLE_ARN"] = "arn"; env["CR_REGION"] = "eu-west-1" }
            else if type == "digitalocean-cr" { env["CR_TOKEN"] = "t" }
            else { env["CR_USERNAME"] = "u"; env["CR_PASSWORD"] = "p"; env["CR_BASE"] = "r.example.com" }
            let s = try settings(env).get()
            XCTAssertEqual(s.crCredentials, CRCredentials.build(env), type)
        }
    }

    func testAllProblemsComeInOneError() {
        let env = ["CR_AGENT_URL": "http://", "PORT": "70000", "BROKER_CLIENT_VERSION": "4.99.9", "HTTPS_CERT": "/c.pem",
                   "BROKER_MAX_MESSAGE_BYTES": "lots", "CR_TYPE": "quay", "ACCEPT": "/nonexistent/accept.json", "LOG_LEVEL": "loud",
                   "BROKER_CLIENT_VALIDATION_URL": "cr-agent/healthcheck", "BROKER_SERVER_URL": "ws://broker"]
        guard case .failure(let error) = BrokerClientSettings.fromEnvironment(env) else { return XCTFail("accepted") }
        let names = ["BROKER_TOKEN", "BROKER_SERVER_URL", "BROKER_CLIENT_URL", "CR_AGENT_URL", "CR_TYPE", "PORT",
                     "BROKER_MAX_MESSAGE_BYTES", "BROKER_CLIENT_VERSION", "BROKER_CLIENT_VALIDATION_URL", "HTTPS_KEY", "LOG_LEVEL", "ACCEPT"]
        XCTAssertEqual(error.problems.count, names.count, error.description)
        for name in names {
            XCTAssertTrue(error.problems.contains { $0.hasPrefix(name + " ") || $0.hasPrefix(name + ":") }, "\(name) not named in \(error.description)")
        }
        XCTAssertTrue(error.description.contains("/nonexistent/accept.json"), "the broken ACCEPT file is named")
        XCTAssertTrue(error.description.contains("4.100.0"))
    }

    func testVersionBounds() {
        XCTAssertNoThrow(try settings(["CR_CREDENTIALS": "x", "BROKER_CLIENT_VERSION": "4.100.0"]).get())
        XCTAssertEqual(problems(Self.base.merging(["CR_CREDENTIALS": "x", "BROKER_CLIENT_VERSION": "1.2"]) { $1 }).count, 1)
        XCTAssertEqual(problems(Self.base.merging(["CR_CREDENTIALS": "x", "BROKER_CLIENT_VERSION": "3.999.999"]) { $1 }).count, 1)
        XCTAssertEqual(problems(Self.base.merging(["CR_CREDENTIALS": "x", "PORT": "0"]) { $1 }).count, 1)
        XCTAssertNoThrow(try settings(["CR_CREDENTIALS": "x", "PORT": "65535"]).get())
    }

    func testTheCapOnRequestsAtOnceAndItsQueue() throws {
        let d = try settings(["CR_CREDENTIALS": "x"]).get()
        XCTAssertEqual(d.maxConcurrentRequests, 64)
        XCTAssertEqual(d.maxQueuedRequests, 4096)
        let big = try settings(["CR_CREDENTIALS": "x", "BROKER_CLIENT_MAX_CONCURRENT_REQUESTS": "2000"]).get()
        XCTAssertEqual(big.maxConcurrentRequests, 2000)
        XCTAssertEqual(big.maxQueuedRequests, 8000)
        for bad in ["0", "-1", "many", "65537"] {
            let p = problems(Self.base.merging(["CR_CREDENTIALS": "x", "BROKER_CLIENT_MAX_CONCURRENT_REQUESTS": bad]) { $1 })
            XCTAssertEqual(p.count, 1, bad)
            XCTAssertTrue(p.first?.hasPrefix("BROKER_CLIENT_MAX_CONCURRENT_REQUESTS \"\(bad)\" must be a whole number from 1 to 65536") ?? false, "\(p)")
        }
    }

    func testACustomFilterFileIsUsedAndABrokenOneNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accept-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("accept.json")
        try Data(#"{"private":[{"method":"GET","path":"/files/*","origin":"http://${FILES_HOST}"}],"public":[]}"#.utf8).write(to: good)
        let s = try settings(["CR_CREDENTIALS": "x", "ACCEPT": good.path, "FILES_HOST": "127.0.0.1:8080"]).get()
        guard case .allowed(let origin, _) = s.filter.decide(FilterRequest(method: "GET", url: "/files/big.bin"), direction: .privateRules) else {
            return XCTFail("custom rule not in force")
        }
        XCTAssertEqual(origin, "http://127.0.0.1:8080")
        if case .allowed = s.filter.decide(FilterRequest(method: "GET", url: "/list"), direction: .privateRules) {
            XCTFail("the default rules still apply with ACCEPT set")
        }
        let broken = dir.appendingPathComponent("broken.json")
        try Data(#"{"private":[{"method":"GET","path":"/a/:n([z-a])"}]}"#.utf8).write(to: broken)
        let found = problems(Self.base.merging(["CR_CREDENTIALS": "x", "ACCEPT": broken.path]) { $1 })
        XCTAssertEqual(found.count, 1)
        guard let first = found.first else { return }
        XCTAssertTrue(first.contains("range out of order"), first)
        XCTAssertTrue(found[0].contains(broken.path) && found[0].contains("private[0]"), found[0])
    }

    func testTheTokenAndPasswordNeverAppearInAnError() {
        let env = ["BROKER_TOKEN": "secret-token-xyz", "CR_TYPE": "harbor-cr", "CR_PASSWORD": "secret-password-xyz", "PORT": "x"]
        guard case .failure(let e) = BrokerClientSettings.fromEnvironment(env) else { return XCTFail("accepted") }
        XCTAssertFalse(e.description.contains("secret-token-xyz"))
        XCTAssertFalse(e.description.contains("secret-password-xyz"))
    }

    func testTheSecretsAreRegisteredForRedaction() throws {
        let s = try settings(["BROKER_TOKEN": "tok-0f9e8d7c", "CR_TYPE": "gitlab-cr", "CR_USERNAME": "deployer",
                              "CR_PASSWORD": "pw-5a4b3c2d"]).get()
        s.registerSecrets()
        let line = Redaction.scrub("token tok-0f9e8d7c password pw-5a4b3c2d credentials \(s.crCredentials)")
        XCTAssertFalse(line.contains("tok-0f9e8d7c"), line)
        XCTAssertFalse(line.contains("pw-5a4b3c2d"), line)
        XCTAssertFalse(line.contains(s.crCredentials), line)
    }
}
