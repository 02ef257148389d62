// AWS Signature Version 4, header form: what the ecr registry type signs its STS and ECR calls with.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html; checked against the
// AWS SigV4 test suite (Tests/AgentTests/SigV4Tests.swift).
import Core
import Glibc

/// An AWS identity: long-term keys, or temporary ones with their session token.
struct AWSCredentials: Sendable, Equatable {
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
}

/// A request to sign. `path` and `query` are unencoded (the signer percent-encodes them for the
/// canonical request); `headers` must include `host`.
struct SigV4Request {
    var method: String
    var path: String
    var query: [(String, String)]
    var headers: [(String, String)]
    var body: [UInt8]
}

enum SigV4 {
    /// The headers to add to `request` (`X-Amz-Date`, `X-Amz-Security-Token` for temporary credentials,
    /// `Authorization`), signed for `service` in `region` at `amzDate` (`yyyyMMddTHHmmssZ`). An
    /// `X-Amz-Date` already in the request is used as it is.
    static func authorizationHeaders(for request: SigV4Request, credentials: AWSCredentials, region: String,
                                     service: String, amzDate: String) -> [(String, String)] {
        var signed = request
        var added: [(String, String)] = []
        let date = request.headers.first { $0.0.lowercased() == "x-amz-date" }?.1 ?? amzDate
        if !request.headers.contains(where: { $0.0.lowercased() == "x-amz-date" }) { added.append(("X-Amz-Date", date)) }
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        signed.headers += added
        let (canonical, signedHeaders) = canonicalRequest(signed)
        let scope = "\(date.prefix(8))/\(region)/\(service)/aws4_request"
        let toSign = "AWS4-HMAC-SHA256\n\(date)\n\(scope)\n\(hexSHA256(Array(canonical.utf8)))"
        let key = signingKey(secret: credentials.secretAccessKey, day: String(date.prefix(8)), region: region, service: service)
        let signature = SHA256.hex(HMACSHA256.authenticate(toSign, key: key))
        added.append(("Authorization",
                      "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return added
    }

    /// The canonical request and its signed-headers list.
    static func canonicalRequest(_ r: SigV4Request) -> (String, String) {
        var byName: [String: [String]] = [:]
        for (name, value) in r.headers { byName[name.lowercased(), default: []].append(canonicalHeaderValue(value)) }
        let names = byName.keys.sorted()
        let headerLines = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let query = r.query.map { (PercentEncoding.encode($0.0), PercentEncoding.encode($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonical = [r.method.uppercased(), canonicalPath(r.path), query, headerLines, signedHeaders,
                         hexSHA256(r.body)].joined(separator: "\n")
        return (canonical, signedHeaders)
    }

    /// The path with `.`, `..` and empty segments resolved (as every service but S3 expects), each segment
    /// percent-encoded; a trailing slash is kept.
    static func canonicalPath(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        if segments.isEmpty { return "/" }
        let trailing = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        return "/" + segments.map { PercentEncoding.encode(String($0)) }.joined(separator: "/") + (trailing ? "/" : "")
    }

    /// Trimmed, runs of spaces collapsed to one; folded lines joined with commas.
    static func canonicalHeaderValue(_ value: String) -> String {
        value.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ") }
            .filter { !$0.isEmpty }
            .joined(separator: ",")
    }

    static func signingKey(secret: String, day: String, region: String, service: String) -> [UInt8] {
        var key = HMACSHA256.authenticate(day, key: Array("AWS4\(secret)".utf8))
        for part in [region, service, "aws4_request"] { key = HMACSHA256.authenticate(part, key: key) }
        return key
    }

    /// `yyyyMMddTHHmmssZ` for a Unix time.
    static func amzDate(unixSeconds: Int) -> String {
        var t = time_t(unixSeconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(tm.tm_year + 1900, 4))\(pad(tm.tm_mon + 1, 2))\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2))\(pad(tm.tm_min, 2))\(pad(tm.tm_sec, 2))Z"
    }

    private static func hexSHA256(_ bytes: [UInt8]) -> String {
        let h = SHA256()
        h.update(bytes)
        return h.finalizeHex()
    }
}
