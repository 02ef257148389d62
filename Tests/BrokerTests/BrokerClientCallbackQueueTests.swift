// The agent's callbacks against a broker server that stops reading: the bytes waiting on the tunnel
// socket stay under ClientRoutes.maxCallbackBytesQueued (or one message), the callbacks past it are
// answered 503 TUNNEL_BUSY with Retry-After, and once the server reads again the accepted ones are
// answered and a request still comes down and goes up. The client is in process with the real tunnel
// dialer (WebSocket, engine.io, Primus); the server is the Python stand-in (Tests/broker/fake_broker_server.py).
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientCallbackQueueTests: EchoOriginTestCase {
    func testCallbacksPastTheTunnelQueueCapAreRefusedAndTheTunnelSurvives() throws {
        // Pings 25 s apart, as snyk's server: the pause below is far shorter, so no heartbeat is due.
        let server = try BrokerClientProcessTests.StandInServer(pingIntervalMilliseconds: 25_000)
        defer { server.stop() }
        let h = try ClientHarness(settings: ClientFixture.settings(server: server.url, agent: origin.url), logLevel: .info,
                                  dialer: BrokerSocketDialer.make(configuration: WebSocketConfiguration()))
        XCTAssertTrue(waitUntil(seconds: 20) { server.sockets.filter { $0["identify"] is [String: Any] }.count == 2 }, server.recordText)

        let bodyPath = NSTemporaryDirectory() + "callback-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: bodyPath) }
        let bodyBytes = 2 * 1024 * 1024
        try Data(("{\"x\":\"" + String(repeating: "a", count: bodyBytes - 8) + "\"}").utf8).write(to: URL(fileURLWithPath: bodyPath))

        _ = try runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "-X", "POST", "\(server.url)/_standin/pause-reading"])
        let count = 16     // 16 x ~2.7 MiB on the socket: over twice the cap
        let port = h.port
        // One curl sending all of them at once (--parallel), each transfer's status on its own line.
        var args = ["-sS", "--max-time", "120", "--parallel", "--parallel-immediate", "--parallel-max", String(count), "-w", "%{http_code}\\n", "-X", "POST",
                    "-H", "content-type: application/json", "--data-binary", "@\(bodyPath)"]
        for _ in 0..<count { args += ["-o", "/dev/null", "http://127.0.0.1:\(port)/api/v2/import/done"] }
        let callers = try BackgroundProcess("/usr/bin/curl", args, environment: ["PATH": "/usr/bin:/bin"])

        // Every callback has been either refused or put on the socket before the server reads again.
        let metrics = h.client.metrics
        let settled = waitUntil(seconds: 60) {
            let refused = metrics.callbacksRefusedTunnelBusy.load(ordering: .relaxed)
            let waiting = h.onReactor { h.client.slots.map(\.waitingCallbackCount).reduce(0, +) }
            return refused > 0 && refused + waiting == count
        }
        XCTAssertTrue(settled, "refused \(metrics.callbacksRefusedTunnelBusy.load(ordering: .relaxed)) \(h.log.split(separator: "\n").filter { $0.contains("lost") || $0.contains("open") }.joined(separator: "\n"))")
        let peak = metrics.callbackQueuedBytesPeak.load(ordering: .relaxed)
        XCTAssertGreaterThan(peak, 0)
        XCTAssertLessThanOrEqual(peak, ClientRoutes.maxCallbackBytesQueued, "the socket's queue stays under the cap")

        // One more while the queue is full: refused at once, with the answer an agent's sender retries on.
        let extra = try runProcess("/usr/bin/curl", ["-sS", "--max-time", "30", "-D", "-", "-X", "POST", "-H", "content-type: application/json", "-H", "Expect:",
                                                     "--data-binary", "@\(bodyPath)", "http://127.0.0.1:\(port)/api/v2/import/done"], timeout: 60)
        XCTAssertTrue(extra.stdout.hasPrefix("HTTP/1.1 503"), extra.stdout + extra.stderr)
        XCTAssertTrue(extra.stdout.lowercased().contains("retry-after: 1\r\n"), extra.stdout)
        XCTAssertTrue(extra.stdout.contains("\"code\":\"TUNNEL_BUSY\""), extra.stdout)

        _ = try runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "-X", "POST", "\(server.url)/_standin/resume-reading"])
        XCTAssertTrue(waitUntil(seconds: 150) { !callers.process.isRunning }, "every caller answered")
        _ = callers.stop()
        let got = callers.stdout.split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(got.count, count, callers.stderr)
        let refused = metrics.callbacksRefusedTunnelBusy.load(ordering: .relaxed)
        XCTAssertEqual(got.filter { $0 == 503 }.count + 1, refused, "\(got)")
        XCTAssertEqual(got.filter { $0 == 200 }.count, count + 1 - refused, "the accepted ones are answered once the server reads: \(got)")
        XCTAssertEqual(metrics.callbacksRelayed.load(ordering: .relaxed), count + 1 - refused)
        XCTAssertTrue(h.log.contains("callback refused: the tunnel is busy"))

        // The tunnel is still up: both sockets open, and a request comes down and its answer goes up.
        XCTAssertEqual(h.onReactor { h.client.openSocketCount }, 2)
        XCTAssertEqual(metrics.socketsLost.load(ordering: .relaxed), 0)
        let sid = try server.request(["url": "/echo", "method": "GET"])
        let upload = try XCTUnwrap(server.upload(sid))
        XCTAssertEqual((upload["preamble"] as? [String: Any])?["status"] as? Int, 200)
    }

    func testTheQueuedBytesBoundCoversTheBase64Body() {
        // The bound is at least the base64 of the body: a 10 MiB body counts ~13.3 MiB.
        XCTAssertGreaterThanOrEqual(BrokerClient.encodedBytesBound(body: 10 << 20, payload: [], url: "/x"), (10 << 20) / 3 * 4)
        XCTAssertEqual(BrokerClient.encodedBytesBound(body: 3, payload: [("a", .string("bc"))], url: "/x"), 4 + 6 * 5 + 1024)
    }
}
