// The tokens the server accepts, and how a token shows in logs and metrics (never itself).
import Core
import Glibc

/// How a token appears in a log line or a metric label, as snyk's utils/token.ts shows it: its
/// SHA-256 (hex) and a masked form keeping the first and last four characters.
public struct TokenIdentity: Sendable, Equatable {
    public let hashed: String
    public let masked: String

    public init(_ token: String) {
        let sha = SHA256()
        sha.update(Array(token.utf8))
        hashed = sha.finalizeHex()
        masked = token.isEmpty ? "" : String(token.prefix(4)) + "-...-" + String(token.suffix(4))
    }

    /// The fields a log line carries for a token. The names avoid the word "token", which the logger
    /// masks whole (the hash and the masked form are meant to be seen).
    public var logFields: [(String, JSON)] { [("hashedId", .string(hashed)), ("maskedId", .string(masked))] }
}

/// The accepted tokens (compared lower-cased, as snyk's server lower-cases them), from a list or a
/// file re-read on demand. Lives on the server's reactor thread.
public final class TokenBook {
    public let source: BrokerServerSettings.TokenSource
    public private(set) var tokens: Set<String> = []

    /// Reads the tokens once; a file that cannot be read, or holds none, is an error naming it.
    public init(source: BrokerServerSettings.TokenSource) throws(ConfigurationError) {
        self.source = source
        try reload()
    }

    public func accepts(_ token: String) -> Bool { tokens.contains(token.lowercased()) }

    /// Reads the file again (a list never changes). On failure the tokens stay as they were.
    public func reload() throws(ConfigurationError) {
        let list: [String]
        switch source {
        case .list(let l): list = l
        case .file(let path):
            guard let text = TokenBook.readFile(path) else {
                throw ConfigurationError(variable: "BROKER_TOKENS_FILE", message: "cannot read \(path): \(String(errno: errno))")
            }
            list = TokenBook.parse(text, separator: "\n")
            guard !list.isEmpty else { throw ConfigurationError(variable: "BROKER_TOKENS_FILE", message: "\(path) holds no token; write one per line") }
        }
        tokens = Set(list.map { $0.lowercased() })
        for t in list { Redaction.register(secret: t) }
    }

    /// Tokens split on `separator` (a line also ends at CRLF), trimmed; blanks and `#` comments dropped.
    static func parse(_ text: String, separator: Character) -> [String] {
        text.split(whereSeparator: { $0 == separator || (separator == "\n" && $0 == "\r\n") })
            .map { $0.trimming { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    private static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { out.append(contentsOf: buf[0..<n]) }
            if n < buf.count { break }
            if out.count > 16 * 1024 * 1024 { return nil }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
