// CR_CREDENTIALS as snyk's classic entrypoint builds it (snyk/broker bin/container-registry-agent/
// docker-entrypoint.sh), byte for byte: bash `printf "$FORMAT" ...` captured by `$(...)`, then
// `echo $JSON | base64 -w0`.
//
// What those bash steps do, and so what this does:
// - printf fills each `%s` with the value as is: no JSON escaping (a `"` in a password stays a bare `"`);
// - `$(...)` drops every trailing newline of printf's output;
// - `echo $JSON` unquoted splits the text on spaces, tabs and newlines and joins the words with one space
//   (runs collapse, leading and trailing blanks vanish), then adds one `\n`;
// - pathname expansion of those words is assumed to find nothing (a word such as `a*b` matching a file in
//   the entrypoint's working directory would be replaced by the file names there: not reproducible).
import Core

public enum CRCredentials {
    /// The format strings of the entrypoint, with its `\n` already the newline printf makes of it.
    static let ecrFormat = #"{"type":"%s","roleArn":"%s","extra":{"region":"%s","externalId":"%s"}}"# + "\n"
    static let usernamePasswordFormat = #"{"type":"%s", "username":"%s", "password":"%s", "registryBase":"%s"}"# + "\n"

    /// Whether the entrypoint takes its ECR branch for this CR_TYPE (exact, case-sensitive, as `==` in bash).
    public static func isECR(_ crType: String) -> Bool { crType == "ElasticCR" || crType == "ecr" }

    /// The JSON line (with its final `\n`) the entrypoint base64-encodes; unset variables are "".
    public static func jsonLine(_ env: [String: String]) -> String {
        func v(_ name: String) -> String { env[name] ?? "" }
        let type = v("CR_TYPE")
        let printed: String
        if isECR(type) {
            printed = fill(ecrFormat, [type, v("CR_ROLE_ARN"), v("CR_REGION"), v("CR_EXTERNAL_ID")])
        } else if type == "digitalocean-cr" {
            printed = fill(usernamePasswordFormat, [type, v("CR_TOKEN"), v("CR_TOKEN"), v("CR_BASE")])
        } else {
            printed = fill(usernamePasswordFormat, [type, v("CR_USERNAME"), v("CR_PASSWORD"), v("CR_BASE")])
        }
        return echoUnquoted(commandSubstitution(printed))
    }

    /// `CR_CREDENTIALS` for `env`: kept as given when it is set and not empty (`[[ -z ... ]]`), else built.
    public static func build(_ env: [String: String]) -> String {
        if let given = env["CR_CREDENTIALS"], !given.isEmpty { return given }
        return Base64.encode(Array(jsonLine(env).utf8))
    }

    /// printf's `%s` substitution; the formats above hold no other directive.
    static func fill(_ format: String, _ values: [String]) -> String {
        var out = ""
        var rest = Substring(format)
        var k = 0
        while let r = rest.firstRange(of: "%s") {
            out += rest[..<r.lowerBound]
            out += k < values.count ? values[k] : ""
            k += 1
            rest = rest[r.upperBound...]
        }
        return out + rest
    }

    /// `$(...)`: trailing newlines removed (bash also drops NUL bytes, which an environment cannot hold).
    static func commandSubstitution(_ s: String) -> String {
        var u = Array(s.utf8)
        while u.last == UInt8(ascii: "\n") { u.removeLast() }
        return String(decoding: u, as: UTF8.self)
    }

    /// `echo $X` with the default IFS: words split on space, tab and newline, joined by one space, plus `\n`.
    static func echoUnquoted(_ s: String) -> String {
        let words = s.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A })
        return words.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") + "\n"
    }
}
