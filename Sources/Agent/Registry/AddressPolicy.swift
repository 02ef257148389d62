// Addresses the registry client never contacts: link-local and cloud-metadata ones, which a hostile
// token realm or redirect (or a name that resolves there) could point at to reach credentials.
import Core
import Glibc

enum AddressPolicy {
    /// Why `host` (a name or an IP literal) is refused, or nil when it may be contacted.
    static func refusal(host: String) -> String? {
        let h = host.lowercased()
        if h == "metadata.google.internal" || h == "metadata" { return "a cloud metadata host" }
        var v4 = in_addr()
        if inet_pton(AF_INET, h, &v4) == 1 {
            return forbiddenRange(withUnsafeBytes(of: &v4) { Array($0) }).map { "a \($0.label) address (\($0.range))" }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, h, &v6) == 1 {
            return forbiddenRange(withUnsafeBytes(of: &v6) { Array($0) }).map { "a \($0.label) address (\($0.range))" }
        }
        return nil
    }

    /// The refusal for a URL's host, or nil.
    static func refusal(url: String) -> String? {
        guard let host = URLParts.host(url) else { return "not an absolute http(s) URL" }
        return refusal(host: host)
    }

    /// Why a resolved address may not be connected to, e.g. "link-local / cloud metadata", or nil.
    static func refusal(address: ConnectAddress) -> String? { forbiddenRange(address.bytes)?.label }

    /// The connect-time check every registry, token and redirect request carries: a name that resolves
    /// to a refused address is turned down before a socket exists.
    static var connectFilter: ConnectFilter { { refusal(address: $0) } }

    /// The refused range an IPv4 (4 bytes) or IPv6 (16 bytes) address falls in.
    static func forbiddenRange(_ b: [UInt8]) -> (label: String, range: String)? {
        let metadata4 = (label: "link-local / cloud metadata", range: "169.254.0.0/16")
        if b.count == 4 { return b[0] == 169 && b[1] == 254 ? metadata4 : nil }
        guard b.count == 16 else { return nil }
        if b[0..<8] == [0xFD, 0x00, 0x0E, 0xC2, 0, 0, 0, 0] { return ("cloud metadata", "fd00:ec2::/64") }
        if b[0] == 0xFE && (b[1] & 0xC0) == 0x80 { return ("link-local", "fe80::/10") }
        // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
        let embeds = b[0..<10].allSatisfy({ $0 == 0 }) && ((b[10] == 0xFF && b[11] == 0xFF) || (b[10] == 0 && b[11] == 0))
        let nat64 = b[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]
        if (embeds || nat64) && b[12] == 169 && b[13] == 254 { return metadata4 }
        return nil
    }
}
