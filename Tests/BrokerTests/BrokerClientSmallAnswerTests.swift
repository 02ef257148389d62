// Small answers up the socket and the cap on requests at once: a server that announces
// receive-chunk-answers gets a small, complete agent answer as one `chunk` event (no /response-data
// transfer), a large one still streams; past BROKER_CLIENT_MAX_CONCURRENT_REQUESTS requests wait in a
// bounded queue and past that get 503 CLIENT_BUSY, so a server cannot make the client open unbounded
// connections to the agent.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientSmallAnswerTests: ReceiverAndOriginTestCase {
    /// The server's `identify` as ours sends it.
    func announceChunkAnswers(_ h: ClientHarness) {
        for role in ["primary", "secondary"] {
            let s = h.socket(role)
            h.onReactor { s.deliver("identify", [.object([("capabilities", .array([.string("receive-post-streams"), .string(BrokerClient.chunkAnswersCapability)]))])]) }
        }
    }

    func chunkEvents(_ h: ClientHarness, _ role: String = "primary") -> [[JSON]] {
        let s = h.socket(role)
        return h.onReactor { s.emitted.filter { $0.event == "chunk" }.map(\.args) }
    }

    func testASmallCompleteAnswerGoesUpAsOneChunkEventWithItsStatusAndHeaders() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url))
        announceChunkAnswers(h)
        h.serverRequests(BrokerClientRequestTests.request("/echo?x=1", streamingID: "small-1", requestId: "req-small"))
        XCTAssertTrue(waitUntil(seconds: 10) { self.chunkEvents(h).count == 1 })
        let args = chunkEvents(h)[0]
        XCTAssertEqual(args.count, 4)
        XCTAssertEqual(args[0].string, "small-1")
        XCTAssertEqual(args[2].bool, true, "finished in the same event")
        XCTAssertEqual(args[3]["status"]?.int, 200)
        XCTAssertEqual(args[3]["headers"]?["x-origin"]?.string, "echo")
        let body = ClientFixture.json(args[1].string ?? "") as? [String: Any]
        XCTAssertEqual(body?["target"] as? String, "/echo?x=1")
        XCTAssertEqual((body?["headers"] as? [String: String])?["snyk-request-id"], "req-small")
        XCTAssertEqual(h.client.metrics.answersOverSocket.load(ordering: .relaxed), 1)
        XCTAssertTrue(waitUntil(seconds: 5) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 })
        XCTAssertFalse(receiver.uploads().contains { ($0["path"] as? String)?.hasSuffix("/small-1") == true }, "no /response-data transfer")
    }

    func testRequestsInTurnReuseOneEasyHandleAndEachGetsItsOwnAnswer() throws {
        // Each request after the first takes the easy handle the one before gave back (reset): the
        // answers stay each request's own, and libcurl set every reused handle up again.
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url))
        announceChunkAnswers(h)
        for n in 1...5 {
            h.serverRequests(BrokerClientRequestTests.request("/echo?n=\(n)", streamingID: "turn-\(n)", requestId: "req-turn-\(n)"))
            XCTAssertTrue(waitUntil(seconds: 10) { self.chunkEvents(h).count == n })
            let args = chunkEvents(h)[n - 1]
            XCTAssertEqual(args[0].string, "turn-\(n)")
            XCTAssertEqual(args[3]["status"]?.int, 200)
            let body = ClientFixture.json(args[1].string ?? "") as? [String: Any]
            XCTAssertEqual(body?["target"] as? String, "/echo?n=\(n)")
            XCTAssertEqual((body?["headers"] as? [String: String])?["snyk-request-id"], "req-turn-\(n)")
            XCTAssertTrue(waitUntil(seconds: 5) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 })
        }
        let stats = h.onReactor { h.client.httpStats }
        XCTAssertEqual(stats.transfersStarted, 5)
        XCTAssertEqual(stats.handlesReused, 4, "every request after the first reused a handle")
        XCTAssertEqual(stats.handlesRefused, 0)
    }

    func testALargeAnswerStillStreamsThroughResponseData() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url))
        announceChunkAnswers(h)
        h.serverRequests(BrokerClientRequestTests.request("/stream/1", streamingID: "large-1"))
        let upload = try XCTUnwrap(receiver.upload("large-1"))
        XCTAssertEqual(upload["bodyBytes"] as? Int, 1 << 20)
        XCTAssertEqual(ClientFixture.preamble(upload)["status"] as? Int, 200)
        XCTAssertTrue(chunkEvents(h).isEmpty)
    }

    func testWithoutTheCapabilitySmallAnswersStillUseResponseData() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url))
        h.serverRequests(BrokerClientRequestTests.request("/echo", streamingID: "small-no-cap"))
        XCTAssertNotNil(receiver.upload("small-no-cap"))
        XCTAssertTrue(chunkEvents(h).isEmpty)
    }

    /// Many large answers at once to a slow server: the cap bounds the uploads running, each upload
    /// bounds its buffer, so what all of them hold together has a bound (the client's memory with it).
    func testManyLargeAnswersToASlowServerHoldBoundedBytesTogether() throws {
        let slow = try ResponseReceiver(readDelayMilliseconds: 20)
        defer { slow.stop() }
        var settings = ClientFixture.settings(server: slow.url, agent: origin.url)
        settings.maxConcurrentRequests = 16
        let h = try ClientHarness(settings: settings)
        let ids = (0..<48).map { "held-\($0)" }
        for (i, id) in ids.enumerated() {
            h.serverRequests(BrokerClientRequestTests.request("/stream/1", streamingID: id), role: i % 2 == 0 ? "primary" : "secondary")
        }
        for id in ids { XCTAssertEqual(try XCTUnwrap(slow.upload(id, seconds: 120), id)["bodyBytes"] as? Int, 1 << 20) }
        XCTAssertEqual(h.client.metrics.inFlightPeak.load(ordering: .relaxed), 16, "never more than the cap at once, and the cap was reached")
        let perUpload = 256 * 1024 + 64 * 1024 + 1024    // high-water mark, one libcurl chunk past it, the preamble
        let held = h.client.metrics.uploadBytesHeldPeak.load(ordering: .relaxed)
        XCTAssertGreaterThan(held, 0)
        XCTAssertLessThanOrEqual(held, 16 * perUpload, "48 answers of 1 MiB: at most 16 uploads' buffers held together")
        XCTAssertTrue(waitUntil(seconds: 5) { h.onReactor { h.client.uploadBytesHeld } == 0 }, "nothing held once all are sent")
    }

    /// An agent that accepts connections and never answers keeps requests running; the cap holds.
    func testRequestsPastTheCapWaitThenGet503ClientBusy() throws {
        let blackHole = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blackHole) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blackHole, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(listen(blackHole, 64), 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(blackHole, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))

        var settings = ClientFixture.settings(server: receiver.url, agent: "http://127.0.0.1:\(port)")
        settings.maxConcurrentRequests = 2
        settings.maxQueuedRequests = 1
        let h = try ClientHarness(settings: settings)
        let answers = Locked<[Int: JSON]>([:])
        for i in 0..<5 {
            h.serverRequests(BrokerClientRequestTests.request("/echo", streamingID: nil, requestId: "req-cap-\(i)")) { args in
                answers.mutate { $0[i] = args.first ?? .null }
            }
        }
        XCTAssertTrue(waitUntil(seconds: 10) { answers.get().count == 2 })
        XCTAssertEqual(h.client.metrics.inFlight.load(ordering: .relaxed), 2, "two requests run")
        XCTAssertEqual(h.client.metrics.requestsQueued.load(ordering: .relaxed), 1, "one waits")
        XCTAssertEqual(h.client.metrics.requestsRefusedBusy.load(ordering: .relaxed), 2)
        for i in [3, 4] {
            XCTAssertEqual(answers.get()[i]?["status"]?.int, 503)
            XCTAssertEqual(answers.get()[i]?["errorType"]?.string, "CLIENT_BUSY")
            XCTAssertEqual(answers.get()[i]?["body"]?["code"]?.string, "CLIENT_BUSY")
        }
        XCTAssertTrue(h.log.contains("request refused: too many at once"))
    }
}
