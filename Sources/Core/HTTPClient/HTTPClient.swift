// Outbound HTTP on one libcurl multi handle whose sockets and timers live in our Reactor.
import CEpoll
import Glibc

/// Counters of one client, for tests and metrics.
public struct HTTPClientStats: Sendable {
    public internal(set) var requestsStarted = 0
    public internal(set) var requestsFinished = 0
    /// Easy handles run: one per request plus one per redirect followed.
    public internal(set) var transfersStarted = 0
    /// New connections opened (sum of CURLINFO_NUM_CONNECTS).
    public internal(set) var connectionsOpened = 0
    /// Response body bytes received but not yet taken by a consumer, now and at most.
    public internal(set) var bufferedBodyBytes = 0
    public internal(set) var maxBufferedBodyBytes = 0
    /// Times libcurl was paused because a consumer fell behind.
    public internal(set) var receivePauses = 0
    /// Easy handles of earlier requests taken again, and those libcurl would not set up again (freed,
    /// and a new one made instead).
    public internal(set) var handlesReused = 0
    public internal(set) var handlesRefused = 0
    /// Sockets libcurl currently has registered in the reactor.
    public internal(set) var watchedSockets = 0
}

/// An outbound HTTP/1.1 client. Create one per `Reactor` (it owns that reactor's libcurl multi
/// handle, whose connection cache it shares across requests) and use it only on the reactor's thread;
/// completions and body chunks arrive there too. Dropping the client abandons unfinished requests
/// without calling their completions (call `cancelAll()` first), and must not happen inside one of its
/// own callbacks.
public final class HTTPClient {
    public let reactor: Reactor
    public let configuration: HTTPClientConfiguration
    public internal(set) var stats = HTTPClientStats()

    private var multi: UnsafeMutableRawPointer?
    private let caBundle: UnsafeMutableRawPointer?
    private let resolveList: UnsafeMutablePointer<curl_slist>?
    private var watched: [Int32: IOEvents] = [:]
    private var timer: TimerID?
    private var byHandle: [UnsafeMutableRawPointer: ClientTask] = [:]
    private var live: [ObjectIdentifier: ClientTask] = [:]
    private var curlDepth = 0
    /// Easy handles of finished requests, reset, for the next ones: a new handle per request costs an
    /// allocation of libcurl's whole per-transfer state and its receive buffer (~9 % of the broker
    /// client's CPU per tunnelled request). At most `sparesKept`.
    private var spareHandles: [UnsafeMutableRawPointer] = []
    private let sparesKept = 64

    /// True while libcurl is running our callbacks; multi calls must wait for the next reactor turn.
    var insideCurl: Bool { curlDepth > 0 }

    /// Fails when libcurl cannot start, a CA file (`CA_CERT` or `caCertificateFiles`) has no readable
    /// certificate, or the client certificate or key cannot be read.
    public init(reactor: Reactor, configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws(HTTPClientError) {
        self.reactor = reactor
        self.configuration = configuration
        let rc = cep_curl_global_init()
        guard rc == 0 else { throw HTTPClientError(.configuration, "curl_global_init failed", curlCode: Int(rc)) }
        if let pair = configuration.clientCertificate {
            for path in [pair.certificateFile, pair.keyFile] where access(path, R_OK) != 0 {
                throw HTTPClientError(.configuration, "client certificate: cannot read \(path): \(String(errno: errno))")
            }
        }
        caBundle = try Self.loadCABundle(configuration)
        var list: UnsafeMutablePointer<curl_slist>?
        for entry in configuration.resolveOverrides {
            guard let appended = curl_slist_append(list, entry) else {
                curl_slist_free_all(list)
                cep_ca_bundle_free(caBundle)
                throw HTTPClientError(.configuration, "out of memory")
            }
            list = appended
        }
        resolveList = list
        multi = cep_curlm_new({ _, fd, what, ctx, _ in
            Unmanaged<HTTPClient>.fromOpaque(ctx!).takeUnretainedValue().watch(fd: fd, what: what)
        }, { _, ms, ctx in
            Unmanaged<HTTPClient>.fromOpaque(ctx!).takeUnretainedValue().setTimer(milliseconds: ms)
            return 0
        }, Unmanaged.passUnretained(self).toOpaque())
        guard let multi else { throw HTTPClientError(.configuration, "curl_multi_init failed") }
        _ = cep_curlm_set_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxCachedConnections)
        _ = cep_curlm_set_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
    }

    deinit {
        for fd in watched.keys { reactor.unregister(fd: fd) }
        if let timer { reactor.cancel(timer) }
        if let multi {
            cep_curlm_detach_callbacks(multi)
            for (easy, task) in byHandle {
                curl_multi_remove_handle(multi, easy)
                task.releaseHandle()
            }
            for easy in spareHandles { curl_easy_cleanup(easy) }
            curl_multi_cleanup(multi)
        }
        cep_ca_bundle_free(caBundle)
        curl_slist_free_all(resolveList)
    }

    /// `CA_CERT` and then `caCertificateFiles`, parsed into one bundle; nil when there are none.
    private static func loadCABundle(_ configuration: HTTPClientConfiguration) throws(HTTPClientError) -> UnsafeMutableRawPointer? {
        let files = (configuration.extraCACertificatesPath.map { [$0] } ?? []) + configuration.caCertificateFiles
        guard !files.isEmpty else { return nil }
        guard let bundle = cep_ca_bundle_new() else { throw HTTPClientError(.configuration, "out of memory") }
        var err = [CChar](repeating: 0, count: 512)
        for (i, path) in files.enumerated() where cep_ca_bundle_add(bundle, path, &err, err.count) < 0 {
            cep_ca_bundle_free(bundle)
            let message = String(cChars: err)
            if i == 0 && configuration.extraCACertificatesPath != nil {
                throw HTTPClientError(.configuration, "CA_CERT: \(message); point CA_CERT at a PEM file of CA certificates")
            }
            throw HTTPClientError(.configuration, "CA certificates: \(message); a CA file must hold PEM certificates")
        }
        return bundle
    }

    // MARK: requests

    /// Starts `request`. `onHead` gets the final response head (after followed redirects), `onBody`
    /// each body chunk (valid only during the call; return `.pause` to hold the rest until
    /// `ClientTask.resumeBody()`), and `onComplete` the outcome, exactly once.
    @discardableResult
    public func start(_ request: ClientRequest,
                      onHead: @escaping (ClientResponseHead) -> Void = { _ in },
                      onBody: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition,
                      onComplete: @escaping (Result<ClientTransferSummary, HTTPClientError>) -> Void) -> ClientTask {
        let task = ClientTask(client: self, request: request)
        task.onHead = onHead
        task.onBody = onBody
        task.onComplete = onComplete
        begin(task)
        return task
    }

    /// Fetches a whole response body into memory; more than `maxBodyBytes` fails the request with
    /// `.bodyTooLarge` (checked against Content-Length up front, and against the bytes received).
    @discardableResult
    public func fetch(_ request: ClientRequest, maxBodyBytes: Int,
                      completion: @escaping (Result<ClientResponse, HTTPClientError>) -> Void) -> ClientTask {
        let task = ClientTask(client: self, request: request)
        var body: [UInt8] = []
        let tooLarge = { [unowned task] in
            task.abort(HTTPClientError(.bodyTooLarge, "response body exceeds \(maxBodyBytes) bytes", request: task.requestLine))
        }
        task.onHead = { head in
            if let length = head.headers["Content-Length"].flatMap({ Int($0) }), length > maxBodyBytes { tooLarge() }
        }
        task.onBody = { chunk in
            if body.count + chunk.count > maxBodyBytes { tooLarge() } else { body.append(contentsOf: chunk) }
            return .continue
        }
        task.onComplete = { result in
            completion(result.map { ClientResponse(head: $0.head, body: body, summary: $0) })
        }
        begin(task)
        return task
    }

    /// Cancels every unfinished request (each completes with `.cancelled`).
    public func cancelAll() {
        for task in Array(live.values) { task.cancel() }
    }

    private func begin(_ task: ClientTask) {
        stats.requestsStarted += 1
        live[ObjectIdentifier(task)] = task
        launch(task)
    }

    /// Attaches a fresh easy handle for the task's current request (first hop or a redirect).
    func launch(_ task: ClientTask) {
        if insideCurl {
            reactor.schedule(afterMilliseconds: 0) { [weak self] in self?.launch(task) }
            return
        }
        guard let multi, !task.isFinished else { return }
        task.resetForHop()
        let spare = spareHandles.popLast()
        if spare != nil { stats.handlesReused += 1 }
        if let error = task.makeHandle(reusing: spare, configuration: configuration, caBundle: caBundle,
                                       resolveList: resolveList) {
            task.releaseHandle(keep: keepSpare)
            task.abort(error)
            return
        }
        guard let easy = task.easy else { return }
        byHandle[easy] = task
        stats.transfersStarted += 1
        let rc = curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            detach(task)
            task.abort(HTTPClientError(.transport, "curl_multi_add_handle: \(String(cString: curl_multi_strerror(rc)))",
                                       request: task.requestLine))
        }
    }

    /// Takes the task's easy handle out of the multi (its connection goes back to the cache).
    func detach(_ task: ClientTask) {
        guard let easy = task.easy else { return }
        byHandle[easy] = nil
        if let multi { curl_multi_remove_handle(multi, easy) }
        task.releaseHandle(keep: keepSpare)
    }

    private func keepSpare(_ easy: UnsafeMutableRawPointer) -> Bool {
        guard spareHandles.count < sparesKept else { return false }
        spareHandles.append(easy)
        return true
    }

    func taskFinished(_ task: ClientTask) {
        detach(task)
        if live.removeValue(forKey: ObjectIdentifier(task)) != nil { stats.requestsFinished += 1 }
    }

    /// Applies the task's pause flags to libcurl and lets it run the transfer again.
    func applyPauseState(_ task: ClientTask) {
        if insideCurl {
            reactor.schedule(afterMilliseconds: 0) { [weak self, weak task] in if let task { self?.applyPauseState(task) } }
            return
        }
        guard let easy = task.easy else { return }
        let mask = (task.curlRecvPaused ? Int32(CEP_CURLPAUSE_RECV) : 0) | (task.curlSendPaused ? Int32(CEP_CURLPAUSE_SEND) : 0)
        curlDepth += 1
        _ = curl_easy_pause(easy, mask)   // may hand held-back data to our callbacks right away
        curlDepth -= 1
        socketAction(fd: Int32(CEP_CURL_SOCKET_TIMEOUT), mask: 0)
    }

    // MARK: libcurl's sockets and timer on the reactor

    private func watch(fd: Int32, what: Int32) -> Int32 {
        if what == Int32(CEP_CURL_POLL_REMOVE) {
            if watched.removeValue(forKey: fd) != nil { reactor.unregister(fd: fd) }
            stats.watchedSockets = watched.count
            return 0
        }
        var events: IOEvents = []
        if what & Int32(CEP_CURL_POLL_IN) != 0 { events.insert(.readable) }
        if what & Int32(CEP_CURL_POLL_OUT) != 0 { events.insert(.writable) }
        if watched[fd] != nil {
            reactor.modify(fd: fd, events: events)   // libcurl re-adds a socket it watches to change events
        } else {
            do {
                try reactor.register(fd: fd, events: events) { [unowned self] ready in self.socketReady(fd: fd, ready) }
            } catch {
                return -1   // libcurl then fails the transfers on this socket
            }
        }
        watched[fd] = events
        stats.watchedSockets = watched.count
        return 0
    }

    private func socketReady(fd: Int32, _ ready: IOEvents) {
        var mask: Int32 = 0
        if !ready.isDisjoint(with: [.readable, .hangup]) { mask |= Int32(CEP_CURL_CSELECT_IN) }
        if ready.contains(.writable) { mask |= Int32(CEP_CURL_CSELECT_OUT) }
        if ready.contains(.error) { mask |= Int32(CEP_CURL_CSELECT_ERR) }
        socketAction(fd: fd, mask: mask)
    }

    private func setTimer(milliseconds ms: Int) {
        if let timer { reactor.cancel(timer) }
        timer = nil
        guard ms >= 0 else { return }
        // libcurl asks not to be called from inside this callback, so even 0 ms waits for the loop.
        timer = reactor.schedule(afterMilliseconds: ms) { [weak self] in
            self?.timer = nil
            self?.socketAction(fd: Int32(CEP_CURL_SOCKET_TIMEOUT), mask: 0)
        }
    }

    private func socketAction(fd: Int32, mask: Int32) {
        guard let multi else { return }
        var running: Int32 = 0
        curlDepth += 1
        _ = curl_multi_socket_action(multi, fd, mask, &running)
        curlDepth -= 1
        reapFinished()
    }

    private func reapFinished() {
        guard let multi else { return }
        var easy: UnsafeMutableRawPointer?
        var code = CURLE_OK
        while cep_curlm_next_done(multi, &easy, &code) == 1 {
            guard let handle = easy, let task = byHandle[handle] else { continue }
            var target: UnsafePointer<CChar>?
            var connections = 0
            _ = cep_curl_info_str(handle, CURLINFO_REDIRECT_URL, &target)
            _ = cep_curl_info_long(handle, CURLINFO_NUM_CONNECTS, &connections)
            let redirect = target.map { String(cString: $0) }
            stats.connectionsOpened += connections
            detach(task)
            task.transferDone(code: code, redirectTarget: redirect, connections: connections)
        }
    }
}
