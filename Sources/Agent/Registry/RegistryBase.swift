// Where a registry lives: scheme, host[:port] and an optional path prefix every /v2/ URL goes under.
import Core

public struct RegistryBase: Equatable, Sendable, CustomStringConvertible {
    public let scheme: String
    /// `host` or `host:port`, lower-cased.
    public let authority: String
    /// "" or a prefix such as `/artifactory/api/docker/docker-local` (no trailing slash).
    public let pathPrefix: String

    /// Parses `CR_BASE`: `[https://|http://]host[:port][/path/prefix]`; https when no scheme is given.
    /// Plain http is used only when the value says `http://`.
    public init(parsing raw: String) throws(RegistryError) {
        var s = Substring(raw.trimmed(" \t"))
        var scheme = "https"
        if let r = s.range(of: "://") {
            scheme = s[..<r.lowerBound].lowercased()
            s = s[r.upperBound...]
            guard scheme == "https" || scheme == "http" else {
                throw RegistryError(.invalidInput, registry: raw, "unsupported scheme \(scheme)://; use https:// or http://")
            }
        }
        let slash = s.firstIndex(of: "/") ?? s.endIndex
        let authority = s[..<slash].lowercased()
        var path = String(s[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/v2") { path.removeLast(3) }
        guard !authority.isEmpty, !authority.contains("@"), authority.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]_".contains($0) }) else {
            throw RegistryError(.invalidInput, registry: raw, "registry base must be [https://|http://]host[:port][/path], got \"\(raw)\"")
        }
        if path.contains("?") || path.contains("#") || path.contains("..") {
            throw RegistryError(.invalidInput, registry: raw, "registry base path must be a plain path, got \"\(path)\"")
        }
        self.scheme = scheme
        self.authority = authority
        self.pathPrefix = path
    }

    /// `scheme://authority`
    public var origin: String { "\(scheme)://\(authority)" }

    /// The absolute URL of `v2Path` (which starts with `/v2/`) under the base.
    public func url(_ v2Path: String) -> String { origin + pathPrefix + v2Path }

    public var description: String { origin + pathPrefix }
}

extension String {
    func range(of needle: String) -> Range<Index>? { self[...].range(of: needle) }
}

extension Substring {
    func range(of needle: String) -> Range<Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
