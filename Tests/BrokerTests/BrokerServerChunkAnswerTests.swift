// The server takes an answer as `chunk` events, as snyk's server does (LegacyStreamResponseHandler.ts,
// registered for every identified socket in identifyHandler.ts): one event with the status, headers,
// body and `finished` (what our client sends for a small answer), or a head event, data events and a
// final one. A chunk for no waiting request is dropped.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerChunkAnswerTests: XCTestCase {
    func testOneChunkEventAnswersTheCallerWhole() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect()
        let caller = try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/healthcheck"])
        let sid = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        h.onReactor {
            s.deliver("chunk", [.string(sid), .string(#"{"ok":true}"#), .bool(true),
                                .object([("status", .int(203)), ("headers", .object([("content-type", .string("application/json")),
                                                                                     ("x-origin", .string("agent"))]))])])
        }
        let answer = caller.answer()
        XCTAssertEqual(answer.status, 203)
        XCTAssertEqual(answer.body, #"{"ok":true}"#)
        XCTAssertEqual(answer.headers["x-origin"], "agent")
        XCTAssertEqual(answer.headers["content-length"], "11")
        XCTAssertEqual(h.broker.stats.outcomes(.down, "answered"), 1)
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 0)
    }

    func testAHeadEventDataEventsAndAFinalEventStreamTheAnswerAndBinaryArrivesUnchanged() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect()
        let caller = try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/list"])
        let sid = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        h.onReactor {
            s.deliver("chunk", [.string(sid), .string(""), .bool(false), .object([("status", .int(200)), ("headers", .object([]))])])
            s.deliver("chunk", [.string(sid), .string("part one, "), .bool(false)])
            s.deliver("chunk", [.string(sid), .object([("$binary", .string(Base64.encode(Array("part two".utf8))))]), .bool(false)])
            s.deliver("chunk", [.string(sid), .string(""), .bool(true)])
        }
        let answer = caller.answer()
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.body, "part one, part two")
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 0)
    }

    func testAChunkForNoWaitingRequestIsDroppedAndTheSocketMovesOn() throws {
        let h = try BrokerServerHarness()
        defer { h.stop() }
        let s = h.connect()
        h.onReactor { s.deliver("chunk", [.string("no-such-stream"), .string("x"), .bool(true), .object([("status", .int(200))])]) }
        XCTAssertTrue(h.onReactor { s.isOpen })
        let caller = try BackgroundCurl(["\(h.base)/broker/tok-alpha-0001/list"])
        let sid = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        h.onReactor { s.deliver("chunk", [.string(sid), .string("[]"), .bool(true), .object([("status", .int(200)), ("headers", .object([]))])]) }
        XCTAssertEqual(caller.answer().body, "[]")
    }

    func testStreamingIdsAreDistinctVersion4UUIDs() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let u = ForwardedRequests.newUUID()
            XCTAssertTrue(ForwardedRequests.isUUID(u), u)
            let bytes = Array(u.utf8)
            XCTAssertEqual(bytes[14], UInt8(ascii: "4"), u)
            XCTAssertTrue("89ab".utf8.contains(bytes[19]), u)
            seen.insert(u)
        }
        XCTAssertEqual(seen.count, 2000)
    }
}
