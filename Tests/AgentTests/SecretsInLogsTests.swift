// Runs the agent at LOG_LEVEL=debug with secrets in its settings and its requests, then searches
// every line it printed for them.
import Foundation
import TestSupport
import XCTest

final class SecretsInLogsTests: XCTestCase {
    func testNoSecretReachesAnyLogLine() throws {
        let secrets = [
            "brokertoken-7f3a9c1e-55aa-4d2b-9e0f-1234567890ab",
            "cr-password-Zq8!xv", "cr-token-ab12cd34", "aws-secret-key-QWERTY", "aws-session-token-XYZ",
            "bearer-value-998877", "cookie-value-445566", "urlpassword-1122", "amz-signature-deadbeef",
            "goog-signature-cafe", "query-token-5544", "sig-value-6677", "proxy-pass-3344", "creds-base64-eyJ0eXBl",
        ]
        let env: [String: String] = [
            "PATH": "/usr/bin:/bin", "SNYK_PORT": "0", "LOG_LEVEL": "debug", "REACTOR_THREADS": "1",
            "BROKER_TOKEN": secrets[0], "CR_PASSWORD": secrets[1], "CR_TOKEN": secrets[2],
            "AWS_SECRET_ACCESS_KEY": secrets[3], "AWS_SESSION_TOKEN": secrets[4], "CR_CREDENTIALS": secrets[13],
            "CR_USERNAME": "visible-user", "CR_BASE": "https://reg-user:\(secrets[7])@registry.example:5000/v2",
            "HTTPS_PROXY": "http://proxyuser:\(secrets[12])@127.0.0.1:3128",
        ]
        let agent = try BackgroundProcess(agentExecutablePath, environment: env)
        var port = 0
        XCTAssertTrue(waitUntil(seconds: 10) {
            if let m = agent.stdout.firstMatch(of: /"msg":"listening","port":(\d+)/) { port = Int(m.1)!; return true }
            return false
        })
        let c = try RawClient(port: port)
        let requests = [
            "GET /healthcheck?token=\(secrets[10])&X-Amz-Signature=\(secrets[8])&X-Goog-Signature=\(secrets[9])&sig=\(secrets[11])&n=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(secrets[5])\r\nCookie: session=\(secrets[6])\r\n\r\n",
            "GET /broker/\(secrets[0])/healthcheck HTTP/1.1\r\nHost: a\r\nX-Broker-Token: \(secrets[0])\r\n\r\n",
            "GET /healthcheck HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic \(secrets[12])\r\nX-Api-Key: \(secrets[2])\r\n\r\n",
        ]
        for r in requests {
            c.send(r)
            XCTAssertNotNil(c.readResponse())
        }
        XCTAssertEqual(agent.stop(), 0)
        let all = agent.stdout + agent.stderr
        // The log is not empty of the things around the secrets: the test looks where they would be.
        XCTAssertTrue(all.contains("\"msg\":\"request\""), all)
        XCTAssertTrue(all.contains("\"msg\":\"settings\""), all)
        XCTAssertTrue(all.contains("X-Amz-Signature=[REDACTED]"), all)
        XCTAssertTrue(all.contains("/broker/[REDACTED]/healthcheck"), all)
        XCTAssertTrue(all.contains("visible-user"), "non-secret settings are logged")
        XCTAssertTrue(all.contains("reg-user:[REDACTED]@registry.example"), all)
        for s in secrets {
            XCTAssertFalse(all.contains(s), "secret \(s) appeared in the log")
        }
        for line in all.split(separator: "\n") {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), "not a JSON line: \(line)")
        }
    }

    /// CLI error lines go through the same redaction as log lines, and a secret is found there in its
    /// raw and percent-encoded spellings too (here the user pasted the password into the reference).
    func testCLIErrorLinesAreRedacted() throws {
        let secret = "Zq8-pw/secret x"
        let env = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "CR_USERNAME": "visible-user", "CR_PASSWORD": secret]
        let references = ["127.0.0.1:1/app:Zq8-pw%2Fsecret+x", "127.0.0.1:1/Zq8-pw%2fsecret%20x:1.0", "127.0.0.1:1/app:Zq8-pw/secret x!"]
        for ref in references {
            let r = try runProcess(agentExecutablePath, ["scan", "--plain-http", ref], environment: env)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("[REDACTED]"), r.stderr)
            for spelling in [secret, "Zq8-pw%2Fsecret", "Zq8-pw%2fsecret", "secret+x", "secret%20x", "secret x"] {
                XCTAssertFalse(r.stderr.contains(spelling), "\(spelling) in: \(r.stderr)")
            }
        }
    }

    /// The service's registry reads at LOG_LEVEL=debug with CR_CREDENTIALS in the authorization header:
    /// a GCR-style JSON key as password (bash leaves its quotes unescaped, so the line is read by
    /// position), right and wrong, raw and `Bearer`. No spelling of any of it reaches the output.
    func testServiceRegistryReadsLogNoCredential() throws {
        // Under bcrypt's 72 bytes: the registry's htpasswd compares no more.
        let key = #"{"type": "service_account", "private_key": "pk-Qz81xv-key"}"#
        let fx = try RegistryFixture.start(auth: "htpasswd", htpasswdUser: "_json_key:" + key, pushing: ["basic"])
        defer { fx.stop() }
        func credentials(_ password: String) -> (line: String, value: String) {
            let line = #"{"type":"gcr", "username":"_json_key", "password":""# + password + #"", "registryBase":""# + fx.url + "\"}"
            return (line, Data((line + "\n").utf8).base64EncodedString())
        }
        let good = credentials(key), wrong = credentials("wrong-gcr-password-5512")
        let (agent, port) = try startAgentService(["LOG_LEVEL": "debug"])
        func status(_ path: String, _ authorization: String) throws -> Int {
            let r = try runProcess("/usr/bin/curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "authorization: \(authorization)",
                                                     "http://127.0.0.1:\(port)\(path)"], timeout: 60)
            return Int(r.stdout) ?? -1
        }
        XCTAssertEqual(try status("/systemcheck", good.value), 200, "the JSON key password is read by position")
        XCTAssertEqual(try status("/systemcheck", "Bearer " + good.value), 200)
        for path in ["/list", "/list/single/app", "/list-paginated/?limit=2", "/list-with-metadata/multi/app",
                     "/get-state-identifier?image=single/app:1.0", "/image-metadata/multi/app/1.0"] {
            XCTAssertEqual(try status(path, good.value), 200, path)
        }
        XCTAssertEqual(try status("/list/no/such", good.value), 404)
        XCTAssertEqual(try status("/systemcheck", wrong.value), 401)
        XCTAssertEqual(try status("/list", "Bearer " + wrong.value), 401)
        XCTAssertEqual(agent.stop(), 0)
        let all = agent.stdout + agent.stderr
        XCTAssertTrue(all.contains("\"msg\":\"request\""), all)
        XCTAssertTrue(all.contains("registry read failed"), "the failures were logged at debug: \(all)")
        XCTAssertTrue(all.contains("\"user\":\"_json_key\""), "each read is logged with the user name beside where a password would be: \(all)")
        let basic = Data("_json_key:\(key)".utf8).base64EncodedString()
        for secret in [key, "pk-Qz81xv-key", good.value, good.line, wrong.value, wrong.line, "wrong-gcr-password-5512", basic] {
            XCTAssertFalse(all.contains(secret), "\(secret) appeared in the log")
        }
    }
}
