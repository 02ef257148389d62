// CR_CREDENTIALS as snyk's broker writes it: base64 of one JSON line built by bash printf, values not
// JSON-escaped (REFERENCE §3). Read as JSON first; when that fails (a GCR key as password brings its own
// quotes), the four fields of the non-ecr form are read by position, as the line is always laid out.
import Core

public struct BrokerCredentials: Sendable, Equatable {
    public var type: String?
    public var username: String?
    public var password: String?
    public var registryBase: String?
    /// ecr's form: `{"type":"ecr","roleArn":..,"extra":{"region":..,"externalId":..}}`
    public var roleArn: String?
    public var region: String?
    public var externalID: String?

    /// Decoded and parsed; the error never quotes the value (it is a secret).
    public static func parse(_ raw: String) -> Result<BrokerCredentials, ConfigurationError> {
        // Not " \t\r\n": CR LF is one Character in Swift, and a lone line feed would stay.
        var text = Substring(raw.trimmed(" \t\n\r"))
        if text.lowercased().hasPrefix("bearer ") { text = text.dropFirst(7) }
        guard let bytes = Base64.decode(String(text).trimmed(" \t\n\r")) else {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "expected base64 of a JSON object"))
        }
        if let json = try? JSON.parse(bytes), json.object != nil {
            return .success(BrokerCredentials(
                type: json["type"]?.string, username: json["username"]?.string, password: json["password"]?.string,
                registryBase: json["registryBase"]?.string, roleArn: json["roleArn"]?.string,
                region: json["extra"]?["region"]?.string, externalID: json["extra"]?["externalId"]?.string))
        }
        guard let positional = positional(String(decoding: bytes, as: UTF8.self)) else {
            return .failure(ConfigurationError(variable: "CR_CREDENTIALS", message: "expected base64 of a JSON object"))
        }
        return .success(positional)
    }

    /// `{"type":"T", "username":"U", "password":"P", "registryBase":"B"}` read by position: the password
    /// runs to the last `", "registryBase":"`, so quotes inside it (a JSON key) stay in it.
    static func positional(_ line: String) -> BrokerCredentials? {
        var s = Substring(line.trimmed(" \t\n\r"))
        let typeKey = "{\"type\":\"", userKey = "\", \"username\":\"", passwordKey = "\", \"password\":\"", baseKey = "\", \"registryBase\":\""
        guard s.hasPrefix(typeKey), s.hasSuffix("\"}") else { return nil }
        s = s.dropFirst(typeKey.count).dropLast(2)
        guard let u = s.range(of: userKey), let p = s[u.upperBound...].range(of: passwordKey),
              let b = lastRange(of: baseKey, in: s[p.upperBound...]) else { return nil }
        let type = String(s[..<u.lowerBound]), user = String(s[u.upperBound..<p.lowerBound])
        guard !type.contains("\""), !user.contains("\"") else { return nil }
        return BrokerCredentials(type: type, username: user, password: String(s[p.upperBound..<b.lowerBound]),
                                 registryBase: String(s[b.upperBound...]))
    }

    private static func lastRange(of needle: String, in text: Substring) -> Range<Substring.Index>? {
        var found: Range<Substring.Index>?
        var rest = text
        while let r = rest.range(of: needle) {
            found = r
            rest = text[text.index(after: r.lowerBound)...]
        }
        return found
    }
}
