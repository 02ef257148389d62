// Keep-alive, pipelining, bodies, 100-continue, HEAD, backpressure, timeouts and drain, over real sockets.
import Core
import Foundation
import TestSupport
import XCTest

final class ServerBehaviourTests: XCTestCase {
    static let streamBytes = 16 << 20
    static let streamChunk = 64 * 1024
    static let highWatermark = 128 * 1024

    /// Routes shared by these tests; `/stream` writes `streamBytes` honouring backpressure.
    static func router(writerBlocked: Counter) -> Router {
        var r = Router()
        r.add("GET", "/") { ex in ex.respond(status: 200, json: "{\"path\":\"\(ex.request.path)\"}") }
        r.add("GET", "/p/*") { ex in ex.respond(status: 200, body: Array(ex.request.path.utf8)) }
        r.add("POST", "/echo", maxBodyBytes: 64 << 20) { ex in
            var count = 0
            var sum: UInt64 = 0
            ex.readBody(onChunk: { chunk in
                count += chunk.count
                for b in chunk { sum = sum &* 31 &+ UInt64(b) }
            }, onEnd: { err in
                if let err { return ex.respond(error: err) }
                ex.respond(status: 200, json: "{\"bytes\":\(count),\"sum\":\(sum)}")
            })
        }
        r.add("GET", "/slow") { ex in
            ex.reactor?.schedule(afterMilliseconds: 300) { ex.respond(status: 200, json: "{\"slow\":true}") }
        }
        r.add("GET", "/stream") { ex in
            var sent = 0
            let chunk = [UInt8](repeating: 0x61, count: streamChunk)
            ex.startResponse(status: 200, contentLength: streamBytes)
            func pump() {
                while sent < streamBytes {
                    sent += chunk.count
                    if !ex.write(chunk) { writerBlocked.increment(); return }
                }
                ex.finish()
            }
            ex.onWritable = { pump() }
            pump()
        }
        return r
    }

    let blocked = Counter()
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(router: Self.router(writerBlocked: blocked)) { c in
            c.outputHighWatermark = Self.highWatermark
            c.headerTimeoutMs = 2000
            c.idleTimeoutMs = 1500
            c.bodyTimeoutMs = 800
            c.drainTimeoutMs = 3000
        }
    }

    override func tearDown() { server.stop() }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let c = try RawClient(port: server.port)
        for i in 0..<5 {
            c.send("GET /p/\(i) HTTP/1.1\r\nHost: a\r\n\r\n")
            let r = c.readResponse()
            XCTAssertEqual(r?.text, "/p/\(i)")
            XCTAssertNil(r?.header("Connection"))
        }
        XCTAssertEqual(server.metrics.openConnections.load(ordering: .relaxed), 1)
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let c = try RawClient(port: server.port)
        // The slow one first: the two after it must wait for it, not overtake it.
        c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /p/two HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /p/four HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.text, "{\"slow\":true}")
        XCTAssertEqual(c.readResponse()?.text, "/p/two")
        XCTAssertTrue(c.readResponse()?.text.hasPrefix("{\"bytes\":3,") ?? false)
        let last = c.readResponse()
        XCTAssertEqual(last?.text, "/p/four")
        XCTAssertEqual(last?.header("Connection"), "close")
        XCTAssertTrue(c.readToEnd().closed)
    }

    func testHalfClosedClientStillGetsItsAnswer() throws {
        let c = try RawClient(port: server.port)
        c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        c.shutdownWrite()
        let r = c.readResponse()
        XCTAssertEqual(r?.status, 200)
        XCTAssertEqual(r?.header("Connection"), "close")
        XCTAssertTrue(c.readToEnd().closed)
    }

    func testChunkedUploadIsStreamedToTheHandler() throws {
        let c = try RawClient(port: server.port)
        var req = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        var expectedSum: UInt64 = 0
        for i in 0..<50 {
            let piece = String(repeating: Character(UnicodeScalar(UInt8(65 + i % 26))), count: 1000 + i)
            for b in piece.utf8 { expectedSum = expectedSum &* 31 &+ UInt64(b) }
            req += String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n"
        }
        req += "0\r\n\r\n"
        c.send(req)
        let total = (0..<50).reduce(0) { $0 + 1000 + $1 }
        XCTAssertEqual(c.readResponse()?.text, "{\"bytes\":\(total),\"sum\":\(expectedSum)}")
    }

    func testExpectContinueIsAnsweredBeforeTheBodyIsSent() throws {
        let c = try RawClient(port: server.port)
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.status, 100)
        c.send("wxyz")
        XCTAssertTrue(c.readResponse()?.text.hasPrefix("{\"bytes\":4,") ?? false)
    }

    func testHeadHasTheLengthButNoBody() throws {
        let c = try RawClient(port: server.port)
        c.send("HEAD /p/abc HTTP/1.1\r\nHost: a\r\n\r\nGET /p/xy HTTP/1.1\r\nHost: a\r\n\r\n")
        // Read the HEAD answer by hand: its Content-Length describes a body that is not sent.
        var got: [UInt8] = []
        while !String(decoding: got, as: UTF8.self).contains("/p/xy") { guard let more = c.readSome(), !more.isEmpty else { break }; got += more }
        let text = String(decoding: got, as: UTF8.self)
        let responses = text.components(separatedBy: "HTTP/1.1 200 OK")
        XCTAssertEqual(responses.count, 3, text)
        XCTAssertTrue(responses[1].contains("Content-Length: 6\r\n"))
        XCTAssertTrue(responses[1].hasSuffix("\r\n\r\n"), "HEAD response must end with its head")
        XCTAssertTrue(responses[2].hasSuffix("\r\n\r\n/p/xy"))
    }

    func testSlowReaderNeverMakesTheServerBufferMoreThanTheWatermark() throws {
        let c = try RawClient(port: server.port, timeout: 20, receiveBuffer: 32 * 1024)
        c.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        // Let the server fill every buffer between it and us, then read slowly.
        XCTAssertTrue(waitUntil(seconds: 10) { blocked.count > 0 }, "the writer was never told to wait")
        var received = 0
        var reads = 0
        while received < Self.streamBytes + 100 {
            guard let chunk = c.readSome(max: 256 * 1024), !chunk.isEmpty else { break }
            received += chunk.count
            reads += 1
            if reads % 8 == 0 { pause(milliseconds: 1) }
            if received >= Self.streamBytes { break }
        }
        XCTAssertGreaterThanOrEqual(received, Self.streamBytes)
        let peak = server.metrics.peakConnectionOutputBytes.load(ordering: .relaxed)
        XCTAssertGreaterThan(peak, 0)
        XCTAssertLessThanOrEqual(peak, Self.highWatermark + Self.streamChunk + 1024, "server buffered \(peak) bytes for one slow client")
        XCTAssertGreaterThan(blocked.count, 10)
    }

    func testSlowlorisIsClosedByTheHeaderTimeoutWhileOthersAreServed() throws {
        let loris = try RawClient(port: server.port, timeout: 10)
        let head = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: \(String(repeating: "z", count: 100))\r\n\r\n".utf8)
        let started = Date()
        var sent = 0
        var others = 0
        var closedAfter: Double?
        // One byte a second; between bytes, other clients keep being served.
        while sent < head.count && Date().timeIntervalSince(started) < 8 {
            guard loris.send([head[sent]]) else { closedAfter = Date().timeIntervalSince(started); break }
            sent += 1
            let deadline = Date().addingTimeInterval(1)
            while Date() < deadline {
                let ok = try RawClient(port: server.port)
                ok.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                XCTAssertEqual(ok.readResponse()?.status, 200)
                others += 1
                pause(milliseconds: 50)
            }
            if let r = loris.readSome(max: 4096), r.isEmpty || String(decoding: r, as: UTF8.self).contains(" 408 ") {
                closedAfter = Date().timeIntervalSince(started); break
            }
        }
        XCTAssertNotNil(closedAfter, "the slow client was never cut off")
        XCTAssertLessThan(sent, head.count, "the request head must not have completed")
        XCTAssertLessThan(closedAfter ?? 99, 5)
        XCTAssertGreaterThan(others, 10)
        XCTAssertGreaterThanOrEqual(server.metrics.connectionsTimedOut.load(ordering: .relaxed), 1)
    }

    func testStalledBodyGets408AndIdleConnectionIsClosed() throws {
        let c = try RawClient(port: server.port, timeout: 5)
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-some")
        XCTAssertEqual(c.readResponse()?.status, 408)
        XCTAssertTrue(c.readToEnd().closed)

        let idle = try RawClient(port: server.port, timeout: 5)
        idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(idle.readResponse()?.status, 200)
        let t0 = Date()
        XCTAssertTrue(idle.readToEnd().closed)
        XCTAssertGreaterThan(Date().timeIntervalSince(t0), 1.0, "idle timeout is 1.5 s")
    }

    func testDrainFinishesInFlightRequestsAndStopsAccepting() throws {
        let busy = try RawClient(port: server.port)
        busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        let idle = try RawClient(port: server.port)
        idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(idle.readResponse()?.status, 200)
        XCTAssertTrue(waitUntil(seconds: 5) { server.metrics.openConnections.load(ordering: .relaxed) == 2 })
        server.server.beginDrain()
        let r = busy.readResponse()
        XCTAssertEqual(r?.status, 200)
        XCTAssertEqual(r?.header("Connection"), "close")
        XCTAssertTrue(idle.readToEnd().closed)
        XCTAssertTrue(waitUntil(seconds: 5) { server.hasStopped })
        XCTAssertThrowsError(try RawClient(port: server.port), "the listener must be closed")
    }

    /// A handler that takes the socket over after its 101 gets the descriptor and the bytes the
    /// client sent right after the request; the server forgets the connection.
    func testHandOverGivesTheSocketAndTheBytesAlreadyRead() throws {
        var router = Router()
        router.add("GET", "/upgrade") { ex in
            ex.handOver { socket in
                var reply = Array("echo:".utf8) + socket.bytesAlreadyRead
                _ = reply.withUnsafeMutableBytes { write(socket.fd, $0.baseAddress, $0.count) }
                close(socket.fd)
            }
            ex.respond(status: 101, headers: ["Upgrade": "test", "Connection": "Upgrade"])
        }
        let upgrading = try TestServer(router: router)
        defer { upgrading.stop() }
        let c = try RawClient(port: upgrading.port)
        c.send("GET /upgrade HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nHELLO after the head")
        let (bytes, closed) = c.readToEnd()
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), text)
        XCTAssertTrue(text.contains("Upgrade: test\r\n"), text)
        XCTAssertTrue(text.hasSuffix("\r\n\r\necho:HELLO after the head"), text)
        XCTAssertTrue(closed)
        XCTAssertTrue(waitUntil(seconds: 5) { upgrading.metrics.openConnections.load(ordering: .relaxed) == 0 })
    }
}
