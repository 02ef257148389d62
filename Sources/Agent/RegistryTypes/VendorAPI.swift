// JSON calls to a vendor's own API beside its registry (Harbor's projects, Docker Hub's repositories):
// the address policy and REGISTRY_ALLOWED_HOSTS as for registry calls, credentials to that API's origin
// only, retries on 429/5xx, and next pages followed only while they stay on that origin.
import Core

final class VendorAPI {
    let http: HTTPClient
    /// `scheme://authority` of the API: the only place `authorization` is sent and pages are followed to.
    let origin: String
    let options: RegistryOptions
    /// Sent with every call (Basic for Harbor, the hub login's Bearer for Docker Hub).
    var authorization: String?
    private let retrySchedule: RetrySchedule

    init(http: HTTPClient, origin: String, options: RegistryOptions, authorization: String? = nil) {
        self.http = http
        self.origin = origin
        self.options = options
        self.authorization = authorization
        self.retrySchedule = RetrySchedule(maxAttempts: max(1, options.maxAttempts), baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.maxRetryDelayMs)
    }

    /// One call; `done` gets the 2xx answer, or the API's error (401 as authentication, 403 as permission).
    func call(method: String = "GET", _ url: String, json body: JSON? = nil, what: String, attempt: Int = 1,
              done: @escaping (Result<ClientResponse, RegistryError>) -> Void) {
        guard Origin(url).scheme != nil, Origin(url) == Origin(origin + "/") else {
            return done(.failure(RegistryError(.refused, registry: origin, "\(what): \(URLParts.origin(url) ?? url) is not \(origin); not contacted")))
        }
        if let why = RegistryClient.refusal(url: url, allowedHosts: options.allowedHosts) {
            return done(.failure(RegistryError(.refused, registry: origin, "\(what): \(origin) is \(why); not contacted")))
        }
        var headers = HTTPHeaders()
        headers.set("Accept", "application/json")
        headers.set("User-Agent", options.userAgent)
        if let authorization { headers.set("Authorization", authorization) }
        var payload: ClientRequestBody?
        if let body {
            headers.set("Content-Type", "application/json")
            payload = .bytes(body.serializedBytes)
        }
        let request = ClientRequest(method: method, url: url, headers: headers, body: payload,
                                    timeouts: ClientTimeouts(connect: options.connectTimeoutMs, total: 60_000, lowSpeed: options.stallRule),
                                    connectFilter: AddressPolicy.connectFilter)
        http.fetch(request, maxBodyBytes: 8 << 20) { [self] result in
            switch result {
            case .failure(let e):
                let error = RegistryError(e.kind == .refused ? .refused : .network, registry: origin, "\(what): \(e.message)")
                if e.kind != .refused, retry(after: attempt, retryAfter: nil, { self.call(method: method, url, json: body, what: what, attempt: attempt + 1, done: done) }) {
                    return
                }
                done(.failure(error))
            case .success(let r) where (200..<300).contains(r.status):
                done(.success(r))
            case .success(let r):
                let error = RegistryError.fromResponse(registry: origin, status: r.status, body: r.body, what: what)
                if RetrySchedule.isRetryable(status: r.status),
                   retry(after: attempt, retryAfter: r.head.headers["Retry-After"], { self.call(method: method, url, json: body, what: what, attempt: attempt + 1, done: done) }) {
                    return
                }
                done(.failure(error))
            }
        }
    }

    /// Schedules `again` after the backoff for `attempt`; false when the attempts are used up.
    private func retry(after attempt: Int, retryAfter: String?, _ again: @escaping () -> Void) -> Bool {
        guard let delay = retrySchedule.delayMs(afterAttempt: attempt, retryAfter: retryAfter) else { return false }
        http.reactor.schedule(afterMilliseconds: delay) { again() }
        return true
    }

    /// Follows pages from `first`: `read` gives a page's names and its next URL as written (nil: last
    /// page); next URLs are resolved against the page's URL and must stay on the API's origin.
    func pages(from first: String, what: String, read: @escaping (JSON, ClientResponseHead, _ url: String) -> (names: [String], next: String?)?,
               onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        page(first, what: what, read: read, onPage: onPage, seen: [first], total: 0, done: done)
    }

    private func page(_ url: String, what: String, read: @escaping (JSON, ClientResponseHead, String) -> (names: [String], next: String?)?,
                      onPage: @escaping ([String]) -> Void, seen: Set<String>, total: Int, done: @escaping (Result<Int, RegistryError>) -> Void) {
        call(url, what: what) { [self] result in
            switch result {
            case .failure(let e): done(.failure(e))
            case .success(let r):
                guard let json = try? JSON.parse(r.body), let (names, next) = read(json, r.head, url) else {
                    return done(.failure(RegistryError(.registry, registry: origin, "\(what): the answer is not the JSON the API documents")))
                }
                if !names.isEmpty { onPage(names) }
                let count = total + names.count
                guard let next, !names.isEmpty else { return done(.success(count)) }
                guard let resolved = LinkHeader.resolve(next, against: url), Origin(resolved) == Origin(origin + "/") else {
                    return done(.failure(RegistryError(.refused, registry: origin,
                        "\(what): next page \(Redaction.text(String(next.prefix(200)))) leaves \(origin); not followed")))
                }
                if seen.contains(resolved) { return done(.success(count)) }
                guard seen.count < options.maxListPages else {
                    return done(.failure(RegistryError(.registry, registry: origin,
                        "\(what): the API still had more after \(options.maxListPages) pages (\(count) names); the listing is stopped there")))
                }
                page(resolved, what: what, read: read, onPage: onPage, seen: seen.union([resolved]), total: count, done: done)
            }
        }
    }
}
