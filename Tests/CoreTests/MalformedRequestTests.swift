// The server's answer to malformed and smuggling requests, row by row, over a real socket.
import Core
import TestSupport
import XCTest

final class MalformedRequestTests: XCTestCase {
    static let bigLine = "GET /" + String(repeating: "a", count: 8200) + " HTTP/1.1\r\nHost: a\r\n\r\n"
    static let bigHeaders = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<20).map { "X-Fill-\($0): \(String(repeating: "b", count: 900))\r\n" }.joined() + "\r\n"
    static let manyHeaders = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<100).map { "X-H\($0): v\r\n" }.joined() + "\r\n"
    static let maxHeaders = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<99).map { "X-H\($0): v\r\n" }.joined() + "\r\n"

    /// (what, request bytes, expected status, whether the server must close the connection)
    static let table: [(String, String, Int, Bool)] = [
        ("control: plain GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200, false),
        ("control: 100 header fields", maxHeaders, 200, false),
        ("control: POST within limit", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 200, false),
        ("control: chunked POST", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n", 200, false),
        ("control: HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 200, true),
        ("request line over 8 KiB", bigLine, 414, true),
        ("header block over 16 KiB", bigHeaders, 431, true),
        ("101 header fields", manyHeaders, 431, true),
        ("body over the route limit (Content-Length)", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n", 413, true),
        ("body over the route limit (chunked)", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + String(repeating: "z", count: 2048) + "\r\n0\r\n\r\n", 413, true),
        ("unknown transfer coding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, true),
        ("gzip, chunked", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, true),
        ("identity coding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501, true),
        ("chunked not final", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, true),
        ("chunked twice", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, true),
        ("empty Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400, true),
        ("Content-Length with Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("two differing Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, true),
        ("differing Content-Length list", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!", 400, true),
        ("negative Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, true),
        ("signed Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400, true),
        ("hex Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", 400, true),
        ("Content-Length with inner space", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400, true),
        ("empty Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400, true),
        ("Content-Length of 20 digits", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, true),
        ("chunk size not hex", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, true),
        ("chunk size with leading space", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", 400, true),
        ("chunk size with trailing space", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400, true),
        ("chunk size overflow", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400, true),
        ("negative chunk size", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400, true),
        ("chunk longer than its size", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400, true),
        ("bare LF after chunk size", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400, true),
        ("bare LF in chunk extension", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n", 400, true),
        ("obs-fold in trailer", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n", 400, true),
        ("obs-fold in header", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n", 400, true),
        ("obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n", 400, true),
        ("bare CR in header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: on\re\r\n\r\n", 400, true),
        ("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 400, true),
        ("NUL in header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u{0}b\r\n\r\n", 400, true),
        ("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, true),
        ("empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400, true),
        ("separator in header name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", 400, true),
        ("header line without colon", "GET / HTTP/1.1\r\nHost: a\r\nJustAName\r\n\r\n", 400, true),
        ("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n", 400, true),
        ("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true),
        ("bad character in method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, true),
        ("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, true),
        ("no version", "GET /\r\nHost: a\r\n\r\n", 400, true),
        ("double space in request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("space inside target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("target not origin-form", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("control byte in target", "GET /a\u{1}b HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("DEL in target", "GET /a\u{7F}b HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("unknown expectation", "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n", 417, true),
        ("unknown route", "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n", 404, false),
        ("wrong method", "DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", 405, false),
    ]

    var server: TestServer!

    override func setUpWithError() throws {
        var router = Router()
        router.add("GET", "/") { ex in ex.respond(status: 200, json: "{}") }
        router.add("POST", "/echo", maxBodyBytes: 1024) { ex in
            ex.collectBody(limit: 1 << 20) { result in
                switch result {
                case .success(let body): ex.respond(status: 200, body: body)
                case .failure(let e): ex.respond(error: e)
                }
            }
        }
        server = try TestServer(router: router)
    }

    override func tearDown() { server.stop() }

    func testTableHasAtLeastFortyMalformedRows() {
        XCTAssertGreaterThanOrEqual(Self.table.filter { !$0.0.hasPrefix("control") }.count, 40)
    }

    func testEveryRowGetsItsStatusAndJSONBody() throws {
        for (what, request, status, closes) in Self.table {
            let c = try RawClient(port: server.port, timeout: 5)
            c.send(request)
            guard let r = c.readResponse() else { XCTFail("\(what): no response"); continue }
            XCTAssertEqual(r.status, status, what)
            if status >= 400 {
                XCTAssertEqual(r.header("Content-Type"), "application/json", what)
                XCTAssertTrue(r.text.hasPrefix("{\"error\":{\"status\":\(status),\"message\":"), "\(what): \(r.text)")
            }
            if closes {
                let rest = c.readToEnd()
                XCTAssertTrue(rest.closed, "\(what): connection should close")
                XCTAssertEqual(rest.bytes.count, 0, "\(what): nothing may follow the error")
            } else {
                c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                XCTAssertEqual(c.readResponse()?.status, 200, "\(what): connection should stay usable")
            }
        }
    }

    /// A smuggled second request hidden in a body must never be answered.
    func testSmuggledRequestIsNotServed() throws {
        let c = try RawClient(port: server.port, timeout: 5)
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 400)
        XCTAssertTrue(c.readToEnd().closed)
        XCTAssertEqual(server.metrics.requestCount(route: "unmatched", status: 404), 0)
    }
}
