// The connect-time address check: every address libcurl resolved is shown to the request's filter first.
import Glibc

/// An address an outbound request is about to open a socket to, after name resolution.
public struct ConnectAddress: Sendable, Equatable, CustomStringConvertible {
    /// `AF_INET`, `AF_INET6` (or another socket family, with no `bytes`).
    public let family: Int32
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public let port: Int

    public init(family: Int32, bytes: [UInt8], port: Int) {
        self.family = family
        self.bytes = bytes
        self.port = port
    }

    /// The textual address, e.g. `169.254.169.254` or `fd00:ec2::254`.
    public var ip: String {
        guard bytes.count == 4 || bytes.count == 16 else { return "address family \(family)" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { inet_ntop(bytes.count == 4 ? AF_INET : AF_INET6, $0.baseAddress, &text, socklen_t(text.count)) } != nil
        return ok ? String(cChars: text) : "?"
    }

    public var description: String { bytes.count == 16 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
}

/// Decides, at connect time, whether a request may open a socket to an address: nil allows it, a
/// reason refuses it (no socket is created, no packet sent) and libcurl tries the host's next address.
/// When every address is refused the request fails with `HTTPClientError.Kind.refused`. It runs on the
/// reactor thread inside libcurl, so it must not call back into the client. With a proxy it sees the
/// proxy's address, not the target's (the proxy resolves that).
public typealias ConnectFilter = (ConnectAddress) -> String?
