// The client under load and faults: a 64 MiB answer through a slow server with the upload buffer bounded
// (work counters, not timings), and a server that vanishes mid-answer: the request ends, nothing hangs.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientFaultTests: EchoOriginTestCase {
    static func streamRequest(_ mib: Int, _ sid: String) -> JSON {
        .object([("url", .string("/stream/\(mib)")), ("method", .string("GET")), ("headers", .object([])), ("streamingID", .string(sid)),
                 ("requestId", .string("req-\(sid)"))])
    }

    func testA64MiBAnswerThroughASlowServerKeepsTheUploadBufferBounded() throws {
        let receiver = try ResponseReceiver(readDelayMilliseconds: 1)
        defer { receiver.stop() }
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url), logLevel: .info)
        let mib = 64
        h.serverRequests(Self.streamRequest(mib, "stream-big"))
        let upload = try XCTUnwrap(receiver.upload("stream-big", seconds: 240))
        XCTAssertEqual(upload["complete"] as? Bool, true, "\(upload)")
        XCTAssertEqual(upload["bodyBytes"] as? Int, mib << 20)
        let sha = SHA256()
        for _ in 0..<(mib * 16) { sha.update(EchoOrigin.chunk) }
        XCTAssertEqual(upload["sha256"] as? String, sha.finalizeHex())
        XCTAssertEqual((ClientFixture.preamble(upload)["headers"] as? [String: String])?["content-length"], String(mib << 20))

        // The upload never held more than its high-water mark plus one read from the agent, and libcurl
        // was paused on the agent's side: the body went no faster than the server took it.
        let peak = h.client.metrics.uploadPeakBufferedBytes.load(ordering: .relaxed)
        XCTAssertGreaterThan(peak, 0)
        XCTAssertLessThanOrEqual(peak, 256 * 1024 + 64 * 1024 + 1024, "peak upload buffer \(peak) bytes for a \(mib) MiB answer")
        let stats = h.onReactor { h.client.httpStats }
        XCTAssertGreaterThan(stats.receivePauses, 0, "the agent's answer was paused")
        XCTAssertLessThanOrEqual(stats.maxBufferedBodyBytes, 512 * 1024)
        XCTAssertEqual(h.client.metrics.bytesUp.load(ordering: .relaxed), mib << 20)
        XCTAssertTrue(try h.curl("/metrics").body.contains("broker_client_bytes_up_total \(mib << 20)"))
    }

    func testAServerThatVanishesMidAnswerEndsTheRequestAndTheClientRedials() throws {
        let receiver = try ResponseReceiver(readDelayMilliseconds: 20)
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: origin.url), logLevel: .info, manualClock: true)
        h.serverRequests(Self.streamRequest(256, "stream-cut"))
        XCTAssertTrue(waitUntil(seconds: 30) {
            receiver.uploads().contains { ($0["bodyBytes"] as? Int ?? 0) > 0 }
        }, "the answer started going up")
        // The server process dies: its sockets and the upload's connection go with it.
        _ = receiver.process.stop(signal: SIGKILL)
        h.dial.failing.set(true)
        h.onReactor { for s in h.dial.sockets { s.close(reason: "transport close") } }

        XCTAssertTrue(waitUntil(seconds: 30) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 }, "the request ended")
        XCTAssertEqual(h.client.metrics.uploadsFailed.load(ordering: .relaxed), 1)
        XCTAssertLessThan(h.client.metrics.bytesUp.load(ordering: .relaxed), 256 << 20, "the agent's answer was abandoned, not read to the end")
        XCTAssertTrue(h.log.contains("sending the answer up failed"), h.log)
        // And the sockets dial again (the server restarting is the dialer succeeding again).
        XCTAssertEqual(h.fireTimers().count, 2)
        h.dial.failing.set(false)
        waitUntil(seconds: 5) { h.timers.get().count == 2 }
        h.fireTimers()
        XCTAssertTrue(waitUntil(seconds: 5) { h.onReactor { h.client.openSocketCount } == 2 })
    }

    func testAnAnswerWhoseUploadCannotConnectIsRetriedThenDropped() throws {
        // The server's address refuses connections: three retries 500 ms apart (20 ms here), then the
        // request ends; the agent's answer is not left waiting.
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: origin.url), logLevel: .info)
        h.serverRequests(Self.streamRequest(1, "stream-noserver"))
        XCTAssertTrue(waitUntil(seconds: 30) { h.client.metrics.uploadsFailed.load(ordering: .relaxed) == 1 })
        XCTAssertTrue(waitUntil(seconds: 10) { h.client.metrics.inFlight.load(ordering: .relaxed) == 0 })
        XCTAssertEqual(h.onReactor { h.client.openSocketCount }, 2, "the tunnel stays up")
    }

    func testACutConnectionIsRetriedThreeTimesWithTheSameRequestIdThen502() throws {
        // The stub origin reads each request and closes the connection without answering.
        let script = repositoryRoot.appendingPathComponent("Tests/broker/client_cut_origin.py").path
        let stub = try BackgroundProcess(projectPython, [script, "--max-lifetime", "120"], environment: ProcessInfo.processInfo.environment)
        defer { _ = stub.stop() }
        var stubURL: String?
        waitUntil(seconds: 20) {
            stubURL = stub.stdout.split(separator: "\n").first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["url"] as? String
            return stubURL != nil
        }
        let url = try XCTUnwrap(stubURL, stub.stderr)
        let receiver = try ResponseReceiver()
        defer { receiver.stop() }
        let h = try ClientHarness(settings: ClientFixture.settings(server: receiver.url, agent: url), logLevel: .info)
        h.serverRequests(.object([("url", .string("/scan")), ("method", .string("POST")), ("body", .string("{\"images\":[\"a:1\"]}")),
                                  ("headers", .object([])), ("streamingID", .string("stream-cut-origin")), ("requestId", .string("req-same"))]))
        let upload = try XCTUnwrap(receiver.upload("stream-cut-origin"))
        XCTAssertEqual(upload["preambleText"] as? String, "{\"status\":502,\"errorType\":\"DOWNSTREAM_ERROR\"}")
        let record = try runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "\(url)/_record"])
        let seen = (try? JSONSerialization.jsonObject(with: Data(record.stdout.utf8))) as? [[String: Any]] ?? []
        XCTAssertEqual(seen.count, 4, "the first attempt and 3 retries: \(record.stdout)")
        XCTAssertEqual(Set(seen.compactMap { $0["snyk-request-id"] as? String }), ["req-same"])
        XCTAssertEqual(Set(seen.compactMap { $0["x-request-id"] as? String }), ["req-same"])
        XCTAssertEqual(h.client.metrics.downstreamRetries.load(ordering: .relaxed), 3)
    }
}
