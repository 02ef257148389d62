// Addresses the registry client never contacts: link-local and cloud-metadata ones, the unspecified
// address, and IPv4 written in forms parsers disagree on, which a hostile token realm or redirect (or a
// name that resolves there) could point at to reach credentials. Private and loopback stay allowed:
// self-hosted registries live there. `REGISTRY_ALLOWED_HOSTS` narrows the rest to a list.
import Core
import Glibc

enum AddressPolicy {
    /// Why `host` (a name or an IP literal) is refused, or nil when it may be contacted.
    static func refusal(host raw: String) -> String? {
        var h = raw.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        while h.hasSuffix(".") && h.count > 1 { h.removeLast() }
        if h == "metadata.google.internal" || h == "metadata" || h == "metadata.goog" { return "a cloud metadata host" }
        var v4 = in_addr()
        if inet_pton(AF_INET, h, &v4) == 1 {
            return forbiddenRange(withUnsafeBytes(of: &v4) { Array($0) }).map { "a \($0.label) address (\($0.range))" }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, h, &v6) == 1 {
            return forbiddenRange(withUnsafeBytes(of: &v6) { Array($0) }).map { "a \($0.label) address (\($0.range))" }
        }
        if isLegacyIPv4(h) {
            return "an IPv4 address in decimal, octal, hex or short form (write it as four decimal parts)"
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

    /// Whether `host` is outside `allowed` (REGISTRY_ALLOWED_HOSTS): entries are host names or literals,
    /// matched exactly, or `.suffix` for every name under a domain. nil allows every host.
    static func outsideAllowList(host raw: String, allowed: [String]?) -> Bool {
        guard let allowed else { return false }
        var h = raw.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        while h.hasSuffix(".") && h.count > 1 { h.removeLast() }
        return !allowed.contains { entry in
            entry.hasPrefix(".") ? h.hasSuffix(entry) && h.count > entry.count : h == entry
        }
    }

    /// `REGISTRY_ALLOWED_HOSTS`: comma-separated, lower-cased, `[...]` stripped from IPv6 literals;
    /// nil when unset or empty.
    static func allowList(_ raw: String?) -> [String]? {
        guard let raw else { return nil }
        let entries = raw.split(separator: ",").map { part -> String in
            var e = part.trimmed(" \t").lowercased()
            if e.hasPrefix("[") && e.hasSuffix("]") { e = String(e.dropFirst().dropLast()) }
            return e
        }.filter { !$0.isEmpty }
        return entries.isEmpty ? nil : entries
    }

    /// True for what `inet_aton` (and so libcurl and many other resolvers) would read as an IPv4 address
    /// although it is not the four-part decimal form: `2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`,
    /// `169.254.43518`. Such a host is refused whatever it denotes, since parsers disagree on it.
    static func isLegacyIPv4(_ h: String) -> Bool {
        guard !h.isEmpty, h.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x78 || ($0 >= 0x61 && $0 <= 0x66) }) else { return false }
        var a = in_addr()
        return inet_aton(h, &a) != 0
    }

    /// The refused range an IPv4 (4 bytes) or IPv6 (16 bytes) address falls in.
    static func forbiddenRange(_ b: [UInt8]) -> (label: String, range: String)? {
        if b.count == 4 { return forbiddenIPv4(b[0], b[1], b[2], b[3]) }
        guard b.count == 16 else { return nil }
        if b.allSatisfy({ $0 == 0 }) { return ("unspecified", "::") }
        if b[0..<8] == [0xFD, 0x00, 0x0E, 0xC2, 0, 0, 0, 0] { return ("cloud metadata", "fd00:ec2::/64") }
        if b == [0xFD, 0x20, 0x00, 0xCE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54] { return ("cloud metadata", "fd20:ce::254") }
        if b[0] == 0xFE && (b[1] & 0xC0) == 0x80 { return ("link-local", "fe80::/10") }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return nil }   // ::1, loopback
        // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
        let embeds = b[0..<10].allSatisfy({ $0 == 0 }) && ((b[10] == 0xFF && b[11] == 0xFF) || (b[10] == 0 && b[11] == 0))
        let nat64 = b[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]
        if embeds || nat64 { return forbiddenIPv4(b[12], b[13], b[14], b[15]) }
        return nil
    }

    private static func forbiddenIPv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> (label: String, range: String)? {
        if a == 169 && b == 254 { return ("link-local / cloud metadata", "169.254.0.0/16") }
        if a == 0 { return ("unspecified (this network)", "0.0.0.0/8") }
        if a == 255 && b == 255 && c == 255 && d == 255 { return ("broadcast", "255.255.255.255") }
        if (a, b, c, d) == (168, 63, 129, 16) { return ("cloud metadata (Azure)", "168.63.129.16") }
        if (a, b, c, d) == (100, 100, 100, 200) { return ("cloud metadata (Alibaba)", "100.100.100.200") }
        return nil
    }
}
