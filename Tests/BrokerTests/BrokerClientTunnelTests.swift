// The broker client's tunnel: the sockets it dials (URL and snyk's handshake headers), the identify it
// sends, its reconnect backoff, and /healthcheck as the sockets come and go.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientTunnelTests: XCTestCase {
    func testBothSocketsDialWithSnyksUrlAndHeadersAndIdentify() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "https://broker.example:8443/", agent: "http://127.0.0.1:1"))
        let dials = h.dial.requests.get()
        XCTAssertEqual(dials.map(\.role), ["primary", "secondary"])
        XCTAssertEqual(dials[0].url, "https://broker.example:8443/primus/\(ClientFixture.token)/?EIO=4&transport=websocket&connection_role=primary")
        XCTAssertEqual(dials[1].url, "https://broker.example:8443/primus/\(ClientFixture.token)/?EIO=4&transport=websocket&connection_role=secondary")
        let clientId = h.client.clientId
        for d in dials {
            XCTAssertEqual(d.headers["x-snyk-broker-client-id"], clientId)
            XCTAssertEqual(d.headers["x-snyk-broker-client-role"], d.role)
            XCTAssertEqual(d.headers["x-broker-client-version"], "4.200.0")
            XCTAssertEqual(d.headers["snyk-request-id"]?.count, 36)
        }
        XCTAssertNotEqual(dials[0].headers["snyk-request-id"], dials[1].headers["snyk-request-id"])

        let identify = h.onReactor { h.dial.latest("primary")!.emitted.first }
        XCTAssertEqual(identify?.event, "identify")
        let payload = identify?.args.first
        XCTAssertEqual(payload?["token"]?.string, ClientFixture.token)
        let metadata = payload?["metadata"]
        XCTAssertEqual(metadata?["capabilities"], .array([.string("post-streams")]))
        XCTAssertEqual(metadata?["clientId"]?.string, clientId)
        XCTAssertEqual(metadata?["identifier"]?.string, SHA256.digest(Array(ClientFixture.token.utf8)))
        XCTAssertEqual(metadata?["version"]?.string, "4.200.0")
        XCTAssertEqual(metadata?["role"]?.string, "primary")
        XCTAssertNotNil(metadata?["filters"]?.object)
        let secondary = h.onReactor { h.dial.latest("secondary")!.emitted.first?.args.first?["metadata"]?["role"]?.string }
        XCTAssertEqual(secondary, "secondary")
    }

    func testBackoffGrowsByOneAndAHalfFromHalfASecondToTwentyMinutesJittered() {
        var b = ReconnectBackoff()
        // random = 0: the floor of Primus's jitter window, (0 + 1) * 500 * 1.5^n.
        XCTAssertEqual((0..<5).map { _ in b.nextDelay(random: 0) }, [500, 750, 1125, 1688, 2531])
        b.reset()
        // random just under 1: twice that.
        XCTAssertEqual(b.nextDelay(random: 0.999_999), 1000)
        for _ in 0..<40 { _ = b.nextDelay(random: 0.5) }
        XCTAssertEqual(b.nextDelay(random: 0), 20 * 60 * 1000, "capped at 20 min")
        XCTAssertEqual(b.nextDelay(random: 0.999), 20 * 60 * 1000)
        b.reset()
        XCTAssertEqual(b.nextDelay(random: 0), 500, "a reset starts again from the minimum")
    }

    func testALostSocketDialsAgainWithBackoffAndHealthcheckFollows() throws {
        let h = try ClientHarness(settings: ClientFixture.settings(server: "http://127.0.0.1:9", agent: "http://127.0.0.1:1"), manualClock: true)
        h.client.random = { 0 }
        var health = try h.curl("/healthcheck")
        XCTAssertEqual(health.status, 200)
        let entries = ClientFixture.json(health.body) as? [[String: Any]] ?? []
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries.first?["brokerServerUrl"] as? String, "http://127.0.0.1:9/?connection_role=primary")
        XCTAssertEqual(entries.last?["brokerServerUrl"] as? String, "http://127.0.0.1:9/?connection_role=secondary")
        XCTAssertEqual(entries.map { $0["ok"] as? Bool }, [true, true])
        XCTAssertEqual(entries.first?["transport"] as? String, "websocket")
        XCTAssertEqual(entries.first?["version"] as? String, "4.200.0")
        XCTAssertFalse(health.body.contains(ClientFixture.token))

        // The server goes away: both sockets close, dials fail, the waits grow.
        h.dial.failing.set(true)
        h.onReactor { for s in h.dial.sockets { s.close(reason: "transport close") } }
        XCTAssertEqual(h.fireTimers(), [500, 500])
        health = try h.curl("/healthcheck")
        XCTAssertEqual(health.status, 500)
        XCTAssertEqual((ClientFixture.json(health.body) as? [[String: Any]])?.map { $0["websocketConnectionOpen"] as? Bool }, [false, false])
        waitUntil(seconds: 5) { h.timers.get().count == 2 }
        XCTAssertEqual(h.fireTimers(), [750, 750])
        waitUntil(seconds: 5) { h.timers.get().count == 2 }
        XCTAssertEqual(h.fireTimers(), [1125, 1125])
        XCTAssertEqual(h.dial.requests.get().count, 2 + 2 * 3)

        // The server is back: the next dial opens, identifies again, and the backoff starts over.
        h.dial.failing.set(false)
        waitUntil(seconds: 5) { h.timers.get().count == 2 }
        h.fireTimers()
        XCTAssertTrue(waitUntil(seconds: 5) { h.onReactor { h.client.openSocketCount } == 2 })
        XCTAssertEqual(h.onReactor { h.dial.latest("primary")!.emitted.first?.event }, "identify")
        XCTAssertEqual(try h.curl("/healthcheck").status, 200)
        h.onReactor { h.dial.latest("primary")!.close(reason: "transport close") }
        waitUntil(seconds: 5) { h.timers.get().count == 1 }
        XCTAssertEqual(h.fireTimers(), [500])
        XCTAssertTrue(waitUntil(seconds: 5) { h.onReactor { h.client.openSocketCount } == 2 })
        let metrics = try h.curl("/metrics").body
        XCTAssertTrue(metrics.contains("broker_client_sockets_open 2"), metrics)
        XCTAssertTrue(metrics.contains("broker_client_sockets_lost_total 3"), metrics)
    }
}
