// The HTTP/1.1 request-head parser (RFC 9112): a pure function over bytes, restartable on "need more".

public struct HTTPParserLimits: Sendable {
    public var maxRequestLineBytes = 8 * 1024
    public var maxHeaderBytes = 16 * 1024
    public var maxHeaderCount = 100
    public init() {}
}

public enum HTTPHeadParseResult: Sendable {
    case needMore
    case complete(HTTPRequestHead, consumed: Int)
    case failure(HTTPError)
}

public enum HTTPRequestParser {
    private static let cr: UInt8 = 13, lf: UInt8 = 10, sp: UInt8 = 32, ht: UInt8 = 9, colon: UInt8 = 58

    /// Parses one request head from the start of `bytes`. Never reads past `bytes.count`; returns
    /// `.needMore` until the blank line that ends the head has arrived.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: HTTPParserLimits = HTTPParserLimits()) -> HTTPHeadParseResult {
        let b = bytes.bindMemory(to: UInt8.self)
        let n = b.count
        var i = 0
        // RFC 9112 §2.2: ignore at least one empty line before the request line.
        while i + 1 < n && b[i] == cr && b[i + 1] == lf && i < 8 { i += 2 }
        let lineStart = i

        // Request line.
        guard let lineEnd = findLineEnd(b, from: lineStart, limit: lineStart + limits.maxRequestLineBytes + 2) else {
            if n - lineStart > limits.maxRequestLineBytes + 1 { return .failure(HTTPError(414, "request line longer than \(limits.maxRequestLineBytes) bytes")) }
            return .needMore
        }
        if case .failure(let e) = lineEnd { return .failure(e) }
        guard case .found(let rlEnd) = lineEnd else { return .needMore }
        if rlEnd - lineStart > limits.maxRequestLineBytes { return .failure(HTTPError(414, "request line longer than \(limits.maxRequestLineBytes) bytes")) }

        var p = lineStart
        let methodStart = p
        while p < rlEnd && isTChar(b[p]) { p += 1 }
        if p == methodStart || p >= rlEnd || b[p] != sp { return .failure(HTTPError(400, "malformed request line: bad method")) }
        let method = string(b, methodStart, p)
        p += 1
        let targetStart = p
        while p < rlEnd && b[p] > sp && b[p] < 0x7F { p += 1 }
        if p == targetStart || p >= rlEnd || b[p] != sp { return .failure(HTTPError(400, "malformed request line: bad request-target")) }
        let target = string(b, targetStart, p)
        p += 1
        guard rlEnd - p == 8, b[p] == 0x48, b[p + 1] == 0x54, b[p + 2] == 0x54, b[p + 3] == 0x50, b[p + 4] == 0x2F,
              isDigit(b[p + 5]), b[p + 6] == 0x2E, isDigit(b[p + 7]) else {
            return .failure(HTTPError(400, "malformed request line: bad HTTP version"))
        }
        let major = Int(b[p + 5] - 0x30), minor = Int(b[p + 7] - 0x30)
        if major != 1 || minor > 1 { return .failure(HTTPError(505, "HTTP version \(major).\(minor) is not supported")) }
        if target.utf8.first != UInt8(ascii: "/") && method != "OPTIONS" && method != "CONNECT"
            && !target.hasPrefix("http://") && !target.hasPrefix("https://") {
            return .failure(HTTPError(400, "malformed request-target"))
        }

        // Header fields.
        var headers = HTTPHeaders()
        var q = rlEnd + 2
        let headerStart = q
        while true {
            if q - headerStart > limits.maxHeaderBytes { return .failure(HTTPError(431, "header block larger than \(limits.maxHeaderBytes) bytes")) }
            guard let r = findLineEnd(b, from: q, limit: headerStart + limits.maxHeaderBytes + 2) else {
                if n - headerStart > limits.maxHeaderBytes { return .failure(HTTPError(431, "header block larger than \(limits.maxHeaderBytes) bytes")) }
                return .needMore
            }
            guard case .found(let end) = r else {
                if case .failure(let e) = r { return .failure(e) }
                return .needMore
            }
            if end == q { q = end + 2; break }                 // the blank line ends the head
            if b[q] == sp || b[q] == ht { return .failure(HTTPError(400, "obsolete line folding in header field")) }
            if headers.count >= limits.maxHeaderCount { return .failure(HTTPError(431, "more than \(limits.maxHeaderCount) header fields")) }
            var c = q
            while c < end && isTChar(b[c]) { c += 1 }
            if c == q || c >= end || b[c] != colon { return .failure(HTTPError(400, "malformed header field name")) }
            let name = string(b, q, c)
            var vs = c + 1, ve = end
            while vs < ve && (b[vs] == sp || b[vs] == ht) { vs += 1 }
            while ve > vs && (b[ve - 1] == sp || b[ve - 1] == ht) { ve -= 1 }
            for k in vs..<ve where (b[k] < sp && b[k] != ht) || b[k] == 0x7F {
                return .failure(HTTPError(400, "control character in header field \(name)"))
            }
            headers.add(name, string(b, vs, ve))
            q = end + 2
        }
        if q - headerStart > limits.maxHeaderBytes + 2 { return .failure(HTTPError(431, "header block larger than \(limits.maxHeaderBytes) bytes")) }

        switch interpret(method: method, target: target, minor: minor, headers: headers) {
        case .success(let head): return .complete(head, consumed: q)
        case .failure(let e): return .failure(e)
        }
    }

    /// Derives framing, persistence and expectations from the header fields (RFC 9112 §6, §9).
    static func interpret(method: String, target: String, minor: Int, headers: HTTPHeaders) -> Result<HTTPRequestHead, HTTPError> {
        // One pass over the fields collects what framing and persistence depend on.
        var hosts = 0
        var te: [String] = [], cl: [String] = [], connection: [String] = []
        var expect: String?
        for (name, value) in headers.fields {
            switch name.utf8.count {
            case 4 where name.equalsIgnoringASCIICase("Host"): hosts += 1
            case 6 where name.equalsIgnoringASCIICase("Expect"): expect = value
            case 10 where name.equalsIgnoringASCIICase("Connection"): connection.append(value)
            case 14 where name.equalsIgnoringASCIICase("Content-Length"): cl.append(value)
            case 17 where name.equalsIgnoringASCIICase("Transfer-Encoding"): te.append(value)
            default: break
            }
        }
        if minor == 1 && hosts == 0 { return .failure(HTTPError(400, "missing Host header")) }
        if hosts > 1 { return .failure(HTTPError(400, "more than one Host header")) }

        var framing = BodyFraming.none
        if !te.isEmpty {
            if !cl.isEmpty { return .failure(HTTPError(400, "both Content-Length and Transfer-Encoding")) }
            if minor == 0 { return .failure(HTTPError(400, "Transfer-Encoding in an HTTP/1.0 request")) }
            let codings = te.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmed(" \t").lowercased() } }
            if codings.contains("") { return .failure(HTTPError(400, "empty Transfer-Encoding member")) }
            if codings.last != "chunked" {
                if codings.contains("chunked") { return .failure(HTTPError(400, "chunked is not the final transfer coding")) }
                return .failure(HTTPError(501, "unsupported transfer coding \(codings.last!)"))
            }
            if codings.count > 1 {
                if codings.dropLast().contains("chunked") { return .failure(HTTPError(400, "chunked applied more than once")) }
                return .failure(HTTPError(501, "unsupported transfer coding \(codings[0])"))
            }
            framing = .chunked
        } else if !cl.isEmpty {
            var length: Int?
            for field in cl {
                for member in field.split(separator: ",", omittingEmptySubsequences: false) {
                    let m = member.trimmed(" \t")
                    guard !m.isEmpty, m.utf8.count <= 18, m.utf8.allSatisfy(isDigit), let v = Int(m) else {
                        return .failure(HTTPError(400, "invalid Content-Length"))
                    }
                    if let l = length, l != v { return .failure(HTTPError(400, "conflicting Content-Length values")) }
                    length = v
                }
            }
            framing = length! > 0 ? .contentLength(length!) : .none
        }

        var keepAlive = minor == 1
        for field in connection {
            for token in field.commaSeparatedTokens() {
                if String(token).equalsIgnoringASCIICase("close") { keepAlive = false }
                else if minor == 0 && String(token).equalsIgnoringASCIICase("keep-alive") { keepAlive = true }
            }
        }
        var expectsContinue = false
        if let expect {
            guard expect.equalsIgnoringASCIICase("100-continue") else { return .failure(HTTPError(417, "unsupported expectation \(expect)")) }
            expectsContinue = minor == 1
        }
        return .success(HTTPRequestHead(method: method, target: target, versionMinor: minor, headers: headers,
                                        framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue))
    }

    private enum LineEnd { case found(Int), failure(HTTPError) }

    /// Finds the CRLF that ends the line starting at `from`; a CR not followed by LF, or an LF not
    /// preceded by CR, is malformed. Returns nil when the line is not complete yet.
    private static func findLineEnd(_ b: UnsafeBufferPointer<UInt8>, from: Int, limit: Int) -> LineEnd? {
        var k = from
        let end = Swift.min(b.count, limit)
        while k < end {
            let c = b[k]
            if c == lf { return .failure(HTTPError(400, "bare LF in request head")) }
            if c == cr {
                if k + 1 >= b.count { return nil }
                return b[k + 1] == lf ? .found(k) : .failure(HTTPError(400, "bare CR in request head"))
            }
            k += 1
        }
        return nil
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// An RFC 9110 token (a method, a field name): one or more tchars.
    public static func isToken(_ s: some StringProtocol) -> Bool {
        if let answer = s.utf8.withContiguousStorageIfAvailable({ !$0.isEmpty && $0.allSatisfy(isTChar) }) { return answer }
        return !s.isEmpty && s.utf8.allSatisfy(isTChar)
    }

    /// The same for a String, over its contiguous UTF-8 (the generic form costs a witness call per byte
    /// when called from another module).
    public static func isToken(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { !$0.isEmpty && $0.allSatisfy(isTChar) }
    }

    /// RFC 9110 tchar.
    @inline(__always) public static func isTChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }

    private static func string(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[from..<to]), as: UTF8.self)
    }
}

/// When a partial request head is worth parsing again: once a line may have ended (an LF arrived;
/// a bare CR is caught with the next LF) or once it has doubled since the last try. Parsing it again on every read of a
/// trickled head costs its size squared; with this, the bytes parsed stay within a small
/// multiple of the head's size (a line ending costs one parse, and a head has at most
/// `maxHeaderCount` + 1 lines before it fails).
public struct HeadReparseGate: Sendable {
    private var seen = 0
    private var next = 0

    public init() {}

    /// Forgets the last head (a new one starts).
    public mutating func reset() { seen = 0; next = 0 }

    /// Whether `head` (the partial head from its first byte) should be handed to the parser now.
    public func shouldParse(_ head: UnsafeRawBufferPointer) -> Bool {
        if seen == 0 || head.count >= next { return true }
        if head.count <= seen { return false }
        return UnsafeRawBufferPointer(rebasing: head[seen...]).contains(10)
    }

    /// The parser needed more after seeing all of `head`.
    public mutating func neededMore(_ head: UnsafeRawBufferPointer) {
        seen = head.count
        next = 2 * head.count
    }
}
