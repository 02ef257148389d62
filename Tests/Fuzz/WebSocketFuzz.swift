// Fuzz target `websocket`: the frame parser over arbitrary bytes in both roles, then the message
// assembler over the frames it finds. A frame it accepts re-serializes to a frame the other direction
// reads back the same, within the payload limit; errors carry a close code a peer may receive.
// Then the client handshake's parsers: the answer's head (CONNECT or 101), the server URL, the proxy
// URL and NO_PROXY, over the same bytes as text.
import Core

enum WebSocketFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        for role in [WebSocketFrameParser.Role.server, .client] {
            let parser = WebSocketFrameParser(role: role, maxPayload: 4096)
            var assembler = WebSocketMessageAssembler(maxMessage: 8192)
            var rest = UnsafeRawBufferPointer(rebasing: data[...])
            while !rest.isEmpty {
                switch parser.parse(rest) {
                case .needMore:
                    rest = UnsafeRawBufferPointer(rebasing: rest[rest.endIndex...])
                case .error(let e):
                    fuzzCheck([1002, 1007, 1009].contains(e.closeCode), "close code \(e.closeCode): \(fuzzDescribe(data))")
                    rest = UnsafeRawBufferPointer(rebasing: rest[rest.endIndex...])
                case .frame(let frame, let used):
                    fuzzCheck(used >= 2 && used <= rest.count, "consumed \(used) of \(rest.count)")
                    fuzzCheck(frame.payload.count <= 4096, "payload \(frame.payload.count) over the limit")
                    let wire = frame.serialized(maskingKey: role == .client ? [1, 2, 3, 4] : nil)
                    let back = WebSocketFrameParser(role: role == .client ? .server : .client, maxPayload: 4096).parse(wire)
                    fuzzCheck(back == .frame(frame, consumed: wire.count), "round trip changed the frame: \(fuzzDescribe(data))")
                    if case .failure(let e) = assembler.add(frame) {
                        fuzzCheck([1002, 1007, 1009].contains(e.closeCode), "assembler close code \(e.closeCode)")
                        assembler = WebSocketMessageAssembler(maxMessage: 8192)
                    }
                    rest = UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + used)...])
                }
            }
        }
        handshakeParts(data)
    }

    private static func handshakeParts(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        if let end = WebSocketResponseHead.headEnd(bytes) {
            fuzzCheck(end >= 4 && end <= bytes.count && bytes[end - 4..<end].elementsEqual([13, 10, 13, 10]), "head end \(end)")
            if let head = WebSocketResponseHead(Array(bytes[..<end])) {
                fuzzCheck((100...999).contains(head.status), "status \(head.status)")
                _ = head.upgradeProblem(expectedAccept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let u = WebSocketURL(text) {
            fuzzCheck(!u.host.isEmpty && (1...65535).contains(u.port) && u.requestTarget.hasPrefix("/"), "url \(u): \(fuzzDescribe(data))")
            fuzzCheck(!u.requestTarget.contains("#"), "a fragment is never sent: \(u.requestTarget)")
        }
        if let p = WebSocketProxy(text) {
            fuzzCheck(!p.host.isEmpty && (1...65535).contains(p.port), "proxy \(p)")
        }
        let parts = text.split(separator: " ", maxSplits: 1)
        if parts.count == 2 {
            _ = WebSocketProxy.bypasses(host: String(parts[0]), noProxy: String(parts[1]))
            fuzzCheck(WebSocketProxy.bypasses(host: String(parts[0]), noProxy: "*"), "* bypasses every host")
        }
    }
}
