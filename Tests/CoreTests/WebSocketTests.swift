// RFC 6455 frames, messages and the handshake key: the RFC's own examples, frames made and read by
// Python's `websockets` (Tests/websocket/frame_oracle.py) in both directions, and every refusal with
// its close code.
import Foundation
import TestSupport
import XCTest
@testable import Core

final class WebSocketTests: XCTestCase {
    let server = WebSocketFrameParser(role: .server)
    let client = WebSocketFrameParser(role: .client)

    func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    /// RFC 6455 §5.7.
    func testTheRFCExamples() {
        let hello = Array("Hello".utf8)
        let examples: [(String, WebSocketFrameParser, WebSocketFrame, [UInt8]?)] = [
            ("810548656c6c6f", client, WebSocketFrame(opcode: .text, payload: hello), nil),
            ("818537fa213d7f9f4d5158", server, WebSocketFrame(opcode: .text, payload: hello), [0x37, 0xfa, 0x21, 0x3d]),
            ("010348656c", client, WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)), nil),
            ("80026c6f", client, WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8)), nil),
            ("890548656c6c6f", client, WebSocketFrame(opcode: .ping, payload: hello), nil),
            ("8a8537fa213d7f9f4d5158", server, WebSocketFrame(opcode: .pong, payload: hello), [0x37, 0xfa, 0x21, 0x3d]),
        ]
        for (wire, parser, frame, key) in examples {
            XCTAssertEqual(parser.parse(bytes(wire)), .frame(frame, consumed: wire.count / 2), wire)
            XCTAssertEqual(hex(frame.serialized(maskingKey: key)), wire)
        }
        let b256 = WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 7, count: 256)).serialized()
        XCTAssertEqual(Array(b256.prefix(4)), [0x82, 0x7e, 0x01, 0x00])
        let b64k = WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 7, count: 65536)).serialized()
        XCTAssertEqual(Array(b64k.prefix(10)), [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(client.parse(b64k), .frame(WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 7, count: 65536)), consumed: 65546))
    }

    /// RFC 6455 §1.3's key and answer.
    func testHandshakeAccept() {
        XCTAssertEqual(WebSocketHandshake.accept(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        XCTAssertTrue(WebSocketHandshake.isValidKey("dGhlIHNhbXBsZSBub25jZQ=="))
        XCTAssertTrue(WebSocketHandshake.isValidKey(WebSocketHandshake.makeKey()))
        XCTAssertNotEqual(WebSocketHandshake.makeKey(), WebSocketHandshake.makeKey())
        for bad in ["", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZSE=", "!!!!!!!!!!!!!!!!!!!!!!==", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            XCTAssertFalse(WebSocketHandshake.isValidKey(bad), bad)
        }
    }

    /// Frames `websockets` serializes (masked and not, 0 to 70000 bytes, fragments, control frames) parse to
    /// what it meant, and re-serialize to the same bytes with the same key.
    func testFramesMadeByPythonWebsockets() throws {
        let r = try runProcess(projectPython, [repositoryRoot.appendingPathComponent("Tests/websocket/frame_oracle.py").path, "make"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        var count = 0
        for line in r.stdout.split(separator: "\n") {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let wire = bytes(o["wire"] as! String), masked = o["masked"] as! Bool
            let want = WebSocketFrame(fin: o["fin"] as! Bool, opcode: WebSocketFrame.Opcode(rawValue: UInt8(o["opcode"] as! Int))!,
                                      payload: bytes(o["payload"] as! String))
            let parser = masked ? server : client
            XCTAssertEqual(parser.parse(wire), .frame(want, consumed: wire.count), String(line.prefix(80)))
            let key = masked ? Array(wire[(wire[1] & 0x7f == 127 ? 10 : wire[1] & 0x7f == 126 ? 4 : 2)...].prefix(4)) : nil
            XCTAssertEqual(want.serialized(maskingKey: key), wire, String(line.prefix(80)))
            XCTAssertEqual((masked ? client : server).parse(wire).isError, true, "the other role refuses it")
            count += 1
        }
        XCTAssertEqual(count, 130)
    }

    /// What we serialize, `websockets` reads back as the same frame.
    func testFramesReadByPythonWebsockets() throws {
        var frames: [(WebSocketFrame, Bool)] = []
        for size in [0, 3, 125, 126, 65535, 65536, 100_000] {
            frames.append((WebSocketFrame(opcode: .binary, payload: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }), true))
            frames.append((WebSocketFrame(fin: false, opcode: .text, payload: Array(String(repeating: "é", count: size / 2).utf8)), false))
        }
        frames.append((WebSocketFrame(opcode: .close, payload: WebSocketClose.payload(code: 1001, reason: "going away")), true))
        frames.append((WebSocketFrame(opcode: .ping, payload: Array("primus::ping::1".utf8)), false))
        let input = frames.map { f, masked in "\(masked ? 1 : 0) \(hex(f.serialized(maskingKey: masked ? [1, 2, 3, 250] : nil)))" }.joined(separator: "\n") + "\n"
        let r = try runProcess(projectPython, [repositoryRoot.appendingPathComponent("Tests/websocket/frame_oracle.py").path, "read"],
                               timeout: 60, stdin: Data(input.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, frames.count)
        for (line, (frame, _)) in zip(lines, frames) {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertNil(o["error"], String(line))
            XCTAssertEqual(o["opcode"] as? Int, Int(frame.opcode.rawValue))
            XCTAssertEqual(o["fin"] as? Bool, frame.fin)
            XCTAssertEqual(o["length"] as? Int, frame.payload.count)
            let h = SHA256()
            h.update(frame.payload)
            XCTAssertEqual(o["sha256"] as? String, h.finalizeHex())
        }
    }

    func testEveryStrictPrefixNeedsMore() {
        for wire in [WebSocketFrame(opcode: .text, payload: Array("Hello".utf8)).serialized(maskingKey: [9, 8, 7, 6]),
                     WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 1, count: 300)).serialized(maskingKey: [1, 1, 1, 1]),
                     WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 1, count: 70_000)).serialized(maskingKey: [1, 1, 1, 1])] {
            for n in 0..<wire.count where n < 20 || n > wire.count - 3 {
                XCTAssertEqual(server.parse(Array(wire.prefix(n))), .needMore, "\(n) of \(wire.count)")
            }
            if case .frame(_, let used) = server.parse(wire + [0x81]) { XCTAssertEqual(used, wire.count) } else { XCTFail("no frame") }
        }
    }

    func testRefusalsAndTheirCloseCodes() {
        let cases: [(String, WebSocketFrameParser, UInt16, String)] = [
            ("c100", client, 1002, "reserved bits"),
            ("8300", client, 1002, "unknown opcode 3"),
            ("8b00", client, 1002, "unknown opcode 11"),
            ("8100", server, 1002, "not masked"),
            ("818000000000", client, 1002, "is masked"),
            ("017e0010", client, 1002, "length 16 not in its shortest form"),
            ("027f0000000000000010", client, 1002, "length 16 not in its shortest form"),
            ("027f8000000000000000", client, 1002, "top bit set"),
            ("0900", client, 1002, "fragmented control frame"),
            ("897e007e", client, 1002, "control frame of 126 bytes"),
            ("880103", client, 1002, "1-byte payload"),
            ("880203ed", client, 1002, "close code 1005 may not be sent"),
            ("880203e7", client, 1002, "close code 999 may not be sent"),
            ("880413880000", client, 1002, "close code 5000 may not be sent"),
            ("880403e8c328", client, 1007, "close reason is not UTF-8"),
        ]
        for (wire, parser, code, message) in cases {
            guard case .error(let e) = parser.parse(bytes(wire)) else { XCTFail("\(wire) accepted"); continue }
            XCTAssertEqual(e.closeCode, code, wire)
            XCTAssertTrue(e.message.contains(message), "\(wire): \(e.message)")
        }
        let small = WebSocketFrameParser(role: .client, maxPayload: 1000)
        XCTAssertEqual(small.parse(bytes("827e03e9")), .error(WebSocketError(1009, "frame of 1001 bytes, more than 1000")),
                       "refused from the header, before the payload arrives")
    }

    func testMessagesFromFragments() {
        var a = WebSocketMessageAssembler(maxMessage: 10)
        let e = Array("é".utf8)                                   // a character split across two fragments
        XCTAssertEqual(a.add(WebSocketFrame(fin: false, opcode: .text, payload: Array("ab".utf8) + [e[0]])), .success(nil))
        XCTAssertEqual(a.add(WebSocketFrame(opcode: .ping, payload: [1])), .success(.ping([1])), "control frames between fragments")
        XCTAssertEqual(a.add(WebSocketFrame(fin: false, opcode: .continuation, payload: [e[1]])), .success(nil))
        XCTAssertEqual(a.add(WebSocketFrame(opcode: .continuation, payload: Array("c".utf8))), .success(.text("abéc")))
        XCTAssertEqual(a.add(WebSocketFrame(opcode: .binary, payload: [0, 255])), .success(.binary([0, 255])))
        XCTAssertEqual(a.add(WebSocketFrame(opcode: .close, payload: WebSocketClose.payload(code: 1000, reason: "done"))),
                       .success(.close(code: 1000, reason: "done")))
        XCTAssertEqual(a.add(WebSocketFrame(opcode: .close, payload: [])), .success(.close(code: nil, reason: "")))

        XCTAssertEqual(a.add(WebSocketFrame(opcode: .continuation, payload: [])).failure?.closeCode, 1002, "nothing to continue")
        var b = WebSocketMessageAssembler(maxMessage: 10)
        _ = b.add(WebSocketFrame(fin: false, opcode: .binary, payload: [1]))
        XCTAssertEqual(b.add(WebSocketFrame(opcode: .text, payload: [])).failure?.closeCode, 1002, "a new message mid-fragment")
        var c = WebSocketMessageAssembler(maxMessage: 10)
        XCTAssertEqual(c.add(WebSocketFrame(opcode: .text, payload: [0xc3, 0x28])).failure?.closeCode, 1007)
        _ = c.add(WebSocketFrame(fin: false, opcode: .binary, payload: [UInt8](repeating: 0, count: 6)))
        XCTAssertEqual(c.add(WebSocketFrame(fin: false, opcode: .continuation, payload: [UInt8](repeating: 0, count: 6))).failure?.closeCode, 1009)
    }

    func testClosePayloadKeepsWholeCharacters() {
        let p = WebSocketClose.payload(code: 1001, reason: String(repeating: "é", count: 100))
        XCTAssertEqual(p.count, 2 + 122, "123 bytes would cut the 62nd é in half")
        XCTAssertEqual(client.parse(WebSocketFrame(opcode: .close, payload: p).serialized()).isError, false)
    }
}

extension WebSocketFrameParser.Outcome {
    var isError: Bool { if case .error = self { return true } else { return false } }
}
