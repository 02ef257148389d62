// The tunnel's pure codecs from tables: engine.io v4 packets, Primus messages, primus-emitter packets,
// EJSON typed values, and the /response-data framing in every chunking; each refusal with its reason.
import BrokerKit
import Core
import XCTest

final class ProtocolCodecTests: XCTestCase {
    // MARK: engine.io

    func testEngineIOPacketsRoundTrip() throws {
        let open = EngineIOHandshake(sid: "lv_VI97HAXpY6yYWAAAC", pingInterval: 25000, pingTimeout: 20000, maxPayload: 1_000_000)
        let rows: [(EngineIOPacket, String)] = [
            // socketio/engine.io-protocol README, "Packet encoding" / the v4 example session.
            (.open(open), #"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#),
            (.close, "1"), (.ping(""), "2"), (.pong(""), "3"), (.ping("probe"), "2probe"), (.pong("probe"), "3probe"),
            (.message("hello €"), "4hello €"), (.message(""), "4"), (.upgrade, "5"), (.noop, "6"),
        ]
        for (packet, wire) in rows {
            XCTAssertEqual(packet.frame, .text(wire), "encoding \(packet)")
            XCTAssertEqual(try EngineIOPacket.decode(text: wire), packet, "decoding \(wire)")
        }
        XCTAssertEqual(EngineIOPacket.binaryMessage([1, 2, 255]).frame, .binary([1, 2, 255]))
        XCTAssertEqual(try EngineIOPacket.decode(text: "bAQID"), .binaryMessage([1, 2, 3]), "base64 binary (polling form) is read too")
    }

    func testEngineIORefusals() {
        let rows: [(String, String)] = [
            ("", "empty packet"),
            ("7", "unknown packet type '7'"),
            ("x", "unknown packet type 'x'"),
            ("\u{1}", "unknown packet type 0x1"),
            ("0", "open packet: invalid JSON"),
            ("0[]", "not a JSON object"),
            (#"0{"pingInterval":1,"pingTimeout":1}"#, "without a sid"),
            (#"0{"sid":"","pingInterval":1,"pingTimeout":1}"#, "without a sid"),
            (#"0{"sid":"a","pingInterval":-5,"pingTimeout":1}"#, "pingInterval missing or outside"),
            (#"0{"sid":"a","pingInterval":25000,"pingTimeout":1e300}"#, "pingTimeout missing or outside"),
            (#"0{"sid":"a","pingInterval":25000,"pingTimeout":"20000"}"#, "pingTimeout missing or outside"),
            (#"0{"sid":"a","pingInterval":1,"pingTimeout":1,"maxPayload":0}"#, "maxPayload outside"),
            (#"0{"sid":"a","pingInterval":1,"pingTimeout":1,"upgrades":[1]}"#, "upgrades holds a non-string"),
            ("2" + String(repeating: "p", count: 65), "ping/pong payload over 64 bytes"),
            ("b!!", "invalid base64"),
        ]
        for (wire, reason) in rows {
            XCTAssertThrowsError(try EngineIOPacket.decode(text: wire), wire) { e in
                XCTAssertTrue("\(e)".contains(reason), "\(wire): \(e) should say \(reason)")
                XCTAssertTrue("\(e)".hasPrefix("engine.io: "), "\(e)")
            }
        }
        // python-engineio announces pingInterval 0 for sub-second intervals: accepted.
        XCTAssertEqual(try EngineIOPacket.decode(text: #"0{"sid":"a","pingInterval":0,"pingTimeout":5000,"maxPayload":10}"#),
                       .open(EngineIOHandshake(sid: "a", pingInterval: 0, pingTimeout: 5000, maxPayload: 10)))
        XCTAssertThrowsError(try EngineIOPacket.decode(text: #"0{"sid":"a","pingInterval":1,"pingTimeout":0}"#))
        // v3 servers send no maxPayload: accepted with the v4 default as a bound.
        XCTAssertEqual(try EngineIOPacket.decode(text: #"0{"sid":"a","pingInterval":1,"pingTimeout":2}"#),
                       .open(EngineIOHandshake(sid: "a", pingInterval: 1, pingTimeout: 2, maxPayload: 1_000_000)))
    }

    // MARK: Primus

    func testPrimusMessages() throws {
        let rows: [(PrimusMessage, String)] = [
            (.ping("1733318400000"), #""primus::ping::1733318400000""#),
            (.pong("1733318400000"), #""primus::pong::1733318400000""#),
            (.serverClose, #""primus::server::close""#),
            (.id(""), #""primus::id::""#),
            (.data(.object([("type", .int(0)), ("data", .array([.string("x")]))])), #"{"type":0,"data":["x"]}"#),
            (.data(.string("plain")), #""plain""#),
            (.data(.int(42)), "42"),
        ]
        for (message, wire) in rows {
            XCTAssertEqual(message.encoded, wire)
            XCTAssertEqual(try PrimusMessage.decode(wire), message, wire)
        }
        // A `primus::` string of a kind Primus does not know is data (primus.js `protocol` returns false).
        XCTAssertEqual(try PrimusMessage.decode(#""primus::foo::bar""#), .data(.string("primus::foo::bar")))
        XCTAssertEqual(try PrimusMessage.decode(#""primus::""#), .data(.string("primus::")))
        // Primus's `+value`: the echo is the number as JavaScript writes it.
        XCTAssertEqual(PrimusMessage.heartbeatNumber("0001733318400000"), "1733318400000")
        XCTAssertEqual(PrimusMessage.heartbeatNumber(""), "0")
        XCTAssertEqual(PrimusMessage.heartbeatNumber("000"), "0")
        XCTAssertEqual(PrimusMessage.heartbeatNumber("9007199254740993"), "NaN")
        XCTAssertEqual(PrimusMessage.heartbeatNumber("12ab"), "NaN")
        XCTAssertEqual(PrimusMessage.heartbeatNumber(String(repeating: "9", count: 40)), "NaN")
        // U+2028/U+2029 escaped as Primus's "Hack 1" does (spark.js `_write`).
        XCTAssertEqual(PrimusMessage.data(.string("a\u{2028}b\u{2029}")).encoded, #""a\u2028b\u2029""#)
        XCTAssertThrowsError(try PrimusMessage.decode("{nope")) { XCTAssertTrue("\($0)".hasPrefix("primus: message is not EJSON")) }
    }

    // MARK: primus-emitter

    func testEmitterPackets() throws {
        let rows: [(EmitterPacket, String)] = [
            (.event(name: "identify", args: [.object([("capabilities", .array([.string("receive-post-streams")]))])], id: nil),
             #"{"type":0,"data":["identify",{"capabilities":["receive-post-streams"]}]}"#),
            (.event(name: "request", args: [.int(1), .null], id: 7), #"{"type":0,"data":["request",1,null],"id":7}"#),
            (.ack(id: 7, args: [.object([("status", .int(200))])]), #"{"id":7,"type":1,"data":[{"status":200}]}"#),
            (.ack(id: 1, args: []), #"{"id":1,"type":1,"data":[]}"#),
        ]
        for (packet, wire) in rows {
            XCTAssertEqual(packet.json.serialized, wire)
            XCTAssertEqual(try EmitterPacket(json: JSON.parse(wire)), packet, wire)
        }
        // id 0 is falsy in JavaScript: no ack wanted (emitter.js `if (packet.id)`).
        XCTAssertEqual(try EmitterPacket(json: JSON.parse(#"{"type":0,"data":["e"],"id":0}"#)), .event(name: "e", args: [], id: nil))
        let refusals: [(String, String)] = [
            ("[]", "not an object"),
            (#"{"data":["e"]}"#, "without a numeric type"),
            (#"{"type":2,"data":["e"]}"#, "unknown packet type 2"),
            (#"{"type":0,"data":[]}"#, "event without a name"),
            (#"{"type":0,"data":[5]}"#, "event without a name"),
            (#"{"type":0,"data":[""]}"#, "event name of 0 bytes"),
            (#"{"type":0,"data":"e"}"#, "data is not an array"),
            (#"{"type":0,"data":["e"],"id":"1"}"#, "id is not an integer"),
            (#"{"type":0,"data":["e"],"id":-1}"#, "id is not an integer"),
            (#"{"type":0,"data":["e"],"id":1.5}"#, "id is not an integer"),
            (#"{"type":0,"data":["e"],"id":9007199254740992}"#, "id is not an integer"),
            (#"{"type":1,"data":[]}"#, "ack without an id"),
            (#"{"type":0,"data":["e"\#(String(repeating: ",0", count: 65))]}"#, "66 arguments"),
        ]
        for (wire, reason) in refusals {
            XCTAssertThrowsError(try EmitterPacket(json: JSON.parse(wire)), wire) { e in
                XCTAssertTrue("\(e)".contains(reason), "\(wire): \(e) should say \(reason)")
            }
        }
    }

    // MARK: EJSON

    func testEJSONBinaryDatesAndEscapes() throws {
        let bytes: [UInt8] = [0, 1, 2, 253, 254, 255]
        let bin = EJSON.binary(bytes)
        XCTAssertEqual(bin.serialized, #"{"$binary":"AAEC/f7/"}"#)
        XCTAssertEqual(EJSON.bytes(of: bin), bytes)
        XCTAssertEqual(EJSON.bytes(of: try EJSON.decode(#"{"$binary":""}"#)), [])
        XCTAssertNil(EJSON.bytes(of: .string("AAEC")), "a string is not binary")
        XCTAssertNil(EJSON.bytes(of: .object([("$binary", .string("AAEC")), ("x", .int(1))])), "two keys: a plain object")
        XCTAssertEqual(EJSON.dateMilliseconds(of: try EJSON.decode(#"{"$date":1733318400000}"#)), 1_733_318_400_000)

        // A plain object shaped like a typed value is escaped on the way out and restored on the way in.
        let header = JSON.object([("$binary", .string("not base64 !"))])
        let escaped = EJSON.escape(plain: .object([("headers", header), ("list", .array([.object([("$date", .string("x"))])]))]))
        XCTAssertEqual(escaped.serialized, #"{"headers":{"$escape":{"$binary":"not base64 !"}},"list":[{"$escape":{"$date":"x"}}]}"#)
        let decoded = try EJSON.decode(escaped.serialized)
        XCTAssertEqual(EJSON.unescape(decoded).serialized, #"{"headers":{"$binary":"not base64 !"},"list":[{"$date":"x"}]}"#)
        // Typed values survive unescape; two-key objects of other shapes are plain.
        XCTAssertEqual(EJSON.unescape(bin), bin)
        XCTAssertEqual(EJSON.escape(plain: .object([("$type", .string("a")), ("b", .int(1))])).serialized, #"{"$type":"a","b":1}"#)

        let refusals: [(String, String)] = [
            (#"{"$binary":"@@@@"}"#, "$binary is not a base64 string"),
            (#"{"$binary":"QQ=A"}"#, "$binary is not a base64 string"),
            (#"{"$binary":"QQ="}"#, "$binary is not a base64 string"),
            (#"{"$binary":5}"#, "$binary is not a base64 string"),
            (#"{"a":[{"$date":"2024"}]}"#, "$date is not a time"),
            (#"{"$date":1e300}"#, "$date is not a time"),
            (#"{"$InfNaN":2}"#, "$InfNaN is not -1, 0 or 1"),
            (#"{"$escape":[1]}"#, "$escape does not hold an object"),
            (#"{"$escape":{"a":{"$binary":"!"}}}"#, "$binary is not a base64 string"),
            (#"{"$type":"oid","$value":"x"}"#, "custom EJSON type oid is not defined"),
            (#"{"$regexp":1,"$flags":"g"}"#, "$regexp/$flags are not strings"),
            (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "nesting"),
        ]
        for (wire, reason) in refusals {
            XCTAssertThrowsError(try EJSON.decode(wire), wire) { e in
                XCTAssertTrue("\(e)".lowercased().contains(reason.lowercased()), "\(wire): \(e) should say \(reason)")
            }
        }
        XCTAssertNoThrow(try EJSON.decode(#"{"$regexp":"a.b","$flags":"gi"}"#))
        XCTAssertNoThrow(try EJSON.decode(#"{"$InfNaN":-1}"#))
    }

    // MARK: broker events

    func testTunnelRequestFieldsAndRefusals() throws {
        // Buffer.toJSON's shape is read as bytes too (prepareRequest.ts reads `body.type === 'Buffer'`).
        let buffer = try TunnelRequest(json: JSON.parse(#"{"url":"/scan","method":"POST","body":{"type":"Buffer","data":[123,125]},"headers":{"x":["a","b"],"n":5},"streamingID":"s1"}"#))
        XCTAssertEqual(buffer.body, .bytes([123, 125]))
        XCTAssertEqual(buffer.headers.map { "\($0.0)=\($0.1)" }, ["x=a", "x=b", "n=5"])
        XCTAssertNil(buffer.requestId)
        // A JSON body from an older peer, and an escaped header map, come back plain.
        let escaped = try TunnelRequest(json: EJSON.decode(#"{"url":"/a","method":"GET","body":{"k":[1]},"headers":{"$escape":{"$date":"x"}},"streamingID":""}"#))
        XCTAssertEqual(escaped.body, .json(.object([("k", .array([.int(1)]))])))
        XCTAssertEqual(escaped.headers.first?.0, "$date")
        XCTAssertEqual(escaped.json.serialized, #"{"url":"/a","method":"GET","body":{"k":[1]},"headers":{"$escape":{"$date":"x"}},"streamingID":""}"#)
        let refusals: [(String, String)] = [
            (#"{"url":"http://evil/","method":"GET","streamingID":""}"#, "url is not a path"),
            (#"{"url":"/a b","method":"GET","streamingID":""}"#, "url is not a path"),
            (#"{"url":"/a\r\nHost: x","method":"GET","streamingID":""}"#, "url is not a path"),
            (#"{"url":"/a","method":"GE T","streamingID":""}"#, "method is not an HTTP token"),
            (#"{"url":"/a","method":"GET","headers":{"x":"a\r\nb: c"},"streamingID":""}"#, "holds CR, LF or NUL"),
            (#"{"url":"/a","method":"GET","headers":{"bad name":"v"},"streamingID":""}"#, "header name is not an HTTP token"),
            (#"{"url":"/a","method":"GET","headers":{"x":true},"streamingID":""}"#, "is not a string or number"),
            (#"{"url":"/a","method":"GET","headers":[],"streamingID":""}"#, "headers is not an object"),
            (#"{"url":"/a","method":"GET","streamingID":"../x"}"#, "streamingID is not a printable string"),
            (#"{"url":"/a","method":"GET","streamingID":5}"#, "streamingID is not a string"),
            (#"{"url":"/a","method":"GET","streamingID":"s","requestId":7}"#, "requestId is not a short string"),
            (#"{"url":"/a","method":"POST","body":{"type":"Buffer","data":[256]},"streamingID":"s"}"#, "Buffer holds a non-byte"),
        ]
        for (wire, reason) in refusals {
            XCTAssertThrowsError(try TunnelRequest(json: JSON.parse(wire)), wire) { e in
                XCTAssertTrue("\(e)".contains(reason), "\(wire): \(e) should say \(reason)")
            }
        }
        XCTAssertThrowsError(try ClientIdentify(json: JSON.parse(#"{"token":"t"}"#))) { XCTAssertTrue("\($0)".contains("without a metadata object")) }
        XCTAssertThrowsError(try ClientIdentify(json: JSON.parse(#"{"token":"","metadata":{}}"#))) { XCTAssertTrue("\($0)".contains("without a token")) }
        XCTAssertThrowsError(try ClientIdentify(json: JSON.parse(#"{"token":"t","metadata":{"capabilities":[],"clientId":5,"version":"4.200.0"}}"#))) {
            XCTAssertTrue("\($0)".contains("metadata.clientId"))
        }
    }

    // MARK: /response-data

    let sampleHead = ResponseDataHead(status: 200, headers: [("content-type", "application/json"), ("set-cookie", "a=1"), ("set-cookie", "b=2")])

    func testResponseDataHeadEncoding() {
        let bytes = ResponseDataEncoder.head(sampleHead)
        let json = #"{"status":200,"headers":{"content-type":"application/json","set-cookie":["a=1","b=2"]}}"#
        XCTAssertEqual(Array(bytes.prefix(4)), [UInt8(json.utf8.count), 0, 0, 0], "4-byte little-endian length")
        XCTAssertEqual(String(decoding: bytes.dropFirst(4), as: UTF8.self), json)
        let failed = ResponseDataEncoder.head(ResponseDataHead(status: 502, headers: [], errorType: "DOWNSTREAM_SERVER_ERROR"))
        XCTAssertEqual(String(decoding: failed.dropFirst(4), as: UTF8.self), #"{"status":502,"headers":{},"errorType":"DOWNSTREAM_SERVER_ERROR"}"#)
    }

    /// The same stream cut at every point and fed byte by byte: the same head and body come out.
    func testResponseDataDecoderInEveryChunking() throws {
        let body = Array((0..<300).map { UInt8($0 & 0xFF) })
        let stream = ResponseDataEncoder.head(sampleHead) + body
        for cut in 0...stream.count {
            var d = ResponseDataDecoder()
            var heads: [ResponseDataHead] = []
            var got: [UInt8] = []
            for part in [stream[0..<cut], stream[cut...]] {
                let out = try d.feed(part)
                if let h = out.head { heads.append(h) }
                got += out.body
            }
            try d.finish()
            XCTAssertEqual(heads, [sampleHead], "cut at \(cut)")
            XCTAssertEqual(got, body, "cut at \(cut)")
            XCTAssertEqual(d.bodyBytes, body.count)
        }
        var d = ResponseDataDecoder()
        var got: [UInt8] = []
        var headSeenAt: Int?
        for (i, b) in stream.enumerated() {
            let out = try d.feed([b][...])
            if out.head != nil { headSeenAt = i }
            got += out.body
        }
        XCTAssertEqual(headSeenAt, stream.count - body.count - 1, "the head completes on its last byte")
        XCTAssertEqual(got, body)
    }

    func testResponseDataRefusals() {
        func framed(_ json: String) -> [UInt8] {
            let n = json.utf8.count
            return [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), 0, 0] + Array(json.utf8)
        }
        let rows: [([UInt8], String)] = [
            ([0, 0, 0, 0], "length is 0"),
            ([0x01, 0x00, 0x10, 0x00], "length 1048577 is over the limit of 1048576 bytes"),
            ([0xFF, 0xFF, 0xFF, 0xFF], "length 4294967295 is over the limit"),
            (framed("nope"), "status/headers is not JSON"),
            (framed("[]"), "not a JSON object"),
            (framed(#"{"headers":{}}"#), "status missing or outside 100...599"),
            (framed(#"{"status":600}"#), "status missing or outside"),
            (framed(#"{"status":"200"}"#), "status missing or outside"),
            (framed(#"{"status":200,"headers":[]}"#), "headers is not an object"),
            (framed(#"{"status":200,"headers":{"a b":"x"}}"#), "header name is not an HTTP token"),
            (framed(#"{"status":200,"headers":{"x":"a\r\nset-cookie: evil"}}"#), "holds CR, LF or NUL"),
            (framed(#"{"status":200,"headers":{"x":{"y":1}}}"#), "not a string or number"),
            (framed(#"{"status":200,"errorType":5}"#), "errorType is not a short string"),
        ]
        for (bytes, reason) in rows {
            var d = ResponseDataDecoder()
            XCTAssertThrowsError(try d.feed(bytes[...] + [1, 2, 3]), reason) { e in
                XCTAssertTrue("\(e)".contains(reason), "\(e) should say \(reason)")
            }
            // Once failed, it stays failed: no body bytes slip through afterwards.
            XCTAssertThrowsError(try d.feed([9, 9][...]))
        }
        var cut = ResponseDataDecoder()
        XCTAssertNoThrow(try cut.feed([5, 0][...]))
        XCTAssertThrowsError(try cut.finish()) { XCTAssertTrue("\($0)".contains("ended after 2 of the 4 length bytes")) }
        var half = ResponseDataDecoder()
        XCTAssertNoThrow(try half.feed([10, 0, 0, 0, 123][...]))
        XCTAssertThrowsError(try half.finish()) { XCTAssertTrue("\($0)".contains("ended after 1 of 10 status/headers bytes")) }
        // A smaller configured bound is honoured.
        var small = ResponseDataDecoder(maxHeadBytes: 16)
        XCTAssertThrowsError(try small.feed(ResponseDataEncoder.head(sampleHead)[...])) { XCTAssertTrue("\($0)".contains("over the limit of 16 bytes")) }
    }
}
