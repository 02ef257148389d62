// What a client that stops taking or giving can make the server hold: requests queued towards a socket
// that does not read stay under BROKER_MAX_QUEUED_BYTES_PER_SOCKET (later callers get 503
// connection-overloaded, other tokens are served), and an answer coming as `chunk` events that stops
// is cut after the stall limit, only from the socket the request went down; a burst of callbacks holds
// no more than BROKER_MAX_CALLBACKS_IN_FLIGHT_PER_TOKEN outbound requests.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerQueueTests: XCTestCase {
    let token = "tok-alpha-0001"
    let other = "tok-bravo-0002"

    /// The client is Tests/broker/raw_tunnel_peer.py in `no-read` mode: a stub that identifies, then
    /// never reads again (with a 4 KiB receive buffer), which a real client does not do on demand.
    func testAClientThatDoesNotReadHoldsNoMoreThanTheCapAndLaterCallersGet503() throws {
        let cap = 4 << 20
        let h = try BrokerServerHarness(tokens: [token, other], configure: { $0.maxQueuedBytesPerSocket = cap }, webSockets: true)
        defer { h.stop() }
        let peer = try startRawTunnelPeer(port: h.port, token: token, ["no-read"])
        defer { _ = peer.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 20) { h.onReactor { if case .ready = h.broker.pool.pick(token: self.token) { return true }; return false } },
                      peer.stdout + peer.stderr)

        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("body")
        try Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: file)
        let callers = 24      // 24 MiB: far more than the cap and the kernel's socket buffers (tcp_wmem max is 4 MiB by default) hold
        var curls: [BackgroundCurl] = []
        for i in 0..<callers {
            curls.append(try BackgroundCurl(["-X", "POST", "--data-binary", "@\(file.path)", "\(h.base)/broker/\(token)/upload/\(i)"]))
        }
        // Every caller is either queued (waiting for an answer that will not come) or refused.
        XCTAssertTrue(waitUntil(seconds: 60) {
            h.onReactor { h.broker.forwarded.inFlight } + Int(h.broker.stats.outcomes(.down, "overloaded")) == callers
        }, "in flight \(h.onReactor { h.broker.forwarded.inFlight }), refused \(h.broker.stats.outcomes(.down, "overloaded"))")
        let refused = Int(h.broker.stats.outcomes(.down, "overloaded"))
        XCTAssertGreaterThan(refused, 0, "24 MiB of requests towards a socket that reads nothing, with a 4 MiB cap")
        XCTAssertLessThanOrEqual(h.onReactor { h.broker.forwarded.peakQueuedBytes }, cap)
        XCTAssertLessThanOrEqual(h.onReactor { h.broker.pool.connections(token: self.token).first?.socket.bufferedBytes ?? -1 }, cap)
        print("requests queued towards a client that does not read: \(callers - refused), refused: \(refused), peak queue \(h.onReactor { h.broker.forwarded.peakQueuedBytes }) bytes")

        XCTAssertTrue(waitUntil(seconds: 30) { curls.filter { !$0.process.process.isRunning }.count >= refused })
        let answers = curls.filter { !$0.process.process.isRunning }.map { $0.answer() }
        XCTAssertEqual(answers.count, refused)
        for a in answers {
            XCTAssertEqual(a.status, 503, a.body)
            XCTAssertEqual(a.headers["x-broker-failure"], "connection-overloaded")
            XCTAssertEqual(a.headers["retry-after"], "1")
            XCTAssertEqual(try JSON.parse(a.body)["code"]?.string, "CONNECTION_OVERLOADED")
        }
        XCTAssertTrue(h.server.metrics.render().contains(#"broker_server_requests_total{direction="down",outcome="overloaded"} \#(refused)"#))

        // Another token is served meanwhile.
        let s = h.connect(token: other)
        let caller = try BackgroundCurl(["\(h.base)/broker/\(other)/healthcheck"])
        let sid = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        h.onReactor { s.deliver("chunk", [.string(sid), .string("ok"), .bool(true), .object([("status", .int(200))])]) }
        let answer = caller.answer()
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.body, "ok")
        for c in curls where c.process.process.isRunning { kill(c.process.process.processIdentifier, SIGKILL) }
    }

    /// The test double's socket sends the head of an answer as a `chunk` event, then nothing.
    func testAChunkedAnswerThatStopsIsCutAfterTheStallLimit() throws {
        let h = try BrokerServerHarness(tokens: [token], configure: { $0.server.bodyTimeoutMs = 400 })
        defer { h.stop() }
        let s = h.connect()
        let caller = try BackgroundCurl(["\(h.base)/broker/\(token)/list"])
        let sid = try XCTUnwrap(h.waitForRequests(s).first?.args.first?["streamingID"]?.string)
        h.onReactor {
            s.deliver("chunk", [.string(sid), .string(""), .bool(false), .object([("status", .int(200)), ("headers", .object([]))])])
            s.deliver("chunk", [.string(sid), .string("the start"), .bool(false)])
        }
        let answer = caller.answer()
        XCTAssertEqual(answer.status, 200, "the head was sent")
        XCTAssertEqual(caller.process.process.terminationStatus, 18, "curl saw the answer cut (CURLE_PARTIAL_FILE): \(answer.body)")
        XCTAssertEqual(h.broker.stats.outcomes(.down, "stalled"), 1)
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 0)
        XCTAssertTrue(h.onReactor { s.isOpen }, "the socket itself stays: other requests may use it")
    }

    /// Two sockets of one token: the answer's chunks count only from the socket the request went down,
    /// and that socket closing cuts the answer even though the other is still open.
    func testChunksFromAnotherSocketOfTheTokenAreDropped() throws {
        let h = try BrokerServerHarness(tokens: [token])
        defer { h.stop() }
        let first = h.connect(clientId: "client-1")
        let second = h.connect(clientId: "client-2")
        let caller = try BackgroundCurl(["\(h.base)/broker/\(token)/list"])
        XCTAssertTrue(waitUntil(seconds: 20) { h.requests(first).count + h.requests(second).count == 1 })
        let (down, elsewhere) = h.requests(first).isEmpty ? (second, first) : (first, second)
        let sid = try XCTUnwrap(h.requests(down).first?.args.first?["streamingID"]?.string)
        h.onReactor {
            down.deliver("chunk", [.string(sid), .string("from the right socket, "), .bool(false), .object([("status", .int(200))])])
            elsewhere.deliver("chunk", [.string(sid), .string("from the other"), .bool(true)])
        }
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 1, "the other socket's final chunk did not end the answer")
        h.onReactor { down.close(reason: "test closes the socket the request went down") }
        let answer = caller.answer()
        XCTAssertEqual(caller.process.process.terminationStatus, 18, answer.body)
        XCTAssertFalse(answer.body.contains("from the other"), answer.body)
        XCTAssertEqual(h.broker.stats.outcomes(.down, "answered"), 0)
        XCTAssertEqual(h.onReactor { h.broker.forwarded.inFlight }, 0)
    }

    /// An upstream that holds every callback until the test answers it: a burst of 10 callbacks with a
    /// cap of 4 sends 4 upstream and answers 6 at once with 429; another token still relays; once the
    /// upstream answers, the token relays again.
    func testABurstOfCallbacksHoldsNoMoreThanTheCapUpstream() throws {
        let held = Locked<[UncheckedBox<HTTPExchange>]>([])
        var router = Router()
        router.add("POST", "/api/v2/import/done", maxBodyBytes: 1 << 20) { ex in held.mutate { $0.append(UncheckedBox(ex)) } }
        let upstream = try TestServer(router: router)
        defer { upstream.stop() }
        let h = try BrokerServerHarness(tokens: [token, other], configure: {
            $0.upstreamURL = "http://127.0.0.1:\(upstream.port)"
            $0.maxCallbacksInFlightPerToken = 4
        })
        defer { h.stop() }
        let s = h.connect(token: token)
        let answers = Locked<[JSON]>([])
        func callback(_ socket: InMemoryTunnelSocket) {
            h.onReactor {
                socket.onEvent?("request", [.object([("url", .string("/api/v2/import/done")), ("method", .string("POST")), ("headers", .object([])),
                                                     ("body", .string("{}"))])]) { args in answers.mutate { $0.append(args.first ?? .null) } }
            }
        }
        for _ in 0..<10 { callback(s) }
        XCTAssertTrue(waitUntil(seconds: 20) { answers.get().count == 6 && held.get().count == 4 }, "\(answers.get().count) answered, \(held.get().count) upstream")
        for a in answers.get() {
            XCTAssertEqual(a["status"]?.int, 429)
            XCTAssertEqual(a["body"]?["code"]?.string, "TOO_MANY_CALLBACKS")
        }
        XCTAssertEqual(h.broker.stats.outcomes(.up, "too_many"), 6)
        XCTAssertEqual(h.onReactor { h.broker.upstream.callbacksInFlight(token: self.token) }, 4)

        let neighbour = h.connect(token: other, clientId: "client-2")
        callback(neighbour)
        XCTAssertTrue(waitUntil(seconds: 20) { held.get().count == 5 }, "another token's callback went up")

        for box in held.get() { box.value.reactor?.execute { box.value.respond(status: 200, json: "{}") } }
        XCTAssertTrue(waitUntil(seconds: 20) { answers.get().count == 11 })
        XCTAssertEqual(answers.get().filter { $0["status"]?.int == 200 }.count, 5)
        XCTAssertEqual(h.onReactor { h.broker.upstream.callbacksInFlight(token: self.token) }, 0)
        callback(s)
        XCTAssertTrue(waitUntil(seconds: 20) { held.get().count == 6 }, "the token relays again once its callbacks are answered")
        let last = held.get().last!
        last.value.reactor?.execute { last.value.respond(status: 200, json: "{}") }
        XCTAssertTrue(waitUntil(seconds: 20) { answers.get().count == 12 })
    }

    /// A final `chunk` written to a slow caller stops the socket's reads until the caller drains; once it
    /// has, the socket reads again (its Primus ping is answered). The client is the raw stub peer.
    func testASocketPausedForASlowCallerReadsAgainOnceTheAnswerEnds() throws {
        let h = try BrokerServerHarness(tokens: [token], webSockets: true)
        defer { h.stop() }
        let size = 4 << 20
        let peer = try startRawTunnelPeer(port: h.port, token: token, ["chunk-answer", String(size)])
        defer { _ = peer.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 20) { h.onReactor { if case .ready = h.broker.pool.pick(token: self.token) { return true }; return false } },
                      peer.stdout + peer.stderr)
        let caller = try RawClient(port: h.port, timeout: 30, receiveBuffer: 16 * 1024)
        caller.send(Array("GET /broker/\(token)/big HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertTrue(waitUntil(seconds: 30) { h.broker.stats.outcomes(.down, "answered") == 1 }, peer.stdout + peer.stderr)
        var received = 0
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while received < size {
            let n = recv(caller.fd, &buf, buf.count, 0)
            if n <= 0 { break }
            received += n
        }
        XCTAssertGreaterThanOrEqual(received, size, "the whole answer reached the caller")
        XCTAssertTrue(waitUntil(seconds: 20) { jsonLines(peer).contains { $0["event"]?.string == "pong" } }, "the socket reads again: " + peer.stdout + peer.stderr)
    }
}
