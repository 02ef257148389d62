// The request parser and chunked decoder as pure functions: incremental input, framing, limits.
import Core
import XCTest

final class ParserUnitTests: XCTestCase {
    func parse(_ s: String, _ limits: HTTPParserLimits = HTTPParserLimits()) -> HTTPHeadParseResult {
        Array(s.utf8).withUnsafeBytes { HTTPRequestParser.parse($0, limits: limits) }
    }

    func testEveryPrefixOfAValidHeadNeedsMore() {
        let req = "POST /x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        let bytes = Array(req.utf8)
        let headLength = bytes.count - 3
        for cut in 0..<headLength {
            let r = bytes[0..<cut].withUnsafeBytes { HTTPRequestParser.parse($0) }
            guard case .needMore = r else { return XCTFail("prefix \(cut): \(r)") }
        }
        guard case .complete(let head, let consumed) = parse(req) else { return XCTFail() }
        XCTAssertEqual(consumed, headLength)
        XCTAssertEqual(head.method, "POST")
        XCTAssertEqual(head.path, "/x")
        XCTAssertEqual(head.query, "y=1")
        XCTAssertEqual(head.framing, .contentLength(3))
        XCTAssertFalse(head.keepAlive)
        XCTAssertEqual(head.headers["content-length"], "3")
    }

    func testKeepAliveDefaultsAndExpect() {
        guard case .complete(let h10, _) = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
              case .complete(let h11, _) = parse("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n") else { return XCTFail() }
        XCTAssertTrue(h10.keepAlive)
        XCTAssertTrue(h11.keepAlive)
        XCTAssertTrue(h11.expectsContinue)
    }

    func testIdenticalRepeatedContentLengthIsAccepted() {
        guard case .complete(let h, _) = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n") else { return XCTFail() }
        XCTAssertEqual(h.framing, .contentLength(4))
    }

    func testLimitsApplyBeforeTheHeadIsComplete() {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 16
        guard case .failure(let e) = parse("GET /aaaaaaaaaaaaaaaaaaaaaaa", limits) else { return XCTFail() }
        XCTAssertEqual(e.status, 414)
        limits = HTTPParserLimits()
        limits.maxHeaderBytes = 32
        guard case .failure(let e2) = parse("GET / HTTP/1.1\r\nX-Long: \(String(repeating: "x", count: 64))", limits) else { return XCTFail() }
        XCTAssertEqual(e2.status, 431)
    }

    func decodeChunked(_ s: String, splitAt: Int? = nil) -> (body: String, outcome: ChunkedDecoder.Outcome) {
        var d = ChunkedDecoder()
        var body: [UInt8] = []
        let bytes = Array(s.utf8)
        var outcome = ChunkedDecoder.Outcome.needMore
        let pieces = splitAt.map { [Array(bytes[0..<$0]), Array(bytes[$0...])] } ?? [bytes]
        var offset = 0
        for p in pieces {
            outcome = p.withUnsafeBytes { d.decode($0) { body.append(contentsOf: $0) } }
            if case .done(let c) = outcome { outcome = .done(consumed: offset + c); break }
            if case .failure = outcome { break }
            offset += p.count
        }
        return (String(decoding: body, as: UTF8.self), outcome)
    }

    func testChunkedDecodesAcrossEverySplitPoint() {
        let msg = "4\r\nWiki\r\n5;name=v\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT"
        for cut in 0...msg.utf8.count {
            let (body, outcome) = decodeChunked(msg, splitAt: cut)
            XCTAssertEqual(body, "Wikipedia in\r\n\r\nchunks.", "split at \(cut)")
            XCTAssertEqual(outcome, .done(consumed: msg.utf8.count - 4), "split at \(cut)")
        }
    }

    func testChunkedRejectsMalformedSizes() {
        for bad in ["x\r\n", "5 \r\nhello\r\n", "12345678901234567\r\n", "5\rhello", "3\r\nhello\r\n"] {
            guard case .failure(let e) = decodeChunked(bad).outcome else { return XCTFail(bad) }
            XCTAssertEqual(e.status, 400)
        }
    }

    /// Numbers the client chooses are parsed into a range and refused past it, never trapped on.
    func testHugeContentLengthsAndChunkSizesAreRangeChecked() {
        /// "length N" or "status N".
        func verdict(_ cl: String) -> String {
            let head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(cl)\r\n\r\n"
            switch Array(head.utf8).withUnsafeBytes({ HTTPRequestParser.parse($0) }) {
            case .complete(let h, _): if case .contentLength(let n) = h.framing { return "length \(n)" }; return "no body"
            case .failure(let e): return "status \(e.status)"
            case .needMore: return "need more"
            }
        }
        XCTAssertEqual(verdict("999999999999999999"), "length 999999999999999999", "18 digits fit an Int")
        for bad in ["9223372036854775807", "9223372036854775808", "99999999999999999999999999", "-1", "+5", "0x10", "1e9", "5, 6"] {
            XCTAssertEqual(verdict(bad), "status 400", bad)
        }
        // The largest size the decoder takes (15 hex digits) streams; one digit more is refused.
        let (_, big) = decodeChunked("fffffffffffffff\r\nabc")
        XCTAssertEqual(big, .needMore)
        for bad in ["ffffffffffffffff\r\n", "10000000000000000\r\n", "0000000000000000001\r\n"] {
            guard case .failure(let e) = decodeChunked(bad).outcome else { return XCTFail(bad) }
            XCTAssertEqual(e.status, 400, bad)
        }
    }

    /// Feeds `head` to the parser `step` bytes at a time the way the connection does (through the
    /// reparse gate); returns the verdict and the bytes the parser examined (the work counter).
    static func trickle(_ head: [UInt8], step: Int = 1, gated: Bool = true) -> (verdict: String, work: Int) {
        var gate = HeadReparseGate()
        var work = 0
        var end = 0
        while end < head.count {
            end = Swift.min(head.count, end + step)
            let verdict: String? = head[0..<end].withUnsafeBytes { prefix in
                if gated && !gate.shouldParse(prefix) { return nil }
                work += prefix.count
                switch HTTPRequestParser.parse(prefix) {
                case .needMore: gate.neededMore(prefix); return nil
                case .failure(let e): return "status \(e.status)"
                case .complete(_, let consumed): return "complete \(consumed)"
                }
            }
            if let verdict { return (verdict, work) }
        }
        return ("need more", work)
    }

    /// A head trickled one byte per read: the bytes parsed grow linearly with its size (N and 4N:
    /// at most ~4x), where parsing every read again grows with its square (~16x).
    func testATrickledHeadIsParsedInLinearWork() {
        func head(_ n: Int) -> [UInt8] { Array("GET / HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "v", count: n))\r\n\r\n".utf8) }
        let (v1, w1) = Self.trickle(head(3000))
        let (v4, w4) = Self.trickle(head(12000))
        XCTAssertEqual(v1, "complete \(head(3000).count)")
        XCTAssertEqual(v4, "complete \(head(12000).count)")
        XCTAssertLessThanOrEqual(Double(w4) / Double(w1), 4.5, "work \(w1) for N, \(w4) for 4N")
        XCTAssertLessThanOrEqual(w4, 4 * head(12000).count)
        let (_, naive1) = Self.trickle(head(3000), gated: false)
        let (_, naive4) = Self.trickle(head(12000), gated: false)
        XCTAssertGreaterThan(Double(naive4) / Double(naive1), 12, "the ungated baseline is quadratic")
    }

    /// Trickled one byte at a time through the gate, every row of the malformed-request table gets
    /// the verdict the parser gives the whole head at once.
    func testTheReparseGateNeverChangesAVerdict() {
        for (what, request, _, _) in MalformedRequestTests.table {
            let bytes = Array(request.utf8)
            let whole: String = bytes.withUnsafeBytes {
                switch HTTPRequestParser.parse($0) {
                case .needMore: return "need more"
                case .failure(let e): return "status \(e.status)"
                case .complete(_, let consumed): return "complete \(consumed)"
                }
            }
            XCTAssertEqual(Self.trickle(bytes).verdict, whole, what)
            XCTAssertEqual(Self.trickle(bytes, step: 7).verdict, whole, what)
        }
    }
}
