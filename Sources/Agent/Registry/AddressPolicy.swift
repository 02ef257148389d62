// Hosts the registry client never contacts: link-local and cloud-metadata addresses, which a hostile
// token realm or redirect could point at to reach credentials.
import Glibc

enum AddressPolicy {
    /// Why `host` (a name or an IP literal) is refused, or nil when it may be contacted.
    static func refusal(host: String) -> String? {
        let h = host.lowercased()
        if h == "metadata.google.internal" || h == "metadata" { return "a cloud metadata host" }
        var v4 = in_addr()
        if inet_pton(AF_INET, h, &v4) == 1 {
            let a = UInt32(bigEndian: v4.s_addr)
            if a >> 16 == 0xA9FE { return "a link-local address (169.254.0.0/16)" }
            return nil
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, h, &v6) == 1 {
            let b = withUnsafeBytes(of: &v6) { Array($0) }
            if b[0] == 0xFD && b[1] == 0x00 && b[2] == 0x0E && b[3] == 0xC2 && b[4..<8].allSatisfy({ $0 == 0 }) {
                return "the cloud metadata range fd00:ec2::/64"
            }
            if b[0] == 0xFE && (b[1] & 0xC0) == 0x80 { return "a link-local address (fe80::/10)" }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF && b[12] == 169 && b[13] == 254 {
                return "a link-local address (169.254.0.0/16)"
            }
        }
        return nil
    }

    /// The refusal for a URL's host, or nil.
    static func refusal(url: String) -> String? {
        guard let host = URLParts.host(url) else { return "not an absolute http(s) URL" }
        return refusal(host: host)
    }
}
