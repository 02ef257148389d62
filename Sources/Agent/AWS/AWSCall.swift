// One signed POST to an AWS service endpoint over the agent's HTTP client, with AWS's error answers
// (Query-protocol XML or JSON 1.1 `__type`) turned into a RegistryError that keeps AWS's code. STS and
// ECR endpoints get the registry traffic's address rule: never a link-local or metadata address (only
// AWSMetadataCredentials may reach those).
import Core
import Glibc

final class AWSCall {
    private let http: HTTPClient
    private let aws: AWSEnvironment
    private let userAgent: String
    /// Seconds since 1970, for the signature's date (a clock far off the real one is refused by AWS).
    private let now: () -> Int

    /// The reactor the calls run on.
    var reactor: Reactor { http.reactor }

    init(http: HTTPClient, aws: AWSEnvironment, userAgent: String, now: @escaping () -> Int = { Int(time(nil)) }) {
        self.http = http
        self.aws = aws
        self.userAgent = userAgent
        self.now = now
    }

    /// POSTs `body` to `endpoint`, signed for `service` with `credentials` (nil: unsigned, as STS's
    /// AssumeRoleWithWebIdentity is); `done` gets the 200 answer's body.
    func post(service: String, endpoint: String, headers extra: [(String, String)], body: [UInt8],
              credentials: AWSCredentials?, what: String, done: @escaping (Result<[UInt8], RegistryError>) -> Void) {
        guard let host = Self.authority(of: endpoint) else {
            return done(.failure(RegistryError(.invalidInput, registry: endpoint, "\(what): \"\(endpoint)\" is not an http(s) URL")))
        }
        if let why = AddressPolicy.refusal(url: endpoint) {
            return done(.failure(RegistryError(.refused, registry: endpoint, "\(what): \(endpoint) is \(why); not contacted")))
        }
        var signing: [(String, String)] = []
        if let credentials {
            let request = SigV4Request(method: "POST", path: "/", query: [], headers: [("Host", host)] + extra, body: body)
            signing = SigV4.authorizationHeaders(for: request, credentials: credentials, region: aws.region, service: service,
                                                 amzDate: SigV4.amzDate(unixSeconds: now()))
        }
        var headers = HTTPHeaders()
        for (name, value) in extra + signing { headers.set(name, value) }
        headers.set("User-Agent", userAgent)
        let req = ClientRequest(method: "POST", url: endpoint + "/", headers: headers, body: .bytes(body),
                                timeouts: ClientTimeouts(connect: 10_000, total: 60_000), connectFilter: AddressPolicy.connectFilter)
        http.fetch(req, maxBodyBytes: 4 << 20) { result in
            switch result {
            case .failure(let e):
                done(.failure(RegistryError(e.kind == .refused ? .refused : .network, registry: endpoint, "\(what) failed: \(e.message)")))
            case .success(let r) where r.status == 200:
                done(.success(r.body))
            case .success(let r):
                done(.failure(Self.error(status: r.status, body: r.body, endpoint: endpoint, what: what)))
            }
        }
    }

    /// AWS's answer to a failed call: `<Error><Code>..</Code><Message>..</Message></Error>` (STS) or
    /// `{"__type":"...#Code","message":".."}` (ECR), else the text body.
    static func error(status: Int, body: [UInt8], endpoint: String, what: String) -> RegistryError {
        var code: String?, message: String?
        if let json = try? JSON.parse(body) {
            code = json["__type"]?.string.map { String($0.split(separator: "#").last ?? Substring($0)) } ?? json["code"]?.string
            message = json["message"]?.string ?? json["Message"]?.string
        } else {
            code = AWSXML.text(of: "Code", in: body)
            message = AWSXML.text(of: "Message", in: body)
        }
        let text = message ?? String(decoding: body.prefix(300), as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " ").trimmed(" \t\r")
        let kind: RegistryError.Kind
        switch (code ?? "", status) {
        case ("SignatureDoesNotMatch", _), ("InvalidClientTokenId", _), ("UnrecognizedClientException", _),
             ("ExpiredToken", _), ("ExpiredTokenException", _), ("IncompleteSignature", _), (_, 401): kind = .authentication
        case ("AccessDenied", _), ("AccessDeniedException", _), (_, 403): kind = .permission
        case ("RepositoryNotFoundException", _), ("NoSuchEntity", _), (_, 404): kind = .notFound
        case (_, 400): kind = .invalidInput
        default: kind = .registry
        }
        return RegistryError(kind, registry: endpoint, "\(what): \(text.isEmpty ? "HTTP \(status)" : text)", status: status, code: code)
    }

    /// `host[:port]` of an http(s) URL.
    static func authority(of url: String) -> String? {
        guard let r = url.range(of: "://"), ["http", "https"].contains(url[..<r.lowerBound].lowercased()) else { return nil }
        let rest = url[r.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" }
        return host.isEmpty ? nil : String(host)
    }
}
