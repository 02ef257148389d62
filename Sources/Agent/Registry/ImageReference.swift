// `repository[:tag]` or `repository@sha256:<hex>`: which image in a registry.

public struct ImageReference: Equatable, Sendable, CustomStringConvertible {
    public let repository: String
    public let tag: String?
    public let digest: String?

    /// Parses a reference relative to a registry (no host part).
    public init(parsing raw: String) throws(RegistryError) {
        var rest = Substring(raw)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            guard ImageReference.isDigest(digest!) else {
                throw RegistryError(.invalidInput, registry: "", "invalid digest in \"\(raw)\"; expected sha256:<64 hex digits>")
            }
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard ImageReference.isTag(tag!) else { throw RegistryError(.invalidInput, registry: "", "invalid tag in \"\(raw)\"") }
        }
        let repo = String(rest)
        guard ImageReference.isRepository(repo) else {
            throw RegistryError(.invalidInput, registry: "", "invalid repository name \"\(repo)\" (lower-case letters, digits, separators . _ - /)")
        }
        self.repository = repo
        self.tag = digest == nil ? (tag ?? "latest") : tag
        self.digest = digest
    }

    public init(repository: String, tag: String? = nil, digest: String? = nil) {
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// The manifest reference to ask the registry for: the digest when there is one.
    public var manifestReference: String { digest ?? tag ?? "latest" }

    public var description: String {
        var s = repository
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    public static func isDigest(_ s: String) -> Bool {
        guard s.hasPrefix("sha256:") else { return false }
        let hex = s.utf8.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func isTag(_ s: String) -> Bool {
        guard let f = s.utf8.first, s.utf8.count <= 128, f != UInt8(ascii: "."), f != UInt8(ascii: "-") else { return false }
        return s.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// distribution's path-component grammar: [a-z0-9]+ joined by `.`, `_`, `__` or `-`+, components by `/`.
    static func isRepository(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 255 else { return false }
        for component in s.split(separator: "/", omittingEmptySubsequences: false) {
            let u = Array(component.utf8)
            guard let first = u.first, let last = u.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
            for c in u where !(isLowerAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")) { return false }
            if component.contains("..") || component.contains("___") || component.contains(".-") || component.contains("-.") { return false }
        }
        return true
    }

    private static func isAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    private static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) }
}
