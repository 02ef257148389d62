// The response encoder from a table (request, answer, connection verdict -> exact bytes), and the
// connection's state machine: every allowed path, and the impossible transitions it refuses.
@testable import Core
import Foundation
import TestSupport
import XCTest

final class ResponseEncoderTests: XCTestCase {
    struct Row {
        let name: String
        let status: Int
        let contentLength: Int?
        let headers: [(String, String)]
        let isHead: Bool
        let minor: Int
        let mustClose: Bool
        let framing: ResponseFraming
        let sendsBody: Bool
        let closes: Bool
        /// The head after the status line and the fixed lines, exactly.
        let fields: String
    }

    static let rows: [Row] = [
        Row(name: "length, 1.1 keep-alive", status: 200, contentLength: 5, headers: [("Content-Type", "text/plain")], isHead: false, minor: 1, mustClose: false,
            framing: .contentLength(5), sendsBody: true, closes: false, fields: "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\n"),
        Row(name: "no length, 1.1: chunked", status: 200, contentLength: nil, headers: [], isHead: false, minor: 1, mustClose: false,
            framing: .chunked, sendsBody: true, closes: false, fields: "Transfer-Encoding: chunked\r\n\r\n"),
        Row(name: "no length, 1.0: close-delimited", status: 200, contentLength: nil, headers: [], isHead: false, minor: 0, mustClose: false,
            framing: .closeDelimited, sendsBody: true, closes: true, fields: "Connection: close\r\n\r\n"),
        Row(name: "1.0 keep-alive says so", status: 200, contentLength: 0, headers: [], isHead: false, minor: 0, mustClose: false,
            framing: .contentLength(0), sendsBody: true, closes: false, fields: "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"),
        Row(name: "HEAD keeps the length, sends no body", status: 200, contentLength: 6, headers: [], isHead: true, minor: 1, mustClose: false,
            framing: .contentLength(6), sendsBody: false, closes: false, fields: "Content-Length: 6\r\n\r\n"),
        Row(name: "204 has no framing", status: 204, contentLength: 10, headers: [], isHead: false, minor: 1, mustClose: false,
            framing: .none, sendsBody: false, closes: false, fields: "\r\n"),
        Row(name: "304 has no framing", status: 304, contentLength: nil, headers: [], isHead: false, minor: 1, mustClose: false,
            framing: .none, sendsBody: false, closes: false, fields: "\r\n"),
        Row(name: "101 has no framing", status: 101, contentLength: nil, headers: [("Upgrade", "websocket")], isHead: false, minor: 1, mustClose: false,
            framing: .none, sendsBody: false, closes: false, fields: "Upgrade: websocket\r\n\r\n"),
        Row(name: "connection must close", status: 200, contentLength: 2, headers: [], isHead: false, minor: 1, mustClose: true,
            framing: .contentLength(2), sendsBody: true, closes: true, fields: "Content-Length: 2\r\nConnection: close\r\n\r\n"),
        Row(name: "handler's Connection: close is honoured once", status: 200, contentLength: 2, headers: [("Connection", "Close")], isHead: false, minor: 1, mustClose: false,
            framing: .contentLength(2), sendsBody: true, closes: true, fields: "Content-Length: 2\r\nConnection: close\r\n\r\n"),
        Row(name: "handler's framing fields are replaced", status: 200, contentLength: 3,
            headers: [("Content-Length", "99"), ("transfer-encoding", "chunked"), ("X-A", "1")], isHead: false, minor: 1, mustClose: false,
            framing: .contentLength(3), sendsBody: true, closes: false, fields: "X-A: 1\r\nContent-Length: 3\r\n\r\n"),
        Row(name: "a field that would split the head is dropped", status: 200, contentLength: 0,
            headers: [("X-Evil", "a\r\nSet-Cookie: b"), ("Bad Name", "x"), ("X-Ok", "tab\there")], isHead: false, minor: 1, mustClose: false,
            framing: .contentLength(0), sendsBody: true, closes: false, fields: "X-Ok: tab\there\r\nContent-Length: 0\r\n\r\n"),
        Row(name: "largest length", status: 200, contentLength: Int.max, headers: [], isHead: false, minor: 1, mustClose: false,
            framing: .contentLength(Int.max), sendsBody: true, closes: false, fields: "Content-Length: 9223372036854775807\r\n\r\n"),
    ]

    func testEveryRowFramesAndSerializesExactly() {
        for row in Self.rows {
            var headers = HTTPHeaders()
            for (n, v) in row.headers { headers.add(n, v) }
            let request = HTTPResponseEncoder.Request(isHead: row.isHead, versionMinor: row.minor)
            let d = HTTPResponseEncoder.decide(status: row.status, contentLength: row.contentLength, headers: headers, request: request, mustClose: row.mustClose)
            XCTAssertEqual(d.framing, row.framing, row.name)
            XCTAssertEqual(d.sendsBody, row.sendsBody, row.name)
            XCTAssertEqual(d.closesConnection, row.closes, row.name)
            var out: [UInt8] = []
            let statusLine = HTTPResponseEncoder.statusLine(row.status)
            HTTPResponseEncoder.encodeHead(statusLine: statusLine, fixedLines: Array("Server: t\r\n".utf8), headers: headers, decision: d, request: request, into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), String(decoding: statusLine, as: UTF8.self) + "Server: t\r\n" + row.fields, row.name)
        }
    }

    func testBodiesAreChunkedOnlyWhenTheFramingSaysSo() {
        let chunked = HTTPResponseEncoder.Decision(framing: .chunked, sendsBody: true, closesConnection: false)
        let headChunked = HTTPResponseEncoder.Decision(framing: .chunked, sendsBody: false, closesConnection: false)
        let plain = HTTPResponseEncoder.Decision(framing: .contentLength(3), sendsBody: true, closesConnection: false)
        func body(_ d: HTTPResponseEncoder.Decision, _ parts: [String]) -> String {
            var out: [UInt8] = []
            for p in parts { Array(p.utf8).withUnsafeBytes { HTTPResponseEncoder.encodeBody($0, decision: d, into: &out) } }
            HTTPResponseEncoder.encodeEnd(decision: d, into: &out)
            return String(decoding: out, as: UTF8.self)
        }
        XCTAssertEqual(body(chunked, ["abc", "", String(repeating: "x", count: 26)]), "3\r\nabc\r\n1a\r\n\(String(repeating: "x", count: 26))\r\n0\r\n\r\n")
        XCTAssertEqual(body(headChunked, ["abc"]), "", "a HEAD answer carries neither chunks nor the last chunk")
        XCTAssertEqual(body(plain, ["abc"]), "abc")
        var hex: [UInt8] = []
        HTTPResponseEncoder.appendHex(0x10_0000, to: &hex)
        XCTAssertEqual(String(decoding: hex, as: UTF8.self), "100000")
    }

    // MARK: the state machine

    typealias S = HTTPConnectionState

    func testKeepAliveExchangeWithABodyReturnsToIdle() {
        var s = S.idle
        s.headBegan()
        XCTAssertEqual(s, .readingHead)
        s.headParsed(hasBody: true, keepAlive: true)
        XCTAssertEqual(s.exchange?.body, .unread)
        XCTAssertTrue(s.bodyRequested())
        XCTAssertFalse(s.bodyRequested(), "asking twice changes nothing")
        s.responseStarted(closes: false)
        s.responseEnded(complete: true)
        XCTAssertEqual(s.exchange?.isComplete, false, "answered early: the body is still being read")
        s.bodyEnded(failed: false)
        XCTAssertEqual(s.exchange?.isComplete, true)
        s.exchangeCompleted()
        XCTAssertEqual(s, .idle)
    }

    func testCloseVerdictsLeadToClosing() {
        var s = S.idle
        s.headParsed(hasBody: false, keepAlive: false)       // Connection: close from the client
        s.responseStarted(closes: false)
        s.responseEnded(complete: true)
        s.exchangeCompleted()
        XCTAssertEqual(s, .closing)

        s = .idle
        s.headParsed(hasBody: false, keepAlive: true)
        s.responseStarted(closes: false)
        s.responseEnded(complete: false)                    // a response short of its length
        s.exchangeCompleted()
        XCTAssertEqual(s, .closing)

        s = .idle
        s.headParsed(hasBody: true, keepAlive: true)
        XCTAssertTrue(s.bodyRequested())
        s.bodyEnded(failed: true)                           // a malformed chunk: the stream is lost
        XCTAssertEqual(s.exchange?.closeAfter, true)

        s = .idle
        XCTAssertTrue(s.closeAfterResponse(), "between requests a drain closes at once")
        s.headParsed(hasBody: false, keepAlive: true)
        XCTAssertFalse(s.closeAfterResponse(), "during one it closes after the response")
        XCTAssertEqual(s.exchange?.closeAfter, true)
    }

    func testUpgradeHandsOverOnlyAKeptAliveCompleteExchange() {
        var s = S.idle
        s.headParsed(hasBody: false, keepAlive: true)
        s.upgradeRequested()
        s.responseStarted(closes: false)
        s.responseEnded(complete: true)
        s.exchangeCompleted()
        XCTAssertEqual(s, .upgraded)
        XCTAssertFalse(s.isOpen)

        s = .idle
        s.headParsed(hasBody: false, keepAlive: false)
        s.upgradeRequested()
        s.responseStarted(closes: true)
        s.responseEnded(complete: true)
        s.exchangeCompleted()
        XCTAssertEqual(s, .closing, "a connection that must close is never handed over")
    }

    /// Outcome (debug builds): an impossible transition stops the process with a message naming the
    /// event and the state. The probe below runs in a child copy of this test binary.
    func testImpossibleTransitionFailsLoudlyInDebug() throws {
        #if DEBUG
        var env = ProcessInfo.processInfo.environment
        env["CR_TRANSITION_PROBE"] = "1"
        env["SWIFT_BACKTRACE"] = "enable=no"
        let r = try runProcess(CommandLine.arguments[0], ["CoreTests.ResponseEncoderTests/testTransitionProbe"], environment: env, timeout: 120)
        XCTAssertNotEqual(r.status, 0, "the impossible transition did not stop the process")
        XCTAssertTrue((r.stdout + r.stderr).contains("responseStarted is not allowed in state idle"), r.stdout + r.stderr)
        #endif
    }

    /// Does nothing unless run by `testImpossibleTransitionFailsLoudlyInDebug`.
    func testTransitionProbe() {
        guard ProcessInfo.processInfo.environment["CR_TRANSITION_PROBE"] == "1" else { return }
        var s = S.idle
        s.responseStarted(closes: false)
    }

    #if !DEBUG
    /// In release builds an impossible transition changes nothing (in debug builds it traps:
    /// `assertionFailure`, which a test cannot catch in-process).
    func testImpossibleTransitionsChangeNothingInRelease() {
        var s = S.idle
        s.responseStarted(closes: false)
        XCTAssertEqual(s, .idle)
        s.exchangeCompleted()
        XCTAssertEqual(s, .idle)
    }
    #endif
}
