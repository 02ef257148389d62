// Removes secrets from anything about to be logged: sensitive headers and settings, URL credentials,
// signed query parameters, broker tokens in paths, and every secret value registered at start-up.
import CEpoll
import Synchronization

public enum Redaction {
    public static let mask = "[REDACTED]"

    private static let registered = Mutex(SecretSet())

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
    /// line, also JSON-escaped or percent-encoded. Values shorter than 4 characters are ignored: masking
    /// them would garble ordinary text. A secret with a lifetime (a registry token) is dropped once it
    /// expires; the set keeps at most `SecretSet.maxEntries` such values, the oldest going first, so a
    /// long-running service neither grows nor slows down with every credential it has seen. Secrets of
    /// the process's own settings (`registerSecrets(fromEnvironment:)`) are pinned: never dropped.
    public static func register(secret: String, expiresInSeconds: Int? = nil) {
        register(secret, expiresInSeconds: expiresInSeconds, pinned: false)
    }

    private static func register(_ secret: String, expiresInSeconds: Int?, pinned: Bool) {
        guard secret.utf8.count >= 4 else { return }
        let now = cep_monotonic_ns()
        // Seconds are clamped to a century: no lifetime a caller passes can wrap the nanosecond sum.
        let expiry = expiresInSeconds.map { now &+ UInt64(min(max(0, $0), 100 * 366 * 86_400)) * 1_000_000_000 }
        registered.withLock { $0.add(Array(secret.utf8), expiresAt: expiry, pinned: pinned, now: now) }
    }

    /// How many secrets are registered now (expired ones not counted).
    public static var registeredCount: Int {
        let now = cep_monotonic_ns()
        return registered.withLock { set in set.dropExpired(now: now); return set.entries.count }
    }

    /// Registers the values of every sensitive variable in `environment` (and their base64 forms' parts).
    public static func registerSecrets(fromEnvironment environment: [String: String]) {
        for (k, v) in environment where isSensitiveName(k) { register(v, expiresInSeconds: nil, pinned: true) }
    }

    /// Masks every registered secret value occurring in `text`, as is, JSON-escaped (`\"`, `\\`, `\/`,
    /// `\uXXXX`, ...) or percent-encoded (`%2F` or `%2f`, `+` for a space).
    public static func scrub(_ text: String) -> String {
        let now = cep_monotonic_ns()
        let (secrets, starts) = registered.withLock { set -> ([[UInt8]], [Bool]) in
            set.dropExpired(now: now)
            return (set.secrets, set.startBytes)
        }
        guard !secrets.isEmpty else { return text }
        let bytes = Array(text.utf8)
        let maskBytes = Array(mask.utf8)
        var out: [UInt8] = []
        var i = 0, copied = 0
        outer: while i < bytes.count {
            let c = bytes[i]
            guard starts[Int(c)] else { i += 1; continue }
            for s in secrets where c == s[0] || c == UInt8(ascii: "%") || c == UInt8(ascii: "\\") || c == UInt8(ascii: "+") {
                if let n = SecretMatch.length(of: s, in: bytes, at: i) {
                    out.append(contentsOf: bytes[copied..<i])
                    out.append(contentsOf: maskBytes)
                    i += n
                    copied = i
                    continue outer
                }
            }
            i += 1
        }
        guard copied > 0 else { return text }
        out.append(contentsOf: bytes[copied...])
        return String(decoding: out, as: UTF8.self)
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
                return isSensitiveQueryParameter(PercentEncoding.decodeLeniently(name)) ? "\(name)=\(mask)" : String(part)
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

/// The registered secrets: bounded, longest first (so a secret that contains another is masked whole).
struct SecretSet {
    static let maxEntries = 256

    struct Entry {
        let bytes: [UInt8]
        var expiresAt: UInt64?
        var added: UInt64
        /// The process's own settings: never dropped for room (and never expiring).
        var pinned: Bool
    }

    private(set) var entries: [Entry] = []
    /// The entries' bytes, longest first, and the bytes a spelling of one of them can start with (its
    /// first byte, or `%`, `\\`, `+` of an escape): kept with the set, so a log line only reads them and
    /// passes over most of its positions at the cost of one table lookup, whatever the number of secrets.
    private(set) var secrets: [[UInt8]] = []
    private(set) var startBytes = [Bool](repeating: false, count: 256)

    private mutating func entriesChanged() {
        entries.sort { $0.bytes.count > $1.bytes.count }
        secrets = entries.map(\.bytes)
        startBytes = [Bool](repeating: false, count: 256)
        for s in secrets { startBytes[Int(s[0])] = true }
        for c in "%\\+".utf8 { startBytes[Int(c)] = true }
    }

    mutating func add(_ bytes: [UInt8], expiresAt: UInt64?, pinned: Bool, now: UInt64) {
        dropExpired(now: now)
        if let k = entries.firstIndex(where: { $0.bytes == bytes }) {
            // Seen again: it lives as long as its longest registration, and counts as new.
            let e = entries[k]
            entries[k].expiresAt = (e.expiresAt == nil || expiresAt == nil || pinned) ? nil : max(e.expiresAt!, expiresAt!)
            entries[k].added = now
            entries[k].pinned = e.pinned || pinned
            return
        }
        entries.append(Entry(bytes: bytes, expiresAt: pinned ? nil : expiresAt, added: now, pinned: pinned))
        if entries.count(where: { !$0.pinned }) > Self.maxEntries,
           let oldest = entries.indices.filter({ !entries[$0].pinned }).min(by: { entries[$0].added < entries[$1].added }) {
            entries.remove(at: oldest)
        }
        entriesChanged()
    }

    mutating func dropExpired(now: UInt64) {
        if entries.contains(where: { $0.expiresAt.map { $0 <= now } ?? false }) {
            entries.removeAll { $0.expiresAt.map { $0 <= now } ?? false }
            entriesChanged()
        }
    }
}

/// Matching a secret against text that may spell it escaped: each unit of the text is a literal byte,
/// a percent escape (`%2F`, `%2f`), a `+` standing for a space (form encoding), or a JSON escape
/// (`\"`, `\\`, `\/`, `\n`, `\uXXXX` with surrogate pairs) that decodes to the secret's next bytes.
enum SecretMatch {
    /// The number of text bytes that spell `secret` starting at `start`, or nil.
    static func length(of secret: [UInt8], in text: [UInt8], at start: Int) -> Int? {
        var i = start, k = 0
        while k < secret.count {
            guard i < text.count else { return nil }
            let c = text[i]
            if c == secret[k] { i += 1; k += 1; continue }
            if c == UInt8(ascii: "+") && secret[k] == 0x20 { i += 1; k += 1; continue }
            if c == UInt8(ascii: "%"), i + 2 < text.count, let h = PercentEncoding.hexValue(text[i + 1]), let l = PercentEncoding.hexValue(text[i + 2]), h << 4 | l == secret[k] {
                i += 3; k += 1; continue
            }
            if c == UInt8(ascii: "\\"), i + 1 < text.count, let (decoded, used) = jsonEscape(text, at: i) {
                guard k + decoded.count <= secret.count, secret[k..<(k + decoded.count)].elementsEqual(decoded) else { return nil }
                i += used; k += decoded.count; continue
            }
            return nil
        }
        return i - start
    }

    /// The UTF-8 bytes a JSON escape at `i` stands for, and how many text bytes it takes.
    static func jsonEscape(_ t: [UInt8], at i: Int) -> ([UInt8], Int)? {
        switch t[i + 1] {
        case UInt8(ascii: "\""): return ([0x22], 2)
        case UInt8(ascii: "\\"): return ([0x5C], 2)
        case UInt8(ascii: "/"): return ([0x2F], 2)
        case UInt8(ascii: "n"): return ([0x0A], 2)
        case UInt8(ascii: "r"): return ([0x0D], 2)
        case UInt8(ascii: "t"): return ([0x09], 2)
        case UInt8(ascii: "b"): return ([0x08], 2)
        case UInt8(ascii: "f"): return ([0x0C], 2)
        case UInt8(ascii: "u"):
            guard let u = hex4(t, i + 2) else { return nil }
            var scalar = u, used = 6
            if (0xD800...0xDBFF).contains(u), i + 11 < t.count, t[i + 6] == 0x5C, t[i + 7] == UInt8(ascii: "u"),
               let low = hex4(t, i + 8), (0xDC00...0xDFFF).contains(low) {
                scalar = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                used = 12
            }
            guard let s = Unicode.Scalar(scalar) else { return nil }
            return (Array(String(s).utf8), used)
        default: return nil
        }
    }

    static func hex4(_ t: [UInt8], _ i: Int) -> UInt32? {
        guard i + 4 <= t.count else { return nil }
        var v: UInt32 = 0
        for k in i..<(i + 4) {
            guard let h = PercentEncoding.hexValue(t[k]) else { return nil }
            v = v << 4 | UInt32(h)
        }
        return v
    }
}
