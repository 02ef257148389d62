// The client's own port: the agent's callbacks sent up the tunnel (public filter, 10 MiB cap, the
// server's ack relayed back), /systemcheck against a real origin, and no secret in any log line at debug.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientLocalServerTests: EchoOriginTestCase {
    /// Starts curl against the client in the background (the answer waits for the test's ack).
    func startCurl(_ h: ClientHarness, _ path: String, body: String, headers: [String] = []) throws -> BackgroundProcess {
        var args = ["-sS", "--max-time", "60", "-X", "POST", "-o", "-", "-w", "\n%{http_code}", "--data-binary", body]
        for header in headers { args += ["-H", header] }
        args.append("http://127.0.0.1:\(h.port)\(path)")
        return try BackgroundProcess("/usr/bin/curl", args, environment: ["PATH": "/usr/bin:/bin"])
    }

    func callbackEmits(_ h: ClientHarness, role: String = "primary") -> [InMemoryTunnelSocket.Emitted] {
        h.onReactor { h.dial.latest(role)!.emitted.filter { $0.event == "request" } }
    }

    func testACallbackGoesUpTheSocketAndTheServersAnswerComesBack() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url))
        let result = "{\"imageId\":\"sha256:abc\",\"packages\":[]}"
        let curl = try startCurl(h, "/api/v2/import/done?org=1", body: result,
                                 headers: ["Content-Type: application/json", "snyk-request-id: cb-1", "User-Agent: cr-agent/1"])
        XCTAssertTrue(waitUntil(seconds: 10) { self.callbackEmits(h).count == 1 })
        let emit = callbackEmits(h)[0]
        let payload = emit.args.first
        XCTAssertEqual(payload?["url"]?.string, "/api/v2/import/done?org=1")
        XCTAssertEqual(payload?["method"]?.string, "POST")
        XCTAssertEqual(payload?["body"]?["$binary"]?.string, Base64.encode(Array(result.utf8)), "the raw body, as EJSON binary")
        XCTAssertEqual(payload?["headers"]?["snyk-request-id"]?.string, "cb-1")
        XCTAssertEqual(payload?["headers"]?["content-type"]?.string, "application/json")
        XCTAssertEqual(payload?["streamingID"]?.string, "")
        XCTAssertEqual(payload?["requestId"]?.string, "cb-1")
        XCTAssertNotNil(emit.ack, "the legacy path: the answer comes back as the ack")

        let ack = ReactorBox(value: emit.ack!)
        h.onReactor { ack.value([.object([("status", .int(201)), ("headers", .object([("content-type", .string("application/json")),
                                                                                          ("content-length", .string("999"))])),
                                          ("body", .string("{\"ok\":true}"))])]) }
        XCTAssertTrue(waitUntil(seconds: 10) { !curl.process.isRunning })
        waitUntil(seconds: 5) { curl.stdout.contains(/\n\d{3}$/) }   // the pipe reader takes the last bytes after the exit
        XCTAssertTrue(curl.stdout.hasSuffix("{\"ok\":true}\n201"), curl.stdout + curl.stderr)
        XCTAssertEqual(h.client.metrics.callbacksRelayed.load(ordering: .relaxed), 1)
    }

    func testACallbackGoesUpTheSecondaryWhenThePrimaryIsDown() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url), manualClock: true)
        h.dial.failing.set(true)
        h.onReactor { h.dial.latest("primary")!.close(reason: "transport close") }
        let curl = try startCurl(h, "/api/v2/import/result", body: "{}")
        XCTAssertTrue(waitUntil(seconds: 10) { self.callbackEmits(h, role: "secondary").count == 1 })
        let ack = ReactorBox(value: callbackEmits(h, role: "secondary")[0].ack!)
        h.onReactor { ack.value([.object([("status", .int(200)), ("body", .object([("received", .bool(true))]))])]) }
        XCTAssertTrue(waitUntil(seconds: 10) { !curl.process.isRunning })
        waitUntil(seconds: 5) { curl.stdout.contains(/\n\d{3}$/) }   // the pipe reader takes the last bytes after the exit
        XCTAssertTrue(curl.stdout.hasSuffix("{\"received\":true}\n200"), curl.stdout)
    }

    /// Six callbacks announcing 10 MiB each and sending nothing hold 60 MiB of the 64 MiB budget: the
    /// seventh gets 503 CALLBACKS_BUSY with Retry-After; once they go, a callback goes up again.
    func testCallbackBodiesBeingReceivedAreBoundedTogether() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url))
        let head = "POST /api/v2/import/result HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: \(ClientRoutes.maxCallbackBodyBytes)\r\n\r\n"
        var holders: [RawClient] = []
        for _ in 0..<6 {
            let c = try RawClient(port: h.port)
            XCTAssertTrue(c.send(head))
            holders.append(c)
        }
        // Each head reaches the client before the next is checked: the 503 below must come from the budget.
        let seventh = try RawClient(port: h.port)
        var answer: RawResponse?
        XCTAssertTrue(waitUntil(seconds: 10) {
            guard h.onReactor({ h.client.callbackBytesHeld }) == 6 * ClientRoutes.maxCallbackBodyBytes else { return false }
            _ = seventh.send(head)
            answer = seventh.readResponse()
            return true
        })
        XCTAssertEqual(answer?.status, 503)
        XCTAssertEqual(answer?.header("Retry-After"), "1")
        XCTAssertTrue(answer?.text.contains("CALLBACKS_BUSY") ?? false, answer?.text ?? "")
        holders.removeAll()                                  // closed: their bodies end in an error, the budget comes back
        XCTAssertTrue(waitUntil(seconds: 10) { h.onReactor { h.client.callbackBytesHeld } == 0 })
        let curl = try startCurl(h, "/api/v2/import/result", body: "{}")
        let sentUp = { self.callbackEmits(h).count + self.callbackEmits(h, role: "secondary").count }
        XCTAssertTrue(waitUntil(seconds: 10) { sentUp() == 1 }, "\(sentUp()) sent up; curl: \(curl.stdout) \(curl.stderr)")
    }

    func testBlockedOversizedAndUnansweredCallbacksGetClearAnswers() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url))
        // Outside the public filter: 401 FILTER_BLOCKED, nothing sent up, one audit line.
        let blocked = try h.curl("/api/v1/orgs/steal", method: "POST", body: "{}")
        XCTAssertEqual(blocked.status, 401)
        XCTAssertEqual(blocked.body, "{\"code\":\"FILTER_BLOCKED\",\"message\":\"blocked\",\"reason\":\"Request does not match any accept rule\",\"url\":\"/api/v1/orgs/steal\"}")
        XCTAssertEqual(callbackEmits(h).count, 0)
        XCTAssertEqual(h.log.split(separator: "\n").filter { $0.contains("request blocked") && $0.contains("\"direction\":\"public\"") }.count, 1)

        // Past 10 MiB: 413, nothing sent up.
        let bigPath = NSTemporaryDirectory() + "callback-\(UUID().uuidString).json"
        _ = FileManager.default.createFile(atPath: bigPath, contents: Data(repeating: 0x20, count: ClientRoutes.maxCallbackBodyBytes + 1))
        defer { try? FileManager.default.removeItem(atPath: bigPath) }
        let big = try h.curl("/api/v2/import/done", method: "POST", body: "@" + bigPath)
        XCTAssertEqual(big.status, 413)
        XCTAssertEqual(callbackEmits(h).count, 0)

        // The socket closes before the server answers: 502, not a hang.
        let curl = try startCurl(h, "/api/v2/import/done", body: "{}")
        XCTAssertTrue(waitUntil(seconds: 10) { self.callbackEmits(h).count == 1 })
        h.onReactor { h.dial.latest("primary")!.close(reason: "transport close") }
        XCTAssertTrue(waitUntil(seconds: 10) { !curl.process.isRunning })
        waitUntil(seconds: 5) { curl.stdout.contains(/\n\d{3}$/) }   // the pipe reader takes the last bytes after the exit
        XCTAssertTrue(curl.stdout.hasSuffix("\n502"), curl.stdout)
        XCTAssertTrue(curl.stdout.contains("TUNNEL_CLOSED"), curl.stdout)
    }

    func testNoOpenSocketAnswers502AndAnUnansweredCallbackTimesOut() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url), manualClock: true) {
            $0.callbackTimeoutMilliseconds = 1234
        }
        let curl = try startCurl(h, "/api/v2/import/done", body: "{}")
        XCTAssertTrue(waitUntil(seconds: 10) { self.callbackEmits(h).count == 1 })
        XCTAssertEqual(h.fireTimers(), [1234])
        XCTAssertTrue(waitUntil(seconds: 10) { !curl.process.isRunning })
        waitUntil(seconds: 5) { curl.stdout.contains(/\n\d{3}$/) }   // the pipe reader takes the last bytes after the exit
        XCTAssertTrue(curl.stdout.hasSuffix("\n504"), curl.stdout)

        h.dial.failing.set(true)
        h.onReactor { for s in h.dial.sockets { s.close(reason: "transport close") } }
        let none = try h.curl("/api/v2/import/done", method: "POST", body: "{}")
        XCTAssertEqual(none.status, 502)
        XCTAssertTrue(none.body.contains("NO_CONNECTION"), none.body)
    }

    func testSystemcheckCallsTheValidationUrlWithTheCredentials() throws {
        let ok = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url, validation: origin.url + "/requires-credentials"))
        let answer = try ok.curl("/systemcheck")
        XCTAssertEqual(answer.status, 200, answer.body)
        let entry = try XCTUnwrap((ClientFixture.json(answer.body) as? [[String: Any]])?.first)
        XCTAssertEqual(entry["brokerClientValidationUrl"] as? String, origin.url + "/requires-credentials")
        XCTAssertEqual(entry["brokerClientValidationMethod"] as? String, "GET")
        XCTAssertEqual(entry["brokerClientValidationTimeoutMs"] as? Int, 5000)
        XCTAssertEqual(entry["brokerClientValidationUrlStatusCode"] as? Int, 200)
        XCTAssertEqual(entry["ok"] as? Bool, true)
        let creds = ClientFixture.credentials
        XCTAssertEqual(entry["maskedCredentials"] as? String, "\(creds.prefix(3))***\(creds.suffix(3))")
        XCTAssertFalse(answer.body.contains(creds))

        let denied = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url, validation: origin.url + "/denied"))
        let no = try denied.curl("/systemcheck")
        XCTAssertEqual(no.status, 500)
        let failed = (ClientFixture.json(no.body) as? [[String: Any]])?.first
        XCTAssertEqual(failed?["ok"] as? Bool, false)
        XCTAssertEqual(failed?["brokerClientValidationUrlStatusCode"] as? Int, 401)
        XCTAssertEqual(failed?["error"] as? String, "Failed due to invalid credentials")

        let unset = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url))
        let missing = try unset.curl("/systemcheck")
        XCTAssertEqual(missing.status, 500)
        XCTAssertTrue(missing.body.contains("BROKER_CLIENT_VALIDATION_URL is not set"), missing.body)
    }

    /// A validation URL with a user and password whose request fails (nothing listens): the unauthenticated
    /// answer says what failed, and never shows the password.
    func testSystemcheckNeverShowsTheValidationUrlsPassword() throws {
        let password = "validation-url-pass-7f3k"
        let port = ClientFixture.freePort()
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url,
                                                                   validation: "http://scanner:\(password)@127.0.0.1:\(port)/systemcheck"))
        let answer = try h.curl("/systemcheck")
        XCTAssertEqual(answer.status, 500, answer.body)
        XCTAssertFalse(answer.body.contains(password), answer.body)
        let entry = (ClientFixture.json(answer.body) as? [[String: Any]])?.first
        XCTAssertEqual(entry?["ok"] as? Bool, false)
        let error = entry?["error"] as? String ?? ""
        XCTAssertTrue(error.hasPrefix("the request to BROKER_CLIENT_VALIDATION_URL failed: "), error)
        XCTAssertTrue(error.contains("CURLE_COULDNT_CONNECT"), error)
        XCTAssertEqual(entry?["brokerClientValidationUrl"] as? String, "http://scanner:\(Redaction.mask)@127.0.0.1:\(port)/systemcheck")
        XCTAssertFalse(h.log.contains(password))
    }

    func testNoSecretReachesALogLineAtDebug() throws {
        let receiver = try ResponseReceiver()
        defer { receiver.stop() }
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url, validation: origin.url + "/echo"),
                                  logLevel: .debug)
        // Every path that logs: requests forwarded, blocked, failing; callbacks; the systemcheck.
        let q = "/list?password=\(ClientFixture.password)"
        h.serverRequests(.object([("url", .string(q)), ("method", .string("GET")), ("headers", .object([("authorization", .string(ClientFixture.credentials))])),
                                  ("streamingID", .string("s-log-1")), ("requestId", .string("r1"))]))
        h.serverRequests(.object([("url", .string("/v2/\(ClientFixture.token)/\(ClientFixture.password)")), ("method", .string("GET")),
                                  ("streamingID", .string("s-log-2"))]))
        XCTAssertNotNil(receiver.upload("s-log-1"))
        XCTAssertNotNil(receiver.upload("s-log-2"))
        _ = try h.curl("/systemcheck")
        _ = try h.curl("/api/v1/\(ClientFixture.password)", method: "POST", body: ClientFixture.credentials)
        h.onReactor { h.dial.latest("primary")!.close(reason: "closed by \(ClientFixture.token)") }

        let log = h.log
        XCTAssertGreaterThan(log.split(separator: "\n").count, 5, log)
        XCTAssertTrue(log.contains("\"level\":\"debug\""), "debug lines were written")
        let decoded = String(decoding: Base64.decode(ClientFixture.credentials)!, as: UTF8.self)
        for secret in [ClientFixture.token, ClientFixture.credentials, ClientFixture.password, decoded.trimmingCharacters(in: .newlines),
                       String(ClientFixture.credentials.prefix(40))] {
            XCTAssertFalse(log.contains(secret), "a log line carries \(secret.prefix(6))…")
        }
        XCTAssertTrue(log.contains("[REDACTED]"), "the secrets were there to mask")
    }
}
