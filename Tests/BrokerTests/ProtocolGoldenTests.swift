// Our broker sockets produce, byte for byte, the transcripts in Tests/broker/golden/ (written from
// snyk/broker's and Primus's sources, each citing its lines), and read every line of them back.
import BrokerKit
import Core
import XCTest

final class ProtocolGoldenTests: XCTestCase {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("broker/golden")

    /// The `S> `/`C> ` lines of a transcript (comments dropped).
    func transcript(_ name: String) throws -> [String] {
        let text = try String(contentsOf: Self.goldenDirectory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("S> ") || $0.hasPrefix("C> ") }
    }

    let token = "7fe7a57b-aa0d-416a-97fa-472e1b2a8ee8"
    let clientId = "e9f4c1a6-5d2b-4c7e-9a3f-1b2c3d4e5f60"

    /// The classic client's clientConfig flags (configHelpers.ts getClientConfigMetadata), all off.
    var classicClientConfig: JSON {
        .object([("brokerClientId", .string(clientId)), ("version", .string("4.200.0"))]
                + ["haMode", "debugMode", "bodyLogMode", "credPooling", "privateCa", "tlsReject", "proxy", "customAccept",
                   "insecureDownstream", "universalBroker"].map { ($0, JSON.bool(false)) })
    }

    final class Session {
        let log = TranscriptLog()
        let timers = ManualTunnelTimers()
        let serverEnd: InMemoryChannel
        let clientEnd: InMemoryChannel
        let server: BrokerSocket
        let client: BrokerSocket
        var serverEvents: [(String, [JSON])] = []

        init() {
            (serverEnd, clientEnd) = InMemoryChannel.pair(transcript: log)
            server = BrokerSocket(channel: serverEnd, role: .server(BrokerSocket.serverHandshake(sid: "SID0123456789abcdefg")), timers: timers)
            client = BrokerSocket(channel: clientEnd, role: .client(.init()), timers: timers)
            server.onEvent = { [unowned self] name, args, _ in self.serverEvents.append((name, args)) }
        }

        func pump() { BrokerTests.pump(serverEnd, clientEnd) }
    }

    /// Both identifies, as snyk's server and client send them on connection.
    func handshake(_ s: Session) {
        s.client.onOpen = { [unowned s, token, clientId, classicClientConfig] in
            let filters = JSON.object([("private", .array([.object([("method", .string("GET")), ("path", .string("/list")),
                                                                    ("origin", .string("${CR_AGENT_URL}"))])])), ("public", .array([]))])
            let identify = ClientIdentify(token: token, clientId: clientId, version: "4.200.0", filters: filters, role: "primary",
                                          clientConfig: classicClientConfig)
            s.client.emit(BrokerEvent.identify, [identify.json], ack: nil)
        }
        s.client.start()
        s.server.start()
        s.server.emit(BrokerEvent.identify, [ServerIdentify().json], ack: nil)
        s.pump()
    }

    func testHandshake() throws {
        let s = Session()
        var serverIdentify: ServerIdentify?
        s.client.onEvent = { name, args, _ in if name == "identify" { serverIdentify = try? ServerIdentify(json: args[0]) } }
        handshake(s)
        XCTAssertEqual(s.log.lines, try transcript("handshake.txt"))
        XCTAssertEqual(serverIdentify?.receivesPostStreams, true)
        XCTAssertEqual(s.serverEvents.map(\.0), ["identify"])
        let got = try ClientIdentify(json: s.serverEvents[0].1[0])
        XCTAssertEqual(got.token, token)
        XCTAssertEqual(got.identifier, "72ebd5d1fdaf0f7e4875ea8a5caa1787c4cbd335283a0c09f6654a4e1b9bd9f3")
        XCTAssertEqual(got.clientId, clientId)
        XCTAssertEqual(got.role, "primary")
        XCTAssertEqual(got.capabilities, ["post-streams"])
        XCTAssertTrue(got.versionAcceptedBySnykServer)
        XCTAssertFalse(ClientIdentify(token: "t", clientId: "c", version: "4.99.9").versionAcceptedBySnykServer)
        XCTAssertFalse(try ClientIdentify(json: .string("old-token")).versionAcceptedBySnykServer, "pre-4.27 clients send a bare token")
        XCTAssertTrue(ClientIdentify(token: "t", clientId: "c", version: "local").versionAcceptedBySnykServer)
    }

    func testHeartbeat() throws {
        let s = Session()
        handshake(s)
        s.log.lines.removeAll()
        s.timers.advance(25_000)
        s.pump()
        XCTAssertEqual(s.log.lines, try transcript("heartbeat.txt"))
        XCTAssertTrue(s.server.isOpen && s.client.isOpen)
    }

    func testRequestEventsAndAck() throws {
        let s = Session()
        handshake(s)
        s.log.lines.removeAll()
        var received: [TunnelRequest] = []
        s.client.onEvent = { name, args, ack in
            guard name == BrokerEvent.request, let r = try? TunnelRequest(json: args[0]) else { return XCTFail("bad \(name)") }
            received.append(r)
            ack?([.object([("status", .int(200)), ("headers", .object([("content-type", .string("application/json"))])),
                           ("body", .string(#"{"ok":true}"#))])])
        }
        let streaming = TunnelRequest(url: "/list", method: "GET",
                                      headers: [("accept", "application/json"), ("snyk-request-id", "9b0b0d5e-1111-4222-8333-944455556666")],
                                      streamingID: "2c8d1b74-0d7e-4b6c-9f4e-5c1e2f3a4b5c", requestId: "9b0b0d5e-1111-4222-8333-944455556666")
        let legacy = TunnelRequest(url: "/healthcheck", method: "GET", headers: [], streamingID: "", requestId: "0d7e4b6c-2222-4333-8444-a55566667777")
        var answer: [JSON]?
        s.server.emit(BrokerEvent.request, [streaming.json], ack: nil)
        s.server.emit(BrokerEvent.request, [legacy.json], ack: { answer = $0 })
        s.pump()
        XCTAssertEqual(s.log.lines, try transcript("request.txt"))
        XCTAssertEqual(received, [streaming, legacy])
        XCTAssertEqual(answer?.first?["status"]?.int, 200)
        XCTAssertEqual(s.server.pendingAckCount, 0)
    }

    func testBinaryBody() throws {
        let s = Session()
        handshake(s)
        s.log.lines.removeAll()
        let body = Array(#"{"reference":"alpine:3.20","callback":"€"}"#.utf8)
        let request = TunnelRequest(url: "/scan", method: "POST", headers: [("content-type", "application/json"), ("content-length", String(body.count))],
                                    body: .bytes(body), streamingID: "5c1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", requestId: "6e7f8091-3333-4444-8555-b66677778888")
        var received: TunnelRequest?
        s.client.onEvent = { _, args, _ in received = try? TunnelRequest(json: args[0]) }
        s.server.emit(BrokerEvent.request, [request.json], ack: nil)
        s.pump()
        XCTAssertEqual(s.log.lines, try transcript("binary-body.txt"))
        XCTAssertEqual(received?.body, .bytes(body))
        XCTAssertEqual(received?.body.bytes, body)
        XCTAssertEqual(received?.header("Content-Type"), "application/json")
    }

    func testServerEndsWithoutReconnect() throws {
        let s = Session()
        handshake(s)
        s.log.lines.removeAll()
        var why: String?
        s.client.onClose = { why = $0 }
        s.server.end(reason: "token withdrawn", allowReconnect: false)
        s.pump()
        XCTAssertEqual(s.log.lines, try transcript("close.txt"))
        XCTAssertTrue(s.client.peerAskedNoReconnect)
        XCTAssertEqual(why, "the peer sent an engine.io close packet")
    }

    /// Every line of every transcript reads back through the decoders and re-encodes to itself.
    func testEveryGoldenLineDecodesAndReEncodes() throws {
        for name in ["handshake.txt", "heartbeat.txt", "request.txt", "binary-body.txt", "close.txt"] {
            for line in try transcript(name) {
                let wire = String(line.dropFirst(3))
                let packet = try EngineIOPacket.decode(text: wire)
                XCTAssertEqual(packet.frame, .text(wire), "\(name): \(wire)")
                guard case .message(let body) = packet else { continue }
                let message = try PrimusMessage.decode(body)
                XCTAssertEqual(message.encoded, body, "\(name): \(body)")
                if case .data(let json) = message {
                    let emitter = try EmitterPacket(json: json)
                    XCTAssertEqual(emitter.json.serialized, body, "\(name): \(body)")
                    if case .event("request", let args, _) = emitter { XCTAssertEqual(try TunnelRequest(json: args[0]).json.serialized, args[0].serialized) }
                }
            }
        }
    }

    func testResponseDataStreams() throws {
        let text = try String(contentsOf: Self.goldenDirectory.appendingPathComponent("response-data.txt"), encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
        XCTAssertEqual(lines.count, 6)
        let heads = [ResponseDataHead(status: 200, headers: [("content-type", "application/json"), ("set-cookie", "a=1"), ("set-cookie", "b=2")]),
                     ResponseDataHead(status: 502, headers: [("content-type", "text/plain")], errorType: "DOWNSTREAM_SERVER_ERROR")]
        for (k, head) in heads.enumerated() {
            let stream = hexBytes(String(lines[3 * k].dropFirst(4)))
            let headJSON = String(lines[3 * k + 1].dropFirst(5))
            let body = hexBytes(String(lines[3 * k + 2].dropFirst(5)))
            // Encoding: our head bytes plus the raw body are the golden stream.
            XCTAssertEqual(ResponseDataEncoder.head(head) + body, stream)
            // Decoding, in chunks of 1 to 7 bytes.
            for size in 1...7 {
                var d = ResponseDataDecoder()
                var got: [UInt8] = []
                var decoded: ResponseDataHead?
                var i = 0
                while i < stream.count {
                    let out = try d.feed(stream[i..<min(i + size, stream.count)])
                    if let h = out.head { decoded = h }
                    got += out.body
                    i += size
                }
                try d.finish()
                XCTAssertEqual(decoded, head)
                XCTAssertEqual(decoded?.json.serialized, headJSON)
                XCTAssertEqual(got, body)
            }
        }
    }

    func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}
