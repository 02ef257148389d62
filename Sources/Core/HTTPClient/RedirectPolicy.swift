// Caller-chosen redirect handling: libcurl never follows Location itself (CURLOPT_FOLLOWLOCATION off).
import CEpoll

/// A redirect response the client is about to follow or return.
public struct Redirect {
    /// 1 for the first redirect of a request, 2 for the next, ...
    public let hop: Int
    /// The 3xx response.
    public let response: ClientResponseHead
    /// The request that received it.
    public let request: ClientRequest
    /// The absolute target, as libcurl resolved the Location header (CURLINFO_REDIRECT_URL).
    public let target: String
}

/// Decides whether 3xx responses are followed.
public struct RedirectPolicy {
    /// Redirects followed at most; further ones are returned to the caller.
    public let maxRedirects: Int
    let decide: (Redirect) -> ClientRequest?

    /// Returns every 3xx response to the caller.
    public static var none: RedirectPolicy { RedirectPolicy(maxRedirects: 0) { _ in nil } }

    /// Follows up to `max` redirects with `standardNextRequest`.
    public static func follow(max: Int = 10) -> RedirectPolicy {
        RedirectPolicy(maxRedirects: max, decide: standardNextRequest)
    }

    /// Follows up to `max` redirects; `decide` returns the next request, or nil to return the 3xx to
    /// the caller. It usually starts from `standardNextRequest(redirect)`.
    public static func custom(max: Int, _ decide: @escaping (Redirect) -> ClientRequest?) -> RedirectPolicy {
        RedirectPolicy(maxRedirects: max, decide: decide)
    }

    /// The conventional next request: 303 (and 301/302 after POST) becomes a GET without body; other
    /// redirects keep method and body, or stop when the body is a stream that cannot be replayed.
    /// `Authorization` and `Cookie` are dropped when the target's origin (scheme, host, port) differs.
    public static func standardNextRequest(_ redirect: Redirect) -> ClientRequest? {
        var next = redirect.request
        next.url = redirect.target
        let status = redirect.response.status
        let method = next.method.uppercased()
        if status == 303 || ((status == 301 || status == 302) && method == "POST") {
            if method != "HEAD" { next.method = "GET" }
            next.body = nil
            next.headers.remove("Content-Type")
            next.headers.remove("Content-Length")
        } else if let body = next.body, !body.isReplayable {
            return nil
        }
        if Origin(redirect.request.url) != Origin(redirect.target) {
            next.headers.remove("Authorization")
            next.headers.remove("Cookie")
        }
        return next
    }
}

/// scheme + host + port of a URL, as libcurl parses it (the scheme's default port when none is
/// written); nil fields when the URL does not parse, and then it equals no origin, not even itself.
public struct Origin: Equatable, Sendable {
    public private(set) var scheme: String?, host: String?, port: Int

    public init(_ url: String) {
        var s: UnsafeMutablePointer<CChar>?, h: UnsafeMutablePointer<CChar>?, p = 0
        defer { cep_curl_free(s); cep_curl_free(h) }
        if cep_curl_url_origin(url, &s, &h, &p) == 0, let s, let h {
            scheme = String(cString: s).lowercased(); host = String(cString: h).lowercased(); port = p
        } else {
            scheme = nil; host = nil; port = -1
        }
    }

    public static func == (a: Origin, b: Origin) -> Bool {
        a.scheme != nil && a.scheme == b.scheme && a.host == b.host && a.port == b.port
    }
}
