// BrokerSocket in both roles over an in-memory channel pair with hand-driven timers: the open packet,
// both heartbeats and their timeouts, events and acks, the bounds on pending acks, closing.
import BrokerKit
import Core
import XCTest

final class ProtocolSocketTests: XCTestCase {
    /// A server and a client socket joined by an in-memory channel pair, on one hand-driven clock.
    final class Pair {
        let timers = ManualTunnelTimers()
        let serverEnd: InMemoryChannel
        let clientEnd: InMemoryChannel
        let server: BrokerSocket
        let client: BrokerSocket
        var serverClosed: [String] = []
        var clientClosed: [String] = []

        init(limits: BrokerSocket.Limits) {
            (serverEnd, clientEnd) = InMemoryChannel.pair()
            let handshake = BrokerSocket.serverHandshake(sid: "SID0123456789abcdefg")
            server = BrokerSocket(channel: serverEnd, role: .server(handshake), timers: timers, limits: limits)
            client = BrokerSocket(channel: clientEnd, role: .client(.init()), timers: timers, limits: limits)
            server.onClose = { [unowned self] in self.serverClosed.append($0) }
            client.onClose = { [unowned self] in self.clientClosed.append($0) }
        }

        func pump() { BrokerTests.pump(serverEnd, clientEnd) }
    }

    func makePair(limits: BrokerSocket.Limits = .init(), start: Bool = true) -> Pair {
        let p = Pair(limits: limits)
        if start {
            p.client.start()
            p.server.start()
            p.pump()
        }
        return p
    }

    func testOpenPacketFirstThenTheSocketIsOpen() {
        let p = makePair(start: false)
        p.client.start()
        XCTAssertFalse(p.client.isOpen)
        var opened = 0
        p.client.onOpen = { opened += 1 }
        // Emits before the open packet wait (Primus buffers them) and go out after it, in order.
        p.client.emit("early", [.int(1)], ack: nil)
        p.server.start()
        XCTAssertTrue(p.server.isOpen)
        XCTAssertEqual(p.serverEnd.sentTexts, [#"0{"sid":"SID0123456789abcdefg","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":22020096}"#])
        p.pump()
        XCTAssertTrue(p.client.isOpen)
        XCTAssertEqual(opened, 1)
        XCTAssertEqual(p.client.handshake?.sid, "SID0123456789abcdefg")
        XCTAssertEqual(p.clientEnd.sentTexts, [#"4{"type":0,"data":["early",1]}"#])
    }

    func testClientWithoutAnOpenPacketGivesUp() {
        let p = makePair(start: false)
        p.client.start()
        p.timers.advance(9_999)
        XCTAssertEqual(p.clientClosed, [])
        p.timers.advance(1)
        XCTAssertEqual(p.clientClosed, ["no engine.io open packet within 10000 ms"])
        XCTAssertEqual(p.clientEnd.closedWith?.code, 1000)
    }

    func testMessageBeforeOpenIsAProtocolError() {
        let p = makePair(start: false)
        p.client.start()
        p.serverEnd.send(text: #"4"hello""#)
        p.pump()
        XCTAssertEqual(p.clientClosed, ["engine.io message before the open packet"])
    }

    /// engine.io server: a ping every pingInterval, answered by the client; no pong within pingTimeout drops it.
    func testEngineIOPingPongAndItsTimeout() {
        let p = makePair()
        for round in 1...3 {
            p.timers.advance(25_000)
            XCTAssertEqual(p.serverEnd.sentTexts.filter { $0 == "2" }.count, round, "one ping per interval")
            p.pump()
            XCTAssertEqual(p.clientEnd.sentTexts.filter { $0 == "3" }.count, round, "each ping answered")
        }
        XCTAssertTrue(p.server.isOpen)
        XCTAssertEqual(p.server.engineIOHeartbeats, 3)
        XCTAssertEqual(p.client.engineIOHeartbeats, 3)
        // The client stops reading: its pong never comes.
        p.clientEnd.setReading(false)
        p.timers.advance(25_000)
        p.timers.advance(19_999)
        XCTAssertEqual(p.serverClosed, [])
        p.timers.advance(1)
        XCTAssertEqual(p.serverClosed, ["engine.io ping timeout: no pong within 20000 ms"])
        XCTAssertFalse(p.server.isOpen)
        XCTAssertEqual(p.serverEnd.sentTexts.last, "1", "an engine.io close packet before the websocket close")
    }

    /// Primus client: no pong within 10 s of a ping drops the socket (before engine.io's 45 s deadline).
    func testPrimusPongTimeout() {
        let p = makePair()
        p.serverEnd.setReading(false)  // the server hears nothing, so no pong comes
        p.timers.advance(34_999)
        XCTAssertEqual(p.clientClosed, [])
        p.timers.advance(1)
        XCTAssertEqual(p.clientClosed, ["primus pong timeout: no pong within 10000 ms"])
        XCTAssertEqual(p.clientEnd.sentTexts.filter { $0.hasPrefix(#"4"primus::ping::"#) }.count, 1)
    }

    func testClientEngineIODeadline() {
        var hb = BrokerSocket.ClientHeartbeat()
        hb.primusPingMilliseconds = 10_000_000  // out of the way
        let (s, c) = InMemoryChannel.pair()
        let timers = ManualTunnelTimers()
        let client = BrokerSocket(channel: c, role: .client(hb), timers: timers)
        var closed: [String] = []
        client.onClose = { closed.append($0) }
        client.start()
        s.send(text: #"0{"sid":"x","upgrades":[],"pingInterval":1000,"pingTimeout":500,"maxPayload":100}"#)
        c.deliverInbox()
        XCTAssertTrue(client.isOpen)
        timers.advance(1_400)
        s.send(text: "2")
        c.deliverInbox()
        XCTAssertEqual(c.sentTexts, ["3"])
        timers.advance(1_499)
        XCTAssertEqual(closed, [], "the deadline restarts at each ping")
        timers.advance(1)
        XCTAssertEqual(closed, ["engine.io ping timeout: no ping from the server within 1500 ms"])
    }

    /// Primus client heartbeat: `primus::ping::<epoch ms>` every 25 s, the server echoes it as a pong.
    func testPrimusHeartbeat() throws {
        let p = makePair()
        p.timers.advance(25_000)
        let ping = #"4"primus::ping::1733318425000""#
        XCTAssertEqual(p.clientEnd.sentTexts.last, ping)
        p.pump()
        XCTAssertEqual(p.serverEnd.sentTexts.last, #"4"primus::pong::1733318425000""#)
        // Pings keep coming as long as pongs do; the engine.io pings interleave.
        for _ in 0..<8 { p.timers.advance(5_000); p.pump() }
        XCTAssertEqual(p.clientClosed, [])
        XCTAssertEqual(p.serverClosed, [])
        XCTAssertEqual(p.clientEnd.sentTexts.filter { $0.hasPrefix(#"4"primus::ping::"#) }.count, 2)
        XCTAssertEqual(p.serverEnd.sentTexts.filter { $0.hasPrefix(#"4"primus::pong::"#) }.count, 2)
        XCTAssertEqual(p.client.primusHeartbeats, 2)
        XCTAssertEqual(p.server.primusHeartbeats, 2)
    }

    func testEventsAndAcksBothWays() {
        let p = makePair()
        var serverGot: [(String, [JSON])] = []
        p.server.onEvent = { name, args, ack in
            serverGot.append((name, args))
            ack?([.object([("status", .int(200))])])
            ack?([.string("second call is ignored")])
        }
        var acks: [[JSON]] = []
        p.client.emit("identify", [.object([("token", .string("t"))])], ack: nil)
        p.client.emit("request", [.string("a")], ack: { acks.append($0) })
        p.client.emit("request", [.string("b")], ack: { acks.append($0) })
        XCTAssertEqual(p.client.pendingAckCount, 2)
        p.pump()
        XCTAssertEqual(serverGot.map(\.0), ["identify", "request", "request"])
        XCTAssertEqual(acks.map { JSON.array($0).serialized }, [#"[{"status":200}]"#, #"[{"status":200}]"#])
        XCTAssertEqual(p.client.pendingAckCount, 0)
        XCTAssertEqual(p.clientEnd.sentTexts, [
            #"4{"type":0,"data":["identify",{"token":"t"}]}"#,
            #"4{"type":0,"data":["request","a"],"id":1}"#,
            #"4{"type":0,"data":["request","b"],"id":2}"#,
        ])
        XCTAssertEqual(p.serverEnd.sentTexts.dropFirst().map { $0 }, [
            #"4{"id":1,"type":1,"data":[{"status":200}]}"#,
            #"4{"id":2,"type":1,"data":[{"status":200}]}"#,
        ], "one ack per id, the repeated call sends nothing")
        // The server's ids are its own count.
        var serverAck: [JSON]?
        p.client.onEvent = { _, args, ack in ack?(args) }
        p.server.emit("request", [.int(5)], ack: { serverAck = $0 })
        p.pump()
        XCTAssertEqual(p.serverEnd.sentTexts.last, #"4{"type":0,"data":["request",5],"id":1}"#)
        XCTAssertEqual(serverAck.map { JSON.array($0).serialized }, "[5]")
    }

    func testBadMessagesAreReportedAndSkipped() {
        let p = makePair()
        var errors: [String] = []
        var events: [String] = []
        p.server.onProtocolError = { errors.append("\($0)") }
        p.server.onEvent = { name, _, _ in events.append(name) }
        for text in ["4{oops", #"4{"type":9,"data":["x"]}"#, #"4{"id":77,"type":1,"data":[]}"#, #"4{"$binary":"!!"}"#] {
            p.clientEnd.send(text: text)
        }
        p.clientEnd.send(binary: [1, 2, 3])
        p.clientEnd.send(text: #"4{"type":0,"data":["still-alive"]}"#)
        p.pump()
        XCTAssertEqual(errors.count, 5, "\(errors)")
        XCTAssertTrue(errors[0].hasPrefix("primus: message is not EJSON"), errors[0])
        XCTAssertEqual(errors[1], "primus-emitter: unknown packet type 9")
        XCTAssertEqual(errors[2], "primus-emitter: ack for id 77, which no emit waits for")
        XCTAssertTrue(errors[3].contains("$binary is not a base64 string"), errors[3])
        XCTAssertEqual(errors[4], "primus: binary message of 3 bytes where EJSON text is expected")
        XCTAssertEqual(events, ["still-alive"])
        XCTAssertTrue(p.server.isOpen)
        // An engine.io packet that does not parse closes the socket, as engine.io does.
        p.clientEnd.send(text: "9")
        p.pump()
        XCTAssertEqual(p.serverClosed, ["engine.io parse error: engine.io: unknown packet type '9'"])
    }

    func testPendingAcksAreBoundedAndDroppedOnClose() {
        var limits = BrokerSocket.Limits()
        limits.maxPendingAcks = 3
        let p = makePair(limits: limits)
        p.serverEnd.setReading(false)  // acks never come
        var called = 0
        for _ in 0..<3 { p.client.emit("request", [], ack: { _ in called += 1 }) }
        XCTAssertEqual(p.client.pendingAckCount, 3)
        XCTAssertTrue(p.client.isOpen)
        p.client.emit("request", [], ack: { _ in called += 1 })
        XCTAssertEqual(p.clientClosed, ["more than 3 emits wait for an ack"])
        XCTAssertEqual(p.client.pendingAckCount, 0, "dropped on close")
        XCTAssertEqual(called, 0, "never called: onClose told their owner")
        p.client.emit("after", [], ack: { _ in called += 1 })
        XCTAssertEqual(p.clientEnd.sentTexts.filter { $0.contains("after") }, [], "nothing is sent after close")
    }

    func testQueueBeforeOpenIsBounded() {
        var limits = BrokerSocket.Limits()
        limits.maxQueuedBeforeOpen = 2
        let p = makePair(limits: limits, start: false)
        p.client.start()
        p.client.emit("a", [], ack: nil)
        p.client.emit("b", [], ack: nil)
        p.client.emit("c", [], ack: nil)
        XCTAssertEqual(p.clientClosed, ["more than 2 emits queued before the socket opened"])
    }

    func testClosingBothWays() {
        let p = makePair()
        var acked = false
        p.client.emit("request", [], ack: { _ in acked = true })
        p.server.end(reason: "token revoked", allowReconnect: false)
        XCTAssertEqual(p.serverClosed, ["token revoked"])
        XCTAssertEqual(Array(p.serverEnd.sentTexts.suffix(2)), [#"4"primus::server::close""#, "1"])
        p.pump()
        XCTAssertTrue(p.client.peerAskedNoReconnect)
        XCTAssertEqual(p.clientClosed, ["the peer sent an engine.io close packet"])
        XCTAssertFalse(acked)
        XCTAssertEqual(p.timers.scheduledCount, 0, "every heartbeat timer cancelled")

        // A dropped connection closes with its reason; close is idempotent and onClose fires once.
        let q = makePair()
        q.clientEnd.drop("connection reset")
        q.client.close(reason: "again")
        XCTAssertEqual(q.clientClosed, ["websocket dropped: connection reset"])
        XCTAssertFalse(q.client.peerAskedNoReconnect)
        // The server learns from the websocket close.
        q.server.close(reason: "restart")
        q.pump()
        XCTAssertEqual(q.serverClosed, ["restart"])
    }
}

