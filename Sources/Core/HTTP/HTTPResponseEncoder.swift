// Response framing decided and serialized in one place: a pure function of the request, the
// handler's answer and whether the connection must close, over bytes (no socket, no state).

/// How a response's body is delimited on the wire.
public enum ResponseFraming: Equatable, Sendable {
    /// No body may follow (1xx, 204, 304).
    case none
    case contentLength(Int)
    case chunked
    /// The body ends when the connection closes (HTTP/1.0 without a length).
    case closeDelimited
}

public enum HTTPResponseEncoder {
    /// What the encoder needs to know about the request being answered.
    public struct Request: Equatable, Sendable {
        public var isHead: Bool
        public var versionMinor: Int
        public init(isHead: Bool, versionMinor: Int) { self.isHead = isHead; self.versionMinor = versionMinor }
    }

    /// The framing of one response and what it implies for the connection.
    public struct Decision: Equatable, Sendable {
        public var framing: ResponseFraming
        /// Whether body bytes go on the wire (false for HEAD and for statuses without a body).
        public var sendsBody: Bool
        /// Whether body bytes are wrapped in chunks.
        public var chunksBody: Bool { sendsBody && framing == .chunked }
        /// Whether the connection closes after this response (and says so in `Connection: close`).
        public var closesConnection: Bool
        /// A 101 Switching Protocols: the handler's own `Connection: Upgrade` goes out as it is.
        public var switchesProtocols = false
    }

    /// Decides the framing: a known length is sent as Content-Length; without one, HTTP/1.1 gets
    /// chunked and HTTP/1.0 a body delimited by closing. `mustClose` carries the connection's own
    /// reasons (the request asked to close, a drain, an unread request body); a handler's own
    /// `Connection: close` also closes.
    public static func decide(status: Int, contentLength: Int?, headers: HTTPHeaders, request: Request, mustClose: Bool) -> Decision {
        let bodyAllowed = !(status == 204 || status == 304 || (100..<200).contains(status))
        var close = mustClose
        for (n, v) in headers.fields where n.equalsIgnoringASCIICase("Connection") {
            if v.commaSeparatedTokens().contains(where: { String($0).equalsIgnoringASCIICase("close") }) { close = true }
        }
        // A 101 that must close after all (a drain) is no switch: the handler's Connection is dropped.
        if status == 101 { return Decision(framing: .none, sendsBody: false, closesConnection: close, switchesProtocols: !close) }
        guard bodyAllowed else { return Decision(framing: .none, sendsBody: false, closesConnection: close) }
        let framing: ResponseFraming
        if let n = contentLength, n >= 0 { framing = .contentLength(n) }
        else if request.versionMinor >= 1 { framing = .chunked }
        else { framing = .closeDelimited; close = true }
        return Decision(framing: framing, sendsBody: !request.isHead, closesConnection: close)
    }

    /// `HTTP/1.1 <status> <reason>\r\n`.
    public static func statusLine(_ status: Int) -> [UInt8] {
        Array("HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\n".utf8)
    }

    /// Serializes a response head: the status line, `fixedLines` (Date and Server, already CRLF-ended),
    /// the handler's fields except the framing and persistence ones (which follow from `decision`),
    /// then the framing and Connection fields and the blank line.
    public static func encodeHead(statusLine: [UInt8], fixedLines: [UInt8], headers: HTTPHeaders, decision: Decision,
                                  request: Request, into out: inout [UInt8]) {
        out.append(contentsOf: statusLine)
        out.append(contentsOf: fixedLines)
        for (n, v) in headers.fields {
            if n.equalsIgnoringASCIICase("Content-Length") || n.equalsIgnoringASCIICase("Transfer-Encoding") { continue }
            if n.equalsIgnoringASCIICase("Connection") && !decision.switchesProtocols { continue }
            // A field whose name or value would break the head is dropped, never sent: handlers may
            // echo text from a request or a registry into a header.
            guard isSafeFieldName(n), isSafeFieldValue(v) else { continue }
            out.append(contentsOf: n.utf8)
            out.append(contentsOf: colonSpace)
            out.append(contentsOf: v.utf8)
            out.append(contentsOf: crlf)
        }
        switch decision.framing {
        case .contentLength(let n):
            out.append(contentsOf: contentLengthPrefix)
            appendDecimal(n, to: &out)
            out.append(contentsOf: crlf)
        case .chunked: out.append(contentsOf: chunkedLine)
        case .none, .closeDelimited: break
        }
        if decision.closesConnection {
            out.append(contentsOf: closeLine)
        } else if request.versionMinor == 0 {
            out.append(contentsOf: keepAliveLine)
        }
        out.append(contentsOf: crlf)
    }

    /// Appends one run of body bytes as the framing wants it (a chunk, or the bytes as they are).
    public static func encodeBody(_ bytes: UnsafeRawBufferPointer, decision: Decision, into out: inout [UInt8]) {
        guard decision.sendsBody, !bytes.isEmpty else { return }
        if decision.chunksBody {
            appendHex(bytes.count, to: &out)
            out.append(contentsOf: crlf)
            out.append(contentsOf: bytes)
            out.append(contentsOf: crlf)
        } else {
            out.append(contentsOf: bytes)
        }
    }

    /// Appends what ends the body on the wire (the last chunk), if the framing has one.
    public static func encodeEnd(decision: Decision, into out: inout [UInt8]) {
        if decision.chunksBody { out.append(contentsOf: lastChunk) }
    }

    /// The interim `100 Continue` response.
    public static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private static let crlf: [UInt8] = [13, 10]
    private static let colonSpace: [UInt8] = [58, 32]
    private static let contentLengthPrefix = Array("Content-Length: ".utf8)
    private static let chunkedLine = Array("Transfer-Encoding: chunked\r\n".utf8)
    private static let closeLine = Array("Connection: close\r\n".utf8)
    private static let keepAliveLine = Array("Connection: keep-alive\r\n".utf8)
    private static let lastChunk = Array("0\r\n\r\n".utf8)

    static func isSafeFieldName(_ n: String) -> Bool {
        HTTPRequestParser.isToken(n)
    }

    static func isSafeFieldValue(_ v: String) -> Bool {
        v.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
    }

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        var v = UInt(Swift.max(0, value))
        var digits = (UInt64(0), UInt64(0), UInt64(0))      // 24 bytes: enough for any UInt
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    static func appendHex(_ value: Int, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        var shift = (Int.bitWidth - 4)
        while shift > 0 && (value >> shift) & 0xF == 0 { shift -= 4 }
        hex.withUTF8Buffer { h in
            while shift >= 0 { out.append(h[(value >> shift) & 0xF]); shift -= 4 }
        }
    }
}
