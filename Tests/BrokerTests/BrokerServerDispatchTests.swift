// The broker server's /broker/<token>/* dispatch against in-memory sockets and real curl callers:
// the failure answers of snyk's server, the `request` event as snyk's server emits it, the streamed
// /response-data answer, the ack answer, round robin, identify checks, timeouts and a client gone.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerDispatchTests: XCTestCase {
    func testNoSocketIs404NoConnectionAndUnidentifiedIs503NotReady() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let none = try curl(["\(h.base)/broker/tok-alpha-0001/list"])
        XCTAssertEqual(none.status, 404)
        XCTAssertEqual(none.headers["x-broker-failure"], "no-connection")
        XCTAssertEqual(none.body, #"{"ok":false}"#)
        _ = h.connect(identify: false)
        let notReady = try curl(["\(h.base)/broker/tok-alpha-0001/list"])
        XCTAssertEqual(notReady.status, 503)
        XCTAssertEqual(notReady.headers["x-broker-failure"], "connection-not-ready")
        XCTAssertEqual(notReady.headers["retry-after"], "1")
        XCTAssertEqual(h.broker.stats.outcomes(.down, "no_connection"), 1)
        XCTAssertEqual(h.broker.stats.outcomes(.down, "not_ready"), 1)
    }

    func testServerGreetsWithIdentifyAndRefusesOldOrForeignClients() throws {
        let h = try BrokerServerHarness(tokens: ["tok-alpha-0001", "tok-beta-0002"])
        defer { h.stop() }
        let good = h.connect()
        let greeting = h.onReactor { good.emitted.first }
        XCTAssertEqual(greeting?.event, "identify")
        XCTAssertEqual(greeting?.args.first?.serialized, #"{"capabilities":["receive-post-streams","receive-chunk-answers"]}"#)
        XCTAssertTrue(h.onReactor { good.isOpen })

        let old = h.connect(version: "4.99.9")
        XCTAssertFalse(h.onReactor { old.isOpen })
        let note = h.onReactor { old.emitted.first { $0.event == "notification" } }
        XCTAssertEqual(note?.args.first?["level"]?.string, "error")
        XCTAssertTrue(note?.args.first?["message"]?.string?.contains("4.100.0") ?? false)

        // Opened on one token's path, identified with another: refused (the path's token is the one checked).
        let foreign = h.onReactor { () -> InMemoryTunnelSocket in
            let s = InMemoryTunnelSocket()
            h.broker.accept(socket: s, token: "tok-alpha-0001", clientId: "c9", role: "primary")
            s.onEvent?("identify", [.object([("token", .string("tok-beta-0002")), ("metadata", .object([("version", .string("4.200.0"))]))])], nil)
            return s
        }
        XCTAssertFalse(h.onReactor { foreign.isOpen })
        XCTAssertEqual(h.onReactor { foreign.closedReason }, "identified with another token than its path's")
        // Pre-release below the minimum, a local build, and nonsense.
        let rc = h.connect(version: "4.100.0-rc.1"), local = h.connect(version: "local"), nonsense = h.connect(version: "four")
        XCTAssertFalse(h.onReactor { rc.isOpen })
        XCTAssertTrue(h.onReactor { local.isOpen })
        XCTAssertFalse(h.onReactor { nonsense.isOpen })
    }

    func testRequestEventAsSnykEmitsItAndTheStreamedAnswerReachesTheCaller() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect()
        let caller = try BackgroundCurl(["-X", "POST", "-H", "Content-Type: application/json", "-H", "x-request-id: 2b5c7f0e-3c1d-4d8e-9f00-123456789abc",
                                         "--data-binary", #"{"image":"a/b:1"}"#, "\(h.base)/broker/tok-alpha-0001/scan?connection_role=primary&x=1"])
        let events = h.waitForRequests(s)
        XCTAssertEqual(events.count, 1)
        let payload = try XCTUnwrap(events.first?.args.first)
        XCTAssertNil(events.first?.ack, "a post-streams client answers through /response-data, not an ack")
        XCTAssertEqual(payload.object?.map { $0.0 }, ["url", "method", "body", "headers", "streamingID", "requestId"])
        XCTAssertEqual(payload["url"]?.string, "/scan?x=1")
        XCTAssertEqual(payload["method"]?.string, "POST")
        XCTAssertEqual(payload["body"]?.serialized, JSON.object([("$binary", .string(Base64.encode(Array(#"{"image":"a/b:1"}"#.utf8))))]).serialized)
        XCTAssertEqual(payload["requestId"]?.string, "2b5c7f0e-3c1d-4d8e-9f00-123456789abc")
        XCTAssertEqual(payload["headers"]?["snyk-request-id"]?.string, "2b5c7f0e-3c1d-4d8e-9f00-123456789abc")
        XCTAssertEqual(payload["headers"]?["content-type"]?.string, "application/json")
        let streamingID = try XCTUnwrap(payload["streamingID"]?.string)
        XCTAssertEqual(streamingID.count, 36)

        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let frame = dir.appendingPathComponent("frame")
        try Data(responseDataFrame(status: 201, headers: [("content-type", "application/json"), ("x-origin", "agent"), ("transfer-encoding", "chunked")],
                                   body: Array(#"{"done":true}"#.utf8))).write(to: frame)
        let post = try curl(["-X", "POST", "-H", "Content-Type: application/vnd.broker.stream+octet-stream", "--data-binary", "@\(frame.path)",
                             "\(h.base)/response-data/tok-alpha-0001/\(streamingID)"])
        XCTAssertEqual(post.status, 200)
        XCTAssertEqual(post.body, "{}")
        let answer = caller.answer()
        XCTAssertEqual(answer.status, 201)
        XCTAssertEqual(answer.headers["x-origin"], "agent")
        XCTAssertEqual(answer.headers["snyk-request-id"], "2b5c7f0e-3c1d-4d8e-9f00-123456789abc")
        XCTAssertEqual(answer.body, #"{"done":true}"#)
        XCTAssertEqual(h.broker.stats.outcomes(.down, "answered"), 1)
        XCTAssertEqual(h.broker.stats.bytes("to_caller"), 13)
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 0)

        // The same streaming id again, or one never issued: what snyk's server answers.
        let again = try curl(["-X", "POST", "--data-binary", "@\(frame.path)", "\(h.base)/response-data/tok-alpha-0001/\(streamingID)"])
        XCTAssertEqual(again.status, 500)
        XCTAssertEqual(again.body, #"{"message":"Unable to find request matching streaming id."}"#)
    }

    func testAMalformedAnswerGivesTheCaller502() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect()
        let caller = try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/list"])
        let id = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        let post = try curl(["-X", "POST", "--data-binary", "\u{5}\u{0}\u{0}\u{0}nope!", "\(h.base)/response-data/tok-alpha-0001/\(id)"])
        XCTAssertEqual(post.status, 400)
        let answer = caller.answer()
        XCTAssertEqual(answer.status, 502)
        XCTAssertEqual(answer.headers["x-broker-failure"], "bad-client-answer")
        XCTAssertTrue(answer.body.contains("BAD_CLIENT_ANSWER"), answer.body)
    }

    func testAClientWithoutPostStreamsAnswersThroughTheAck() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect(capabilities: [])
        let caller = try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/list"])
        let event = try XCTUnwrap(h.waitForRequests(s).first)
        XCTAssertEqual(event.args.first?["streamingID"]?.string, "")
        let ack = try XCTUnwrap(event.ack)
        h.onReactor {
            ack([.object([("status", .int(200)), ("headers", .object([("content-type", .string("application/json"))])),
                          ("body", .string(#"{"repositories":["a/b"]}"#))])])
        }
        let answer = caller.answer()
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.body, #"{"repositories":["a/b"]}"#)
        XCTAssertEqual(answer.headers["content-type"], "application/json")
    }

    func testRequestsAreSpreadRoundRobinOverIdentifiedSockets() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let primary = h.connect(clientId: "c1", role: "primary")
        let secondary = h.connect(clientId: "c1", role: "secondary")
        let other = h.connect(clientId: "c2", role: "primary")
        _ = h.connect(identify: false, clientId: "c3")
        var callers: [BackgroundCurl] = []
        for i in 0..<6 { callers.append(try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/list/\(i)"])) }
        _ = waitUntil(seconds: 20) { h.requests(primary).count + h.requests(secondary).count + h.requests(other).count == 6 }
        XCTAssertEqual(h.requests(primary).count, 2)
        XCTAssertEqual(h.requests(secondary).count, 2)
        XCTAssertEqual(h.requests(other).count, 2)
        let metrics = h.server.metrics.render()
        let hash = TokenIdentity("tok-alpha-0001").hashed
        XCTAssertTrue(metrics.contains("broker_server_connected_clients{token_hash=\"\(hash)\"} 2"), metrics)
        XCTAssertTrue(metrics.contains("broker_server_sockets{token_hash=\"\(hash)\",state=\"identified\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("broker_server_sockets{token_hash=\"\(hash)\",state=\"pending\"} 1"), metrics)
        XCTAssertFalse(metrics.contains("tok-alpha-0001"))
        // The sockets go: every waiting caller gets 502 at once (not a timeout).
        h.onReactor { for s in [primary, secondary, other] { s.close(reason: "test") } }
        for c in callers {
            let a = c.answer()
            XCTAssertEqual(a.status, 502)
            XCTAssertTrue(a.body.contains("CLIENT_DISCONNECTED"), a.body)
        }
        XCTAssertEqual(h.broker.stats.outcomes(.down, "client_gone"), 6)
    }

    func testNoAnswerInTimeIs504() throws {
        let h = try BrokerServerHarness { $0.requestTimeoutMs = 300 }
        defer { h.stop() }
        _ = h.connect()
        let a = try curl(["\(h.base)/broker/tok-alpha-0001/list"])
        XCTAssertEqual(a.status, 504)
        XCTAssertEqual(a.headers["x-broker-failure"], "client-timeout")
        XCTAssertTrue(a.body.contains("CLIENT_TIMEOUT"), a.body)
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 0)
    }

    func testACallerThatGoesAwayHasItsAnswerReadAndDropped() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect()
        let caller = try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/list"])
        let id = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 1)
        kill(caller.process.process.processIdentifier, SIGKILL)
        _ = caller.answer()
        // A half-closed caller may still be answered, so the server learns it is gone when it writes.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let frame = dir.appendingPathComponent("frame")
        try Data(responseDataFrame(status: 200, headers: [], body: [UInt8](repeating: 0x61, count: 8 << 20))).write(to: frame)
        let post = try curl(["-X", "POST", "--data-binary", "@\(frame.path)", "\(h.base)/response-data/tok-alpha-0001/\(id)"])
        XCTAssertEqual(post.status, 200, "the upload is read to its end and dropped")
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 0)
        XCTAssertEqual(h.broker.stats.outcomes(.down, "caller_gone"), 1)
        XCTAssertLessThan(h.broker.stats.bytes("to_caller"), 8 << 20)
    }

    func testShutdownAnswersNewRequests503AndWaitingOnes502ThenDrains() throws {
        let h = try BrokerServerHarness { $0.server.drainTimeoutMs = 400 }
        defer { h.stop() }
        let s = h.connect()
        let waiting = try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/list"])
        _ = h.waitForRequests(s)
        // A keep-alive connection opened before the signal, used after it.
        let late = try RawClient(port: h.port, timeout: 10)
        h.onReactor { h.broker.beginShutdown() }
        late.send(Array("GET /broker/tok-alpha-0001/list HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        var text = ""
        var buf = [UInt8](repeating: 0, count: 4096)
        while !text.contains("\r\n\r\n{") {
            let n = recv(late.fd, &buf, buf.count, 0)
            if n <= 0 { break }
            text += String(decoding: buf[0..<n], as: UTF8.self)
        }
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 503"), text)
        XCTAssertTrue(text.contains("x-broker-failure: shutting-down"), text)
        let a = waiting.answer()
        XCTAssertEqual(a.status, 502)
        XCTAssertTrue(a.body.contains("SHUTTING_DOWN"), a.body)
        XCTAssertTrue(waitUntil(seconds: 20) { h.hasStopped }, "the server drains once nothing waits")
        XCTAssertFalse(s.isOpen, "the sockets closed")    // the reactor has stopped: read from here
    }
}
