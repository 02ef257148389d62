// One logical registry request: authenticates on 401, retries 408/429/5xx and cut connections with
// backoff, follows redirects without leaking Authorization, and either collects the body (with a cap)
// or streams it, resuming a cut stream with Range from the last byte delivered. Each attempt holds a slot
// of its host in the process-wide `HostLimiter` (REGISTRY_MAX_CONCURRENCY) from send to completion.
import Core

final class RegistryCall {
    enum Mode {
        case collect(maxBytes: Int)
        /// `onChunk` sees each body byte once, in order, even across resumed or restarted attempts.
        case stream(onChunk: (UnsafeRawBufferPointer) -> ClientBodyDisposition)
    }

    struct Outcome {
        let head: ClientResponseHead
        let body: [UInt8]
        let bytes: Int
    }

    let method: String
    let url: String
    let headers: HTTPHeaders
    let scopes: [String]
    let what: String
    let mode: Mode
    let expectedStatuses: Set<Int>
    private unowned let client: RegistryClient
    /// The client's limiter, held here so a call outliving its client can still hand its slot back.
    private let hostLimiter: HostLimiter
    private var done: ((Result<Outcome, RegistryError>) -> Void)?

    private var attempt = 0
    private var sentFreshCredentials = false
    private var scopeUpgraded = false
    private var task: ClientTask?
    private var delivered = 0
    private var skipOnThisAttempt = 0
    private var collected: [UInt8] = []
    private var errorBody: [UInt8] = []
    private var head: ClientResponseHead?
    private var passing = false
    private var failure: RegistryError?
    /// A redirect target not followed because, through a proxy, its name must be checked first.
    private var uncheckedRedirect: String?
    private var redirectChecks = 0
    /// The host slot this attempt holds or waits for (HostLimiter), handed back when the attempt ends.
    private var slot: HostLimiter.Ticket?

    init(client: RegistryClient, method: String = "GET", url: String, headers: HTTPHeaders = HTTPHeaders(), scopes: [String],
         what: String, mode: Mode, expectedStatuses: Set<Int> = [200], done: @escaping (Result<Outcome, RegistryError>) -> Void) {
        self.client = client
        self.hostLimiter = client.hostLimiter
        self.method = method
        self.url = url
        self.headers = headers
        self.scopes = scopes
        self.what = what
        self.mode = mode
        self.expectedStatuses = expectedStatuses
        self.done = done
    }

    var registry: String { client.base.origin }

    func start() {
        client.nameCheck.check(url) { [self] why in
            if let why {
                return finish(.failure(RegistryError(.refused, registry: registry, "\(what): \(why); not requested through the proxy")))
            }
            authenticateAndSend()
        }
    }

    private func authenticateAndSend() {
        if client.auth.needsToken(for: scopes) {
            client.auth.fetchToken(scopes: scopes) { [self] error in
                if let error { return finish(.failure(error)) }
                sentFreshCredentials = true
                send()
            }
        } else {
            send()
        }
    }

    /// Lets a paused stream continue.
    func resume() { task?.resumeBody() }

    /// Stops the transfer; `done` gets whatever `onComplete` decides (a failure set beforehand).
    func cancelQuietly() { task?.cancel() }

    func cancel() {
        task?.cancel()
        finish(.failure(RegistryError(.network, registry: registry, "\(what): cancelled")))
    }

    deinit {
        if let slot { hostLimiter.abandon(slot) }
    }

    /// Waits for a slot at the URL's host (REGISTRY_MAX_CONCURRENCY, held back after a 429), then sends.
    private func send() {
        guard done != nil else { return }
        let host = HostLimiter.key(url: url)
        guard let (ticket, now) = hostLimiter.acquire(host: host, limit: client.options.maxConcurrentPerHost,
                                                     reactor: client.http.reactor, owner: client, start: { self.transmit() }) else {
            return finish(.failure(RegistryError(.network, registry: registry,
                "\(what): over \(HostLimiter.maxWaiting) requests already wait for \(host); not sent")))
        }
        slot = ticket
        if now { transmit() }
    }

    /// Hands back this attempt's host slot, telling the limiter whether the host throttled it.
    private func releaseSlot(_ outcome: HostLimiter.Outcome) {
        guard let s = slot else { return }
        slot = nil
        hostLimiter.release(s, outcome)
    }

    private func transmit() {
        guard done != nil else { return releaseSlot(.dropped) }
        attempt += 1
        head = nil
        passing = false
        errorBody = []
        collected = []
        failure = nil
        uncheckedRedirect = nil
        if let why = client.refusal(url: url) {
            return finish(.failure(RegistryError(.refused, registry: registry, "\(what): \(URLParts.origin(url) ?? url) is \(why); not contacted")))
        }
        var h = headers
        h.set("User-Agent", client.options.userAgent)
        // The registry's credentials go to its own origin only, whatever URL a call was made with.
        if client.isRegistryOrigin(url), let a = client.auth.authorization(for: scopes) { h.set("Authorization", a) }
        skipOnThisAttempt = 0
        if case .stream = mode, delivered > 0 { h.set("Range", "bytes=\(delivered)-") }
        let request = ClientRequest(method: method, url: url, headers: h,
                                    timeouts: ClientTimeouts(connect: client.options.connectTimeoutMs, total: nil,
                                                             lowSpeed: client.options.stallRule),
                                    redirects: client.redirectPolicy { [weak self] in self?.uncheckedRedirect = $0 },
                                    connectFilter: AddressPolicy.connectFilter)
        // The HTTP client holds these closures until the transfer ends, which keeps the call alive.
        task = client.http.start(request, onHead: { h in self.onHead(h) },
                                 onBody: { chunk in self.onBody(chunk) },
                                 onComplete: { r in self.onComplete(r) })
    }

    private func onHead(_ h: ClientResponseHead) {
        head = h
        let ok = expectedStatuses.contains(h.status) || (h.status == 206 && delivered > 0)
        guard ok else { return }
        if case .collect(let cap) = mode, let n = h.headers["Content-Length"].flatMap(Int.init), n > cap {
            failure = RegistryError(.tooLarge, registry: registry, "\(what) is \(n) bytes, over the \(cap)-byte limit", status: h.status)
            task?.cancel()
            return
        }
        if case .stream = mode, delivered > 0 {
            if h.status == 206 {
                let start = h.headers["Content-Range"].flatMap(RegistryCall.rangeStart)
                guard start == delivered else {
                    failure = RegistryError(.registry, registry: registry, "\(what): resumed at byte \(start.map(String.init) ?? "?"), wanted \(delivered)")
                    task?.cancel()
                    return
                }
            } else {
                skipOnThisAttempt = delivered          // the server restarted from byte 0
            }
        }
        passing = true
    }

    private func onBody(_ chunk: UnsafeRawBufferPointer) -> ClientBodyDisposition {
        guard passing else {
            if errorBody.count < 64 * 1024 { errorBody.append(contentsOf: chunk.prefix(64 * 1024 - errorBody.count)) }
            return .continue
        }
        var piece = chunk
        if skipOnThisAttempt > 0 {
            let n = min(skipOnThisAttempt, piece.count)
            skipOnThisAttempt -= n
            piece = UnsafeRawBufferPointer(rebasing: piece[n...])
            if piece.isEmpty { return .continue }
        }
        switch mode {
        case .collect(let cap):
            if collected.count + piece.count > cap {
                failure = RegistryError(.tooLarge, registry: registry, "\(what) is over the \(cap)-byte limit")
                task?.cancel()
                return .continue
            }
            collected.append(contentsOf: piece)
            return .continue
        case .stream(let onChunk):
            delivered += piece.count
            return onChunk(piece)
        }
    }

    private func onComplete(_ result: Result<ClientTransferSummary, HTTPClientError>) {
        if case .success(let s) = result, s.head.status == 429 {
            let after: Int?
            if case .seconds(let n) = RetrySchedule.parseRetryAfter(s.head.headers["Retry-After"]) { after = n } else { after = nil }
            releaseSlot(.throttled(retryAfterSeconds: after))
        } else if case .success = result {
            releaseSlot(.answered)
        } else {
            releaseSlot(.dropped)
        }
        guard done != nil else { return }
        if let failure { return finish(.failure(failure)) }
        switch result {
        case .failure(let e):
            if e.kind == .cancelled {
                return finish(.failure(RegistryError(.network, registry: registry, "\(what): cancelled")))
            }
            if e.kind == .refused {   // a name resolved to a refused address: final, never retried
                return finish(.failure(RegistryError(.refused, registry: registry, "\(what): \(e.message)")))
            }
            if RegistryCall.isStall(e) {   // a registry this slow is not waited for again
                let rule = client.options.stallRule
                return finish(.failure(RegistryError(.network, registry: registry,
                    "\(what): the transfer stalled (under \(RegistryOptions.stallMinimumBytes) bytes in \(rule.seconds) s) and was aborted; REGISTRY_STALL_TIMEOUT_MS=\(client.options.stallTimeoutMs) sets the window")))
            }
            retryOrFail(retryAfterSeconds: nil, RegistryError(.network, registry: registry, "\(what): \(e.message)"))
        case .success(let s):
            let status = s.head.status
            if passing { return finish(.success(Outcome(head: s.head, body: collected, bytes: delivered))) }
            if status == 401 && !client.isRegistryOrigin(s.head.url) {
                // A redirect led off the registry's origin and that host asks for credentials: answering
                // it would hand the user's password (or a token for it) to whatever realm it names.
                return finish(.failure(RegistryError(.refused, registry: registry,
                    "\(what): a redirect led to \(URLParts.origin(s.head.url) ?? "another origin"), which answered 401; the registry's credentials are sent to \(registry) only, so its challenge is not answered",
                    status: 401)))
            }
            if status == 401 {
                let challenges = s.head.headers.values("WWW-Authenticate")
                if sentFreshCredentials && !scopeUpgraded && client.auth.asksForNewScopes(challenges, scopes: scopes) {
                    // A later 401 may name a scope the first challenge did not: ask once for the union.
                    scopeUpgraded = true
                    sentFreshCredentials = false
                }
                if sentFreshCredentials {
                    let e = RegistryError.fromResponse(registry: registry, status: 401, body: errorBody, what: what)
                    return finish(.failure(RegistryError(.permission, registry: registry,
                        "\(e.message); the registry refused the credentials it just issued or accepted, so they lack access to this resource",
                        status: 401, code: e.code)))
                }
                client.auth.handleChallenge(challenges, scopes: scopes) { [self] error in
                    if let error { return finish(.failure(error)) }
                    sentFreshCredentials = true
                    send()
                }
                return
            }
            let error = RegistryError.fromResponse(registry: registry, status: status, body: errorBody, what: what)
            if RetrySchedule.isRetryable(status: status) {
                switch RetrySchedule.parseRetryAfter(s.head.headers["Retry-After"]) {
                case .outOfRange(let raw):
                    return finish(.failure(RegistryError(error.kind, registry: registry,
                        "\(error.message); its Retry-After \"\(raw.prefix(64))\" is outside 0...\(RetrySchedule.retryAfterRange.upperBound) seconds, not waited for",
                        status: status, code: error.code)))
                case .seconds(let n): return retryOrFail(retryAfterSeconds: n, error)
                case .absent: return retryOrFail(retryAfterSeconds: nil, error)
                }
            }
            if (300..<400).contains(status), let target = uncheckedRedirect, redirectChecks < client.options.maxRedirects {
                // Through a proxy: resolve the target's name here first, then ask again (the policy
                // follows it once its verdict is known).
                uncheckedRedirect = nil
                redirectChecks += 1
                return client.nameCheck.check(target) { [self] why in
                    if let why {
                        return finish(.failure(RegistryError(.refused, registry: registry,
                            "\(what): redirect to \(URLParts.origin(target) ?? target) not followed: \(why)", status: status)))
                    }
                    attempt -= 1      // not a failed attempt: the same request again
                    send()
                }
            }
            if (300..<400).contains(status) {
                return finish(.failure(RegistryError(.refused, registry: registry, "\(what): redirect to \(s.head.headers["Location"] ?? "?") not followed (too many hops, or a refused target)", status: status)))
            }
            finish(.failure(error))
        }
    }

    private func retryOrFail(retryAfterSeconds: Int?, _ error: RegistryError) {
        guard let delay = client.retrySchedule.delayMs(afterAttempt: attempt, retryAfterSeconds: retryAfterSeconds) else {
            return finish(.failure(RegistryError(error.kind, registry: error.registry, error.message + " (after \(attempt) attempts)", status: error.status, code: error.code)))
        }
        client.onRetry?(what, attempt, delay)
        client.http.reactor.schedule(afterMilliseconds: delay) { self.send() }
    }

    private func finish(_ r: Result<Outcome, RegistryError>) {
        if let s = slot {         // ended before or without an answer (refused, cancelled while queued)
            slot = nil
            hostLimiter.abandon(s)
        }
        guard let d = done else { return }
        done = nil
        task = nil
        d(r)
    }

    /// Whether libcurl aborted the transfer under the low-speed (stall) rule: the code alone also means a
    /// connect timeout, so its own words ("Operation too slow ...") tell them apart.
    static func isStall(_ e: HTTPClientError) -> Bool {
        e.curlCodeName == "CURLE_OPERATION_TIMEDOUT" && e.message.contains("too slow")
    }

    /// The first byte position of `Content-Range: bytes N-M/T`.
    static func rangeStart(_ v: String) -> Int? {
        guard v.hasPrefix("bytes ") else { return nil }
        let rest = v.dropFirst(6)
        guard let dash = rest.firstIndex(of: "-") else { return nil }
        return Int(rest[..<dash])
    }
}
