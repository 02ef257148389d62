// A blocking TCP client for tests that must send exact bytes (malformed requests, trickles, pipelines).
import Foundation
import Glibc

public final class RawClient {
    public let fd: Int32

    /// Connects to 127.0.0.1:port; reads time out after `timeout` seconds so a test never hangs.
    /// `sendTimeout`, when set, bounds how long a send waits for a peer that has stopped reading.
    public init(port: Int, timeout: Double = 10, receiveBuffer: Int? = nil, sendTimeout: Double? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno)!) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let st = sendTimeout {
            var stv = timeval(tv_sec: Int(st), tv_usec: Int((st - Double(Int(st))) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stv, socklen_t(MemoryLayout<timeval>.size))
        }
        if var rb = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { let e = errno; close(fd); throw POSIXError(.init(rawValue: e)!) }
    }

    deinit { close(fd) }

    /// Sends all of `bytes`; returns false if the peer has closed.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Sends as much of `bytes` as the peer takes before a send times out (see `sendTimeout`) or
    /// fails; returns the count sent.
    public func sendUntilBlocked(_ bytes: [UInt8]) -> Int {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            off += n
        }
        return off
    }

    /// Whether the peer has closed the connection (end of stream or reset), without waiting.
    public var peerHasClosed: Bool {
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Makes the coming close a reset (SO_LINGER 0): the server sees ECONNRESET, not end of stream.
    public func resetOnClose() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    /// Half-closes: the server sees end of input but may still answer.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads once (up to `max` bytes); nil on timeout or error, [] on end of stream.
    public func readSome(max: Int = 65536) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        if n < 0 { return nil }
        return Array(buf[0..<n])
    }

    /// Reads until the peer closes (or the read timeout); returns everything read and whether it closed.
    public func readToEnd() -> (bytes: [UInt8], closed: Bool) {
        var all: [UInt8] = []
        while true {
            guard let chunk = readSome() else { return (all, false) }
            if chunk.isEmpty { return (all, true) }
            all += chunk
        }
    }

    /// Reads one response (head, then a Content-Length or chunked body); nil if the stream ends first.
    public func readResponse() -> RawResponse? {
        var buf: [UInt8] = pending
        pending = []
        func fill() -> Bool {
            guard let c = readSome(), !c.isEmpty else { return false }
            buf += c
            return true
        }
        var headEnd: Int?
        while headEnd == nil {
            if let r = find(buf, [13, 10, 13, 10]) { headEnd = r; break }
            if !fill() { return nil }
        }
        let head = String(decoding: buf[0..<headEnd!], as: UTF8.self)
        var rest = Array(buf[(headEnd! + 4)...])
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        let status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        var headers: [(String, String)] = []
        for l in lines {
            if let c = l.firstIndex(of: ":") {
                headers.append((String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        let response = RawResponse(status: status, headers: headers, body: [])
        if status == 100 { pending = rest; return response }
        if let cl = response.header("Content-Length").flatMap({ Int($0) }) {
            buf = rest
            while buf.count < cl { if !fill() { return nil } }
            pending = Array(buf[cl...])
            return RawResponse(status: status, headers: headers, body: Array(buf[0..<cl]))
        }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while true {
                while find(rest, [13, 10]) == nil { guard let c = readSome(), !c.isEmpty else { return nil }; rest += c }
                let le = find(rest, [13, 10])!
                let size = Int(String(decoding: rest[0..<le], as: UTF8.self), radix: 16) ?? 0
                while rest.count < le + 2 + size + 2 { guard let c = readSome(), !c.isEmpty else { return nil }; rest += c }
                body += rest[(le + 2)..<(le + 2 + size)]
                rest = Array(rest[(le + 2 + size + 2)...])
                if size == 0 { pending = rest; return RawResponse(status: status, headers: headers, body: body) }
            }
        }
        pending = rest
        return response
    }

    private var pending: [UInt8] = []

    private func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}

public struct RawResponse {
    public let status: Int
    public let headers: [(String, String)]
    public let body: [UInt8]
    public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    public var text: String { String(decoding: body, as: UTF8.self) }
}
