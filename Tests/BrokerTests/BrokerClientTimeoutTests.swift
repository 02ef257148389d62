// Downstream limits: a request to a hung agent, or an answer's upload to a server that never reads,
// is cut off by the idle (low-speed) and total limits and gives its running place back; a queued request
// older than BROKER_DOWNSTREAM_TIMEOUT is answered 504 without reaching the agent. The hung peers are
// stubs for misbehaviour a real server will not produce on demand: a socket that listens and never
// accepts (the kernel completes the connection, nobody reads or answers).
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

/// Stub for misbehaviour: a TCP port that takes connections into its backlog and never reads nor answers.
final class HungPeerStub {
    let fd: Int32
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 64)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}

/// Test-only: `/hang` goes to `hungOrigin`, every other path to the agent.
struct HangRoutingFilter: RequestFilter {
    let hungOrigin: String
    func decide(_ request: FilterRequest, direction: FilterDirection) -> FilterDecision {
        .allowed(origin: request.url.hasPrefix("/hang") ? hungOrigin : nil, request: request)
    }
}

final class BrokerClientTimeoutTests: EchoOriginTestCase {
    func ackedRequest(_ h: ClientHarness, _ url: String, into answers: Locked<[String: JSON]>) {
        h.serverRequests(BrokerClientRequestTests.request(url, streamingID: nil, requestId: url)) { args in
            answers.mutate { $0[url] = args.first ?? .null }
        }
    }

    /// A client whose `/hang/*` requests go to `hung` (a peer that never answers), with the limits given.
    func settingsWithAHungOrigin(_ hung: HungPeerStub, cap: Int? = nil, idleMs: Int, totalMs: Int) -> BrokerClientSettings {
        var settings = ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url, filter: HangRoutingFilter(hungOrigin: hung.url))
        if let cap { settings.maxConcurrentRequests = cap }
        settings.downstreamIdleTimeoutMilliseconds = idleMs
        settings.downstreamTimeoutMilliseconds = totalMs
        return settings
    }

    func testAHungAgentGivesItsPlaceBackAndTheNextRequestIsAnswered() throws {
        let hung = HungPeerStub()
        let settings = settingsWithAHungOrigin(hung, cap: 1, idleMs: 1000, totalMs: 60_000)
        let h = try ClientHarness(settings: settings)
        let answers = Locked<[String: JSON]>([:])
        ackedRequest(h, "/hang/1", into: answers)
        ackedRequest(h, "/echo", into: answers)   // waits behind the hung one: the cap is 1
        XCTAssertTrue(waitUntil(seconds: 60) { answers.get().count == 2 }, "both answered")
        XCTAssertEqual(answers.get()["/hang/1"]?["status"]?.int, 504)
        XCTAssertEqual(answers.get()["/hang/1"]?["errorType"]?.string, "DOWNSTREAM_TIMEOUT")
        XCTAssertEqual(answers.get()["/echo"]?["status"]?.int, 200, "the next request reached the agent")
        XCTAssertEqual(h.client.metrics.requestsTimedOut.load(ordering: .relaxed), 1)
        XCTAssertEqual(h.client.metrics.downstreamRetries.load(ordering: .relaxed), 0, "a timeout is not retried")
        XCTAssertTrue(waitUntil(seconds: 5) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 }, "no place held")
    }

    /// The total limit alone (the idle one far away) also ends a hung call.
    func testTheTotalLimitEndsAHungCall() throws {
        let hung = HungPeerStub()
        let settings = settingsWithAHungOrigin(hung, idleMs: 600_000, totalMs: 1500)
        let h = try ClientHarness(settings: settings)
        let answers = Locked<[String: JSON]>([:])
        ackedRequest(h, "/hang/total", into: answers)
        XCTAssertTrue(waitUntil(seconds: 60) { answers.get().count == 1 })
        XCTAssertEqual(answers.get()["/hang/total"]?["status"]?.int, 504)
        XCTAssertTrue(waitUntil(seconds: 5) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 })
    }

    /// Two hung calls run one after the other (cap 1), each at least the idle limit (1 s), so the request
    /// queued behind both has waited more than the downstream timeout (1.5 s) when its turn comes.
    func testAQueuedRequestOlderThanTheDownstreamTimeoutIsAnsweredUnrun() throws {
        let hung = HungPeerStub()
        var settings = settingsWithAHungOrigin(hung, cap: 1, idleMs: 1000, totalMs: 0)
        settings.queuedRequestMaxAgeMilliseconds = 1500
        let h = try ClientHarness(settings: settings)
        let answers = Locked<[String: JSON]>([:])
        ackedRequest(h, "/hang/1", into: answers)
        ackedRequest(h, "/hang/2", into: answers)
        ackedRequest(h, "/echo", into: answers)
        XCTAssertTrue(waitUntil(seconds: 60) { answers.get().count == 3 }, "all answered")
        let stale = answers.get()["/echo"]
        XCTAssertEqual(stale?["status"]?.int, 504)
        XCTAssertEqual(stale?["errorType"]?.string, "DOWNSTREAM_TIMEOUT")
        XCTAssertTrue(stale?["body"]?["message"]?.string?.contains("it was not sent to the agent") == true, "\(String(describing: stale))")
        XCTAssertEqual(h.client.metrics.requestsExpiredInQueue.load(ordering: .relaxed), 1)
        XCTAssertEqual(h.client.metrics.requestsForwarded.load(ordering: .relaxed), 0, "the stale request never reached the agent")
        XCTAssertTrue(h.log.contains("request dropped: it waited too long in the queue"))
        // A fresh request afterwards runs as usual.
        ackedRequest(h, "/echo?fresh", into: answers)
        XCTAssertTrue(waitUntil(seconds: 30) { answers.get()["/echo?fresh"] != nil })
        XCTAssertEqual(answers.get()["/echo?fresh"]?["status"]?.int, 200)
    }

    /// The answer's upload goes to a server that never reads nor answers: BROKER_CLIENT_POST_TIMEOUT
    /// (here 1 s) cuts it off and the call gives its place back.
    func testAnUploadToAServerThatNeverAnswersIsCutOff() throws {
        let hung = HungPeerStub()
        var settings = ClientFixture.settings(server: hung.url, agent: origin.url)
        settings.maxConcurrentRequests = 1
        settings.uploadIdleTimeoutMilliseconds = 1000
        let h = try ClientHarness(settings: settings)
        h.serverRequests(BrokerClientRequestTests.request("/echo", streamingID: "stream-to-a-hung-server"))
        XCTAssertTrue(waitUntil(seconds: 60) { h.client.metrics.uploadsFailed.load(ordering: .relaxed) == 1 }, "the upload was cut off")
        XCTAssertTrue(waitUntil(seconds: 5) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 }, "no place held")
        XCTAssertTrue(h.log.contains("sending the answer up failed"))
        let answers = Locked<[String: JSON]>([:])
        ackedRequest(h, "/echo", into: answers)
        XCTAssertTrue(waitUntil(seconds: 30) { answers.get()["/echo"] != nil })
        XCTAssertEqual(answers.get()["/echo"]?["status"]?.int, 200, "the next request runs")
    }

    /// libcurl gives a connect that timed out and a transfer that did the same code; only the transfer's
    /// is a timeout that is not retried (a connect timeout is a network error, retried as snyk retries).
    func testAConnectTimeoutIsToldFromATransferTimeout() {
        func error(_ message: String, _ code: Int) -> HTTPClientError { HTTPClientError(.transport, message, request: "GET x", curlCode: code) }
        XCTAssertTrue(BrokerAnswer.isConnectTimeout(error("Connection timed out after 30001 milliseconds", 28)))
        XCTAssertFalse(BrokerAnswer.isConnectTimeout(error("Operation timed out after 1000 milliseconds with 0 bytes received", 28)))
        XCTAssertFalse(BrokerAnswer.isConnectTimeout(error("Operation too slow. Less than 1 bytes/sec transferred the last 1 seconds", 28)))
        XCTAssertFalse(BrokerAnswer.isConnectTimeout(error("Connection timed out after 30001 milliseconds", 7)), "another code")
        XCTAssertEqual(BrokerAnswer.classify(error("Operation too slow. Less than 1 bytes/sec transferred the last 1 seconds", 28)), .downstreamTimeout)
    }

    func testTheLimitsAreReadFromTheEnvironmentAndRangeChecked() {
        var env = ["BROKER_TOKEN": "t", "BROKER_CLIENT_URL": "http://c:7341", "CR_AGENT_URL": "http://a:17500", "CR_CREDENTIALS": "Q1I="]
        let defaults = try? BrokerClientSettings.fromEnvironment(env).get()
        XCTAssertEqual(defaults?.downstreamTimeoutMilliseconds, 0, "no total limit, as in snyk")
        XCTAssertEqual(defaults?.downstreamIdleTimeoutMilliseconds, 660_000, "above the server's 600 s wait for an answer")
        XCTAssertEqual(defaults?.queuedRequestMaxAgeMilliseconds, 600_000)
        XCTAssertEqual(defaults?.uploadIdleTimeoutMilliseconds, 1_200_000, "snyk's default")
        env["BROKER_DOWNSTREAM_TIMEOUT"] = "5000"
        env["BROKER_DOWNSTREAM_IDLE_TIMEOUT"] = "2000"
        env["BROKER_CLIENT_POST_TIMEOUT"] = "3000"
        let set = try? BrokerClientSettings.fromEnvironment(env).get()
        XCTAssertEqual(set?.downstreamTimeoutMilliseconds, 5000)
        XCTAssertEqual(set?.downstreamIdleTimeoutMilliseconds, 2000)
        XCTAssertEqual(set?.uploadIdleTimeoutMilliseconds, 3000)
        env["BROKER_DOWNSTREAM_TIMEOUT"] = "0"
        XCTAssertEqual((try? BrokerClientSettings.fromEnvironment(env).get())?.downstreamTimeoutMilliseconds, 0, "0: no total limit")
        env["BROKER_DOWNSTREAM_TIMEOUT"] = "500"
        env["BROKER_CLIENT_POST_TIMEOUT"] = "-1"
        guard case .failure(let e) = BrokerClientSettings.fromEnvironment(env) else { return XCTFail("500 and -1 accepted") }
        XCTAssertTrue(e.problems.contains { $0.hasPrefix("BROKER_DOWNSTREAM_TIMEOUT 500 is below 1000 ms") }, "\(e.problems)")
        XCTAssertTrue(e.problems.contains { $0.hasPrefix("BROKER_CLIENT_POST_TIMEOUT \"-1\"") }, "\(e.problems)")
    }
}
