// Removes secrets from anything about to be logged: sensitive headers and settings, URL credentials,
// signed query parameters, broker tokens in paths, and every secret value registered at start-up.
import Synchronization

public enum Redaction {
    public static let mask = "[REDACTED]"

    private static let registered = Mutex<[String]>([])

    /// Names of settings and headers whose values are secret.
    public static func isSensitiveName(_ name: String) -> Bool {
        let u = name.uppercased()
        for word in ["TOKEN", "PASSWORD", "SECRET", "CREDENTIALS", "KEY", "AUTHORIZATION", "COOKIE", "SIGNATURE"] where u.contains(word) {
            return true
        }
        return false
    }

    /// Query parameters whose values are signatures or tokens.
    static func isSensitiveQueryParameter(_ name: String) -> Bool {
        let l = name.lowercased()
        return isSensitiveName(name) || l == "sig" || l == "token" || l == "x-amz-credential" || l == "code"
    }

    /// Registers a secret value (a token, a password) so that it is masked wherever it appears in a log
    /// line. Values shorter than 4 characters are ignored: masking them would garble ordinary text.
    public static func register(secret: String) {
        guard secret.utf8.count >= 4 else { return }
        registered.withLock { if !$0.contains(secret) { $0.append(secret); $0.sort { $0.utf8.count > $1.utf8.count } } }
    }

    /// Registers the values of every sensitive variable in `environment` (and their base64 forms' parts).
    public static func registerSecrets(fromEnvironment environment: [String: String]) {
        for (k, v) in environment where isSensitiveName(k) { register(secret: v) }
    }

    /// Masks every registered secret value occurring in `text`.
    public static func scrub(_ text: String) -> String {
        let secrets = registered.withLock { $0 }
        guard !secrets.isEmpty else { return text }
        var out = text
        for s in secrets where out.contains(s) { out = out.replacingAll(s, with: mask) }
        return out
    }

    /// A header value as it may be logged.
    public static func headerValue(name: String, value: String) -> String {
        isSensitiveName(name) || name.lowercased() == "proxy-authorization" ? mask : value
    }

    /// A URL or request-target as it may be logged: no userinfo password, no signed query values,
    /// no broker token in `/broker/<token>/`, `/primus/<token>/` or `/response-data/<token>/`.
    public static func url(_ text: String) -> String {
        var s = Substring(text)
        var prefix = ""
        if let schemeEnd = s.range(of: "://") {
            prefix = String(s[..<schemeEnd.upperBound])
            s = s[schemeEnd.upperBound...]
            let authorityEnd = s.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == " " }) ?? s.endIndex
            let authority = s[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                let user = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                prefix += (userinfo.contains(":") ? "\(user):\(mask)" : mask) + "@" + authority[authority.index(after: at)...]
            } else {
                prefix += authority
            }
            s = s[authorityEnd...]
        }
        let queryStart = s.firstIndex(of: "?")
        var path = String(queryStart.map { s[..<$0] } ?? s)
        path = redactTokenSegments(path)
        var result = prefix + path
        if let q = queryStart {
            let query = s[s.index(after: q)...]
            let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
                guard let eq = part.firstIndex(of: "=") else { return String(part) }
                let name = String(part[..<eq])
                return isSensitiveQueryParameter(name.removingPercentEncodingLeniently()) ? "\(name)=\(mask)" : String(part)
            }
            result += "?" + parts.joined(separator: "&")
        }
        return scrub(result)
    }

    /// Free text (an error message) as it may be logged: every word that looks like a URL or carries
    /// query parameters is redacted as a URL, and registered secrets are masked.
    public static func text(_ text: String) -> String {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map { w -> String in
            (w.contains("://") || w.contains("?") || w.hasPrefix("/broker/") || w.hasPrefix("/primus/")) ? url(String(w)) : String(w)
        }
        return scrub(words.joined(separator: " "))
    }

    private static func redactTokenSegments(_ path: String) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for i in segments.indices.dropLast() where ["broker", "primus", "response-data"].contains(segments[i]) {
            if !segments[i + 1].isEmpty { segments[i + 1] = mask }
        }
        return segments.joined(separator: "/")
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        out += rest
        return out
    }

    func removingPercentEncodingLeniently() -> String {
        var bytes: [UInt8] = []
        var it = utf8.makeIterator()
        while let c = it.next() {
            if c == UInt8(ascii: "%"), let h = it.next(), let l = it.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) {
                bytes.append(v)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    func range(of needle: String) -> Range<Index>? {
        let n = Array(needle.utf8)
        guard let first = n.first else { return nil }
        var i = startIndex
        let u = utf8
        while i < endIndex {
            if u[i] == first, u[i...].starts(with: n) {
                return i..<u.index(i, offsetBy: n.count)
            }
            i = u.index(after: i)
        }
        return nil
    }
}

extension String {
    func range(of needle: String) -> Range<Index>? { self[...].range(of: needle) }
    func contains(_ needle: String) -> Bool { range(of: needle) != nil }
}
