// The client in front of the real cr-agent and the real docker-registry (htpasswd): /list and
// /list/<repo> come down the tunnel and go up through /response-data, a /scan's callbacks come back
// through the client's port and up the socket, and the registry password reaches nothing on the server's side.
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerClientAgentTests: XCTestCase {
    func testListingAndAScanThroughTheClientWithTheRealAgent() throws {
        let fx = try RegistryFixture.start(auth: "htpasswd", pushing: ["basic"])
        defer { fx.stop() }
        let (agent, agentPort) = try startAgentService(["HOME": "/nonexistent"])
        defer { _ = agent.stop() }
        XCTAssertNotEqual(agentPort, 0, agent.stdout + agent.stderr)
        let receiver = try ResponseReceiver()
        defer { receiver.stop() }

        let password = fx.password!
        let credentials = Base64.encode(Array("{\"type\":\"harbor-cr\", \"username\":\"\(fx.username!)\", \"password\":\"\(password)\", \"registryBase\":\"\(fx.url)\"}\n".utf8))
        let localPort = ClientFixture.freePort()
        let settings = ClientFixture.settings(server: receiver.url, agent: "http://127.0.0.1:\(agentPort)", credentials: credentials,
                                              password: password, clientURL: "http://127.0.0.1:\(localPort)")
        let h = try ClientHarness(settings: settings, localPort: localPort)

        // What the outside caller sends carries no credentials: the client adds them.
        h.serverRequests(.object([("url", .string("/list")), ("method", .string("GET")), ("headers", .object([("accept", .string("application/json"))])),
                                  ("streamingID", .string("e2e-list")), ("requestId", .string("e2e-1"))]))
        let list = try XCTUnwrap(receiver.upload("e2e-list", seconds: 60))
        XCTAssertEqual(ClientFixture.preamble(list)["status"] as? Int, 200, "\(list)")
        let repositories = ClientFixture.json(list["bodyStart"] as? String ?? "") as? [String] ?? []
        XCTAssertEqual(Set(repositories), Set(try fx.pushed("basic")["repositories"] as! [String]))

        h.serverRequests(.object([("url", .string("/list/single/app")), ("method", .string("GET")), ("streamingID", .string("e2e-tags"))]))
        let tags = try XCTUnwrap(receiver.upload("e2e-tags", seconds: 60))
        XCTAssertEqual(ClientFixture.preamble(tags)["status"] as? Int, 200, "\(tags)")
        XCTAssertTrue((ClientFixture.json(tags["bodyStart"] as? String ?? "") as? [String] ?? []).contains("1.0"), "\(tags)")

        // Outside the filter: refused before the agent sees it.
        h.serverRequests(.object([("url", .string("/v2/_catalog")), ("method", .string("GET")), ("streamingID", .string("e2e-blocked"))]))
        XCTAssertEqual(ClientFixture.preamble(try XCTUnwrap(receiver.upload("e2e-blocked")))["status"] as? Int, 401)

        // A scan: accepted by the agent, whose callbacks come to the client's port (x-broker-client-url)
        // and go up the socket; the test answers them as the server would.
        h.serverRequests(.object([("url", .string("/scan")), ("method", .string("POST")), ("headers", .object([("content-type", .string("application/json"))])),
                                  ("body", .string("{\"images\":[\"single/app:1.0\"]}")), ("streamingID", .string("e2e-scan"))]))
        let scan = try XCTUnwrap(receiver.upload("e2e-scan", seconds: 60))
        XCTAssertLessThan(ClientFixture.preamble(scan)["status"] as? Int ?? 0, 300, "\(scan)")
        let collected = Locked<[String]>([])
        let done = waitUntil(seconds: 120) {
            // On the reactor: answer each callback as the server would, keep its payload as text.
            let payloads = h.onReactor { () -> [String] in
                var out: [String] = []
                for s in h.dial.sockets {
                    for e in s.emitted where e.event == "request" {
                        out.append((e.args.first ?? .null).serialized)
                        e.ack?([.object([("status", .int(200)), ("body", .object([]))])])
                    }
                    s.emitted.removeAll { $0.event == "request" }
                }
                return out
            }
            collected.mutate { $0 += payloads }
            return collected.get().contains { $0.contains("\"url\":\"/api/v2/import/done\"") }
        }
        let callbacks = collected.get().compactMap { try? JSON.parse($0) }
        XCTAssertTrue(done, "the scan's done callback came up: \(callbacks.map { $0["url"]?.string ?? "" }) \(agent.stdout.suffix(2000))")
        let result = callbacks.first { $0["url"]?.string == "/api/v2/import/result" }
        let resultBody = String(decoding: Base64.decode(result?["body"]?["$binary"]?.string ?? "") ?? [], as: UTF8.self)
        XCTAssertTrue(resultBody.contains("single/app"), resultBody.prefix(500).description)

        // Nothing the server side received carries the registry password or the credentials.
        let everythingUp = (try? JSONSerialization.data(withJSONObject: receiver.uploads())).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let callbackText = callbacks.map(\.serialized).joined() + callbacks.compactMap { $0["body"]?["$binary"]?.string }
            .compactMap { Base64.decode($0) }.map { String(decoding: $0, as: UTF8.self) }.joined()
        for secret in [password, credentials] {
            XCTAssertFalse(everythingUp.contains(secret), "an upload carries a secret")
            XCTAssertFalse(callbackText.contains(secret), "a callback carries a secret")
            XCTAssertFalse(h.log.contains(secret), "the client's log carries a secret")
        }
    }
}
