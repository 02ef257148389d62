// Backpressure both ways, by counting bytes: a peer that stops reading holds our queue at the
// high-water mark plus one message, and a consumer that pauses reading leaves the bytes in the
// kernel's buffers (and the sender's bounded queue), never in our memory.
import Core
import Foundation
import TestSupport
import XCTest

final class WebSocketConnectionBackpressureTests: XCTestCase {
    private let key = "dGhlIHNhbXBsZSBub25jZQ=="

    /// Waits until `value` stops changing (the pipeline is full and the producer waits).
    private func waitForStall(_ value: () -> Int) {
        var last = -1
        var still = 0
        _ = waitUntil(seconds: 30) {
            let v = value()
            if v == last && v > 0 { still += 1 } else { still = 0; last = v }
            pause(milliseconds: 100)
            return still >= 5
        }
    }

    /// Our server sends 64 MiB (256 messages of 256 KiB) to a client that does not read: the queue
    /// stops at the high-water mark plus one message; once the client reads, every byte arrives.
    func testAPeerThatDoesNotReadHoldsOurQueueAtTheHighWaterMark() throws {
        let message = 256 << 10, count = 256
        let high = WebSocketConfiguration().outputHighWatermark
        let produced = Locked(0), maxBuffered = Locked(0)
        var router = Router()
        router.add("GET", "/flood") { ex in
            WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration()) { ws in
                let chunk = [UInt8](repeating: 0x5A, count: message)
                var sent = 0
                func produce() {
                    while sent < count && ws.bufferedBytes < ws.configuration.outputHighWatermark {
                        ws.send(binary: chunk)
                        sent += 1
                        produced.set(sent)
                        let b = ws.bufferedBytes
                        maxBuffered.mutate { $0 = max($0, b) }
                    }
                }
                ws.onWritable = produce
                produce()
            }
        }
        let server = try TestServer(router: router)
        defer { server.stop() }
        let c = try RawClient(port: server.port, timeout: 10, receiveBuffer: 64 << 10)
        c.send("GET /flood HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \(key)\r\n\r\n")
        waitForStall { produced.get() }
        XCTAssertLessThan(produced.get(), count, "the producer was held back")
        XCTAssertLessThanOrEqual(maxBuffered.get(), high + message + 14, "queued at most the high-water mark plus one message")
        // Now the client reads everything: all 64 MiB and the frame headers arrive.
        var received = 0
        let total = count * (message + 10)
        while received < total, let got = c.readSome(max: 1 << 20), !got.isEmpty { received += got.count }
        XCTAssertGreaterThanOrEqual(received, total)      // the 101's head came first
        XCTAssertEqual(produced.get(), count)
        XCTAssertLessThanOrEqual(maxBuffered.get(), high + message + 14)
    }

    /// Our client sends 64 MiB (64 messages of 1 MiB) to our server, whose consumer pauses after the
    /// first: the server reads no further, the client's queue stays bounded, the rest waits in the
    /// kernel; resumed, every message arrives. The process's RSS grows far less than 64 MiB.
    func testAPausedConsumerLeavesTheBytesInTheKernel() throws {
        let message = 1 << 20, count = 64
        let serverReceived = Locked(0), serverMessages = Locked(0), serverBytes = Locked(0)
        let serverSide = Locked<WebSocketConnection?>(nil)
        var router = Router()
        router.add("GET", "/slow") { ex in
            WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration()) { ws in
                serverSide.set(ws)
                var n = 0
                ws.onBinary = { [unowned ws] b in
                    n += 1
                    serverMessages.set(n)
                    serverBytes.mutate { $0 += b.count }
                    if n == 1 { ws.setReading(false) }
                }
                ws.reactor.every(milliseconds: 20) { [weak ws] in if let ws { serverReceived.set(ws.bytesReceived) } }
            }
        }
        let server = try TestServer(router: router)
        defer { server.stop() }
        let rssBefore = residentBytes()

        let reactor = try Reactor()
        var client: WebSocketConnection?
        var sent = 0, maxBuffered = 0
        let chunk = [UInt8](repeating: 0xA5, count: message)
        WebSocketConnection.connect(url: "ws://127.0.0.1:\(server.port)/slow", reactor: reactor, configuration: WebSocketConfiguration()) { r in
            guard case .success(let ws) = r else { XCTFail("\(r)"); reactor.stop(); return }
            client = ws
            func produce() {
                while sent < count && ws.bufferedBytes < ws.configuration.outputHighWatermark {
                    ws.send(binary: chunk)
                    sent += 1
                    maxBuffered = max(maxBuffered, ws.bufferedBytes)
                }
            }
            ws.onWritable = produce
            produce()
        }
        // Run the client until its bytes stop moving.
        var last = -1, still = 0
        reactor.every(milliseconds: 100) {
            let now = client?.bytesSent ?? 0
            if now == last && now > 0 { still += 1 } else { still = 0; last = now }
            if still >= 5 { reactor.stop() }
        }
        reactor.schedule(afterMilliseconds: 60_000) { reactor.stop() }
        reactor.run()

        let high = WebSocketConfiguration().outputHighWatermark
        XCTAssertEqual(serverMessages.get(), 1, "the consumer paused after its first message")
        XCTAssertLessThan(sent, count, "the client's producer was held back")
        XCTAssertLessThanOrEqual(maxBuffered, high + message + 14)
        XCTAssertTrue(waitUntil(seconds: 5) { serverReceived.get() > 0 })
        // Read: the first message plus at most one read budget (16 reads of 64 KiB) behind it.
        XCTAssertLessThanOrEqual(serverReceived.get(), message + 16 * 65536 + 64)
        let inKernel = (client?.bytesSent ?? 0) - serverReceived.get()
        XCTAssertGreaterThan(inKernel, 64 << 10, "the unread bytes wait in the kernel's buffers")
        XCTAssertLessThan(residentBytes() - rssBefore, 40 << 20, "64 MiB were offered; far less is resident")

        // Resumed: everything arrives.
        serverSide.get()?.reactor.execute { serverSide.get()?.setReading(true) }
        reactor.every(milliseconds: 20) { if serverMessages.get() == count { reactor.stop() } }
        reactor.schedule(afterMilliseconds: 60_000) { reactor.stop() }
        reactor.run()
        XCTAssertEqual(serverMessages.get(), count)
        XCTAssertEqual(serverBytes.get(), count * message)
        XCTAssertLessThanOrEqual(maxBuffered, high + message + 14)
        client?.close()
    }

    /// A pause asked for inside a message callback holds the very next message, even one already read
    /// in the same chunk; resumed, the rest arrive in order.
    func testSetReadingFalseStopsDeliveryAtOnce() throws {
        let delivered = Locked<[String]>([])
        let serverSide = Locked<WebSocketConnection?>(nil)
        var router = Router()
        router.add("GET", "/pause") { ex in
            WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration()) { ws in
                serverSide.set(ws)
                ws.onText = { [unowned ws] t in
                    delivered.mutate { $0.append(t) }
                    if t == "0" { ws.setReading(false) }
                }
            }
        }
        let server = try TestServer(router: router)
        defer { server.stop() }
        // 100 small masked frames in one write: they arrive in one read.
        let c = try RawClient(port: server.port)
        var burst = Array("GET /pause HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \(key)\r\n\r\n".utf8)
        for i in 0..<100 { burst += WebSocketFrame(opcode: .text, payload: Array("\(i)".utf8)).serialized(maskingKey: [1, 2, 3, 4]) }
        c.send(burst)
        XCTAssertTrue(waitUntil(seconds: 5) { delivered.get() == ["0"] })
        // Two turns of the server's reactor after the one that delivered "0": the other 99 were read in
        // that same chunk, so without the pause they would be out by now.
        let turns = Counter()
        let reactor = try XCTUnwrap(serverSide.get()?.reactor)
        reactor.execute { turns.increment(); reactor.execute { turns.increment() } }
        XCTAssertTrue(waitUntil(seconds: 5) { turns.count == 2 })
        XCTAssertEqual(delivered.get(), ["0"], "nothing after the pause")
        serverSide.get()?.reactor.execute { serverSide.get()?.setReading(true) }
        XCTAssertTrue(waitUntil(seconds: 5) { delivered.get().count == 100 })
        XCTAssertEqual(delivered.get(), (0..<100).map { "\($0)" })
    }

    /// VmRSS of this process, in bytes.
    private func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }
}
