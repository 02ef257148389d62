// The broker server's two relays under load and failure: a streamed answer to a slow caller holds
// bounded memory (the /response-data upload pauses), and the clients' callbacks reach
// BROKER_UPSTREAM_URL with path, method, headers and body, their answer going back through the ack.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerRelayTests: XCTestCase {
    func testASlowCallerPausesTheUploadAndMemoryStaysBounded() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect()
        let total = 48 << 20
        let caller = try RawClient(port: h.port, timeout: 30, receiveBuffer: 16 * 1024)
        caller.send(Array("GET /broker/tok-alpha-0001/blob HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let id = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let frame = dir.appendingPathComponent("frame")
        try Data(responseDataFrame(status: 200, headers: [("content-length", String(total))], body: [UInt8](repeating: 0x62, count: total))).write(to: frame)
        let upload = try BackgroundCurl(["-X", "POST", "--data-binary", "@\(frame.path)", "\(h.base)/response-data/tok-alpha-0001/\(id)"])
        // Read slowly at first: the server must hold the upload, not the bytes.
        var received = 0
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        for _ in 0..<20 {
            pause(milliseconds: 20)
            let n = recv(caller.fd, &buf, 4096, 0)
            if n > 0 { received += n }
        }
        let relayedWhileSlow = h.broker.stats.bytes("to_caller")
        XCTAssertLessThan(relayedWhileSlow, 8 << 20, "the upload paused while the caller was slow")
        while true {
            let n = recv(caller.fd, &buf, buf.count, 0)
            if n <= 0 { break }
            received += n
            if received >= total { break }
        }
        XCTAssertGreaterThanOrEqual(received, total, "the whole answer (and its head) arrived")
        XCTAssertEqual(upload.answer().status, 200)
        XCTAssertEqual(h.broker.stats.bytes("to_caller"), UInt64(total))
        let peak = h.server.metrics.peakConnectionOutputBytes.load(ordering: .relaxed)
        XCTAssertLessThan(peak, 2 << 20, "queued output per connection stays near the high watermark, never the answer")
    }

    func testCallbacksGoToTheUpstreamWithPathMethodHeadersAndBody() throws {
        let seen = Locked<[(String, String, String, String)]>([])
        var router = Router()
        router.add("POST", "/api/v2/import/done", maxBodyBytes: 1 << 20) { ex in
            ex.collectBody(limit: 1 << 20) { body in
                let b = (try? body.get()).map { String(decoding: $0, as: UTF8.self) } ?? ""
                seen.mutate { $0.append((ex.request.method, ex.request.target, ex.request.headers["x-callback"] ?? "", b)) }
                ex.respond(status: 202, json: #"{"accepted":true}"#, headers: ["x-upstream": "yes"])
            }
        }
        let upstream = try TestServer(router: router)
        defer { upstream.stop() }
        let h = try BrokerServerHarness { $0.upstreamURL = "http://127.0.0.1:\(upstream.port)" }
        defer { h.stop() }
        let s = h.connect()
        let answer = Locked<JSON?>(nil)
        h.onReactor {
            let payload = JSON.object([("url", .string("/api/v2/import/done?org=1")), ("method", .string("POST")),
                                       ("headers", .object([("x-callback", .string("cb-1")), ("content-type", .string("application/json")),
                                                            ("connection", .string("keep-alive")), ("host", .string("agent.local"))])),
                                       ("body", .object([("$binary", .string(Base64.encode(Array(#"{"images":1}"#.utf8))))])), ("streamingID", .string(""))])
            s.onEvent?("request", [payload]) { args in answer.set(args.first) }
        }
        XCTAssertTrue(waitUntil(seconds: 20) { answer.get() != nil })
        let a = try XCTUnwrap(answer.get())
        XCTAssertEqual(a["status"]?.int, 202)
        XCTAssertEqual(a["body"]?.string, #"{"accepted":true}"#)
        XCTAssertEqual(a["headers"]?["x-upstream"]?.string, "yes")
        XCTAssertEqual(a["headers"]?["x-broker-ws-response"]?.string, "true")
        XCTAssertEqual(seen.get().count, 1)
        XCTAssertEqual(seen.get().first?.0, "POST")
        XCTAssertEqual(seen.get().first?.1, "/api/v2/import/done?org=1")
        XCTAssertEqual(seen.get().first?.2, "cb-1")
        XCTAssertEqual(seen.get().first?.3, #"{"images":1}"#)
        XCTAssertEqual(h.broker.stats.outcomes(.up, "relayed"), 1)
    }

    func testCallbacksWithoutAnUpstreamAreBlockedAndAnUnreachableUpstreamIs502() throws {
        for upstreamURL in [nil, "http://127.0.0.1:1"] as [String?] {
            let h = try BrokerServerHarness { $0.upstreamURL = upstreamURL }
            defer { h.stop() }
            let s = h.connect()
            let answer = Locked<JSON?>(nil)
            h.onReactor {
                s.onEvent?("request", [.object([("url", .string("/api/v2/import/done")), ("method", .string("POST")), ("headers", .object([]))])]) { args in
                    answer.set(args.first)
                }
            }
            XCTAssertTrue(waitUntil(seconds: 20) { answer.get() != nil })
            let a = try XCTUnwrap(answer.get())
            if upstreamURL == nil {
                XCTAssertEqual(a["status"]?.int, 401)
                XCTAssertEqual(a["body"]?["code"]?.string, "FILTER_BLOCKED")
            } else {
                XCTAssertEqual(a["status"]?.int, 502)
                XCTAssertEqual(a["body"]?["code"]?.string, "DOWNSTREAM_UNREACHABLE")
            }
        }
    }

    func testAnAcceptFilterDecidesTheCallbacks() throws {
        struct OnlyDone: RequestFilter {
            let origin: String
            func decide(_ r: FilterRequest, direction: FilterDirection) -> FilterDecision {
                guard direction == .privateRules else { return .blocked(reason: "wrong direction") }
                return r.url.hasPrefix("/api/v2/import/done") ? .allowed(origin: origin, request: r) : .blocked(reason: "no rule matches")
            }
        }
        var router = Router()
        router.add("POST", "/api/v2/import/done") { ex in ex.respond(status: 200, json: "{}") }
        let upstream = try TestServer(router: router)
        defer { upstream.stop() }
        let h = try BrokerServerHarness(filter: OnlyDone(origin: "http://127.0.0.1:\(upstream.port)"))
        defer { h.stop() }
        let s = h.connect()
        let answers = Locked<[JSON]>([])
        h.onReactor {
            for url in ["/api/v2/import/done", "/admin/delete"] {
                s.onEvent?("request", [.object([("url", .string(url)), ("method", .string("POST")), ("headers", .object([]))])]) { args in
                    answers.mutate { $0.append(args.first ?? .null) }
                }
            }
        }
        XCTAssertTrue(waitUntil(seconds: 20) { answers.get().count == 2 })
        let statuses = answers.get().compactMap { $0["status"]?.int }.sorted()
        XCTAssertEqual(statuses, [200, 401])
        XCTAssertEqual(h.broker.stats.outcomes(.up, "blocked"), 1)
    }
}
