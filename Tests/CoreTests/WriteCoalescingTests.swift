// Writes coalesced per reactor turn: WebSocket frames queued outside the connection's own pump leave
// in one write, and an HTTP response answered after its request's turn (a relayed answer) is one write
// for head and body. Work counters, not timings: the connection's and the server's socket writes.
@testable import Core
import Foundation
import TestSupport
import XCTest

final class WriteCoalescingTests: XCTestCase {
    /// Ten frames sent from a timer (not from inside the connection's pump, which always batched)
    /// go out in one write; the client receives all ten, in order.
    func testFramesQueuedInOneTurnLeaveInOneWrite() throws {
        let writes = Locked<Int?>(nil)
        var router = Router()
        router.add("GET", "/burst") { ex in
            WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration()) { ws in
                ws.onText = { [unowned ws] _ in
                    ws.reactor.schedule(afterMilliseconds: 0) { [unowned ws] in
                        let before = ws.socketWrites
                        for i in 0..<10 { ws.send(text: "frame \(i)") }
                        // Counted a turn later, once the coalesced write is out.
                        ws.reactor.schedule(afterMilliseconds: 20) { [unowned ws] in
                            writes.set(ws.socketWrites - before)
                            ws.send(text: "done")
                        }
                    }
                }
            }
        }
        let server = try TestServer(router: router)
        defer { server.stop() }
        let (error, events) = try runWebSocketClient("ws://127.0.0.1:\(server.port)/burst", script: { $0.send(text: "go") },
                                                     until: { events, _ in events.last == .text("done") })
        XCTAssertNil(error)
        XCTAssertEqual(events, (0..<10).map { .text("frame \($0)") } + [.text("done")])
        XCTAssertEqual(writes.get(), 1, "ten small frames queued in one turn, one write")
    }

    /// A response made after its request's turn (as the broker server relays an answer) is written
    /// once, head and body together, not once for the head and once for the body.
    func testALaterCompleteResponseIsOneWrite() throws {
        var router = Router()
        router.add("GET", "/later") { ex in
            ex.reactor?.schedule(afterMilliseconds: 1) {
                ex.respond(status: 200, headers: ["Content-Type": "text/plain"], body: Array(String(repeating: "b", count: 1000).utf8))
            }
        }
        let server = try TestServer(router: router)
        defer { server.stop() }
        let c = try RawClient(port: server.port)
        for _ in 0..<3 {
            let before = server.metrics.socketWrites.load(ordering: .relaxed)
            c.send("GET /later HTTP/1.1\r\nHost: a\r\n\r\n")
            let r = c.readResponse()
            XCTAssertEqual(r?.status, 200)
            XCTAssertEqual(r?.body.count, 1000)
            XCTAssertEqual(server.metrics.socketWrites.load(ordering: .relaxed) - before, 1, "head and body in one write")
        }
    }
}
