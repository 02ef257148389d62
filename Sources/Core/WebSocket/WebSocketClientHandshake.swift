// The client side of a WebSocket connection, up to its first frame: name resolution (off the loop
// thread), a non-blocking TCP connect, HTTP CONNECT through a proxy, TLS with peer and host-name
// verification, the upgrade request and the 101 checked (RFC 6455 §4.1).
//
// Built on our own sockets and OpenSSL rather than libcurl's CONNECT_ONLY: the connection that
// follows must own its socket in our reactor with our buffers and backpressure, and curl_easy_send/
// recv would add a second buffering layer and a second owner of the descriptor. What libcurl would
// have given (proxy, TLS verification with the project's CA settings) is a few small steps here.
import CEpoll
import Glibc

/// Why a client connection could not be made, precise enough to act on.
public struct WebSocketConnectError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Stage: String, Sendable {
        case url, resolve, connect, proxy, tls, handshake, timeout, cancelled
    }
    public let stage: Stage
    /// The HTTP status of a refused handshake or proxy CONNECT.
    public let status: Int?
    public let message: String

    public init(_ stage: Stage, _ message: String, status: Int? = nil) {
        self.stage = stage
        self.message = message
        self.status = status
    }

    public var description: String { message }
}

extension WebSocketConnection {
    /// Opens a client connection to `url` (ws://, wss://, http://, https://) with `headers` on the
    /// upgrade request. `completion` runs once on `reactor`'s thread, unless the returned handshake
    /// is cancelled first. Call on the reactor's thread.
    @discardableResult
    public static func connect(url: String, headers: HTTPHeaders = HTTPHeaders(), reactor: Reactor, configuration: WebSocketConfiguration,
                               completion: @escaping (Result<WebSocketConnection, WebSocketConnectError>) -> Void) -> WebSocketClientHandshake {
        let h = WebSocketClientHandshake(reactor: reactor, configuration: configuration, headers: headers, completion: completion)
        h.start(url: url)
        return h
    }
}

/// One client handshake in progress. Owns the socket until the connection takes it over.
public final class WebSocketClientHandshake {
    private enum Step { case resolving, connecting, proxyConnect, tls, upgrading, done }

    private let reactor: Reactor
    private let configuration: WebSocketConfiguration
    private let extraHeaders: HTTPHeaders
    private var completion: ((Result<WebSocketConnection, WebSocketConnectError>) -> Void)?
    private var step = Step.resolving
    private var target = WebSocketURL(secure: false, host: "", port: 0, requestTarget: "/")
    private var proxy: WebSocketProxy?
    private var fd: Int32 = -1
    private var registered = false
    private var transport = Transport.plain
    private var pending: [UInt8] = []
    private var received: [UInt8] = []
    private var key = ""
    /// Addresses of the name still to try when a connect fails (IPv6 first may be unreachable).
    private var addresses: [String] = []
    private var timer: TimerID?
    /// A refused handshake's head, while its body's first line arrives.
    private var refusedHead: WebSocketResponseHead?

    init(reactor: Reactor, configuration: WebSocketConfiguration, headers: HTTPHeaders,
         completion: @escaping (Result<WebSocketConnection, WebSocketConnectError>) -> Void) {
        self.reactor = reactor
        self.configuration = configuration
        self.extraHeaders = headers
        self.completion = completion
    }

    /// Stops the attempt; its completion is never called.
    public func cancel() {
        completion = nil
        cleanUp()
    }

    fileprivate func start(url: String) {
        guard let u = WebSocketURL(url) else {
            // The URL itself is not quoted: a broker's carries its token in the path.
            let scheme = url.range(of: "://").map { String(url[..<$0.lowerBound].prefix(16)) } ?? "(none)"
            return failSoon(.url, "the server URL is not a ws://, wss://, http:// or https:// URL with a host and a valid port (its scheme: \(UntrustedText.terminalSafe(scheme)))")
        }
        target = u
        let proxyURL = u.secure ? configuration.proxies.httpsProxy : configuration.proxies.httpProxy
        if let p = proxyURL, !WebSocketProxy.bypasses(host: u.host, noProxy: configuration.proxies.noProxy) {
            guard let parsed = WebSocketProxy(p) else { return failSoon(.proxy, "the proxy \(Redaction.url(p)) is not an http:// URL with a host") }
            proxy = parsed
        }
        timer = reactor.schedule(afterMilliseconds: configuration.handshakeTimeoutMilliseconds) { [weak self] in
            guard let self, self.step != .done else { return }
            self.timer = nil
            // A refusal whose body never completed is still a refusal: report its status.
            if let head = self.refusedHead { _ = self.refused(head, peerClosed: true); return }
            self.fail(.timeout, "no WebSocket connection to \(self.target.display) within \(self.configuration.handshakeTimeoutMilliseconds) ms (stuck at \(self.step))")
        }
        let host = proxy?.host ?? u.host
        if cep_is_ip_literal(host) != 0 {       // from the loop, so the completion never runs inside `connect`
            reactor.schedule(afterMilliseconds: 0) { [self] in
                if step == .resolving && completion != nil { connect(address: host) }
            }
            return
        }
        // getaddrinfo blocks: it runs on a thread of its own and the answer comes back to the loop.
        let box = UncheckedBox(self)
        let r = reactor
        let t = JoinableThread.start(name: "ws-resolve") {
            var out = [CChar](repeating: 0, count: 1024)
            let rc = cep_resolve(host, &out, out.count)
            let answer = rc == 0 ? Result<[String], WebSocketConnectError>.success(String(cChars: out).split(separator: "\n").map(String.init))
                : .failure(WebSocketConnectError(.resolve, "cannot resolve \(host): \(String(cString: cep_resolve_strerror(rc)))"))
            r.execute {
                let me = box.value
                guard me.step == .resolving, me.completion != nil else { return }
                switch answer {
                case .success(let addresses):
                    me.addresses = Array(addresses.dropFirst())
                    me.connect(address: addresses[0])
                case .failure(let e): me.fail(e)
                }
            }
        }
        pthread_detach(t.handle)
    }

    private func connect(address: String) {
        step = .connecting
        let port = proxy?.port ?? target.port
        let via = proxy.map { "the proxy \($0.host):\($0.port)" } ?? "\(target.host):\(port)"
        let r = cep_connect_tcp(address, Int32(port))
        guard r >= 0 else { return connectFailed("cannot connect to \(via): \(String(errno: r))") }
        fd = r
        do {
            // The handler keeps the handshake alive while it owns the socket (the caller may drop it).
            try reactor.register(fd: fd, events: .writable) { [self] events in self.onEvents(events) }
            registered = true
        } catch {
            fail(.connect, "cannot watch the socket to \(via): \(error)")
        }
    }

    private func onEvents(_ events: IOEvents) {
        switch step {
        case .connecting:
            let err = cep_socket_error(fd)
            let via = proxy.map { "the proxy \($0.host):\($0.port)" } ?? "\(target.host):\(target.port)"
            guard err == 0 else { return connectFailed("cannot connect to \(via): \(String(errno: err))") }
            if let p = proxy {
                step = .proxyConnect
                var req = "CONNECT \(target.authority) HTTP/1.1\r\nHost: \(target.authority)\r\n"
                if let auth = p.basicAuthorization { req += "Proxy-Authorization: Basic \(auth)\r\n" }
                req += "\r\n"
                pending = Array(req.utf8)
                pump()
            } else {
                afterTCP()
            }
        case .proxyConnect, .tls, .upgrading:
            pump()
        case .resolving, .done:
            break
        }
    }

    /// A connect failed: the name's next address, else the error (the last address's).
    private func connectFailed(_ message: String) {
        if registered { reactor.unregister(fd: fd); registered = false }
        if fd >= 0 { _ = cep_close(fd); fd = -1 }
        guard !addresses.isEmpty else { return fail(.connect, message) }
        connect(address: addresses.removeFirst())
    }

    /// The tunnel or the direct TCP connection is up: TLS next, or the upgrade request.
    private func afterTCP() {
        if target.secure {
            step = .tls
            let ctx: TLSClientContext
            do { ctx = try TLSClientContext.shared(on: reactor, configuration: configuration) }
            catch { return fail(.tls, "\(error)") }
            guard let ssl = cep_tls_client_new(ctx.ctx, fd, target.host) else {
                return fail(.tls, "cannot start a TLS session for \(target.host)")
            }
            transport = .tls(ssl, handshakeDone: false)
        } else {
            sendUpgrade()
        }
        pump()
    }

    private func sendUpgrade() {
        step = .upgrading
        key = WebSocketHandshake.makeKey()
        var req = "GET \(target.requestTarget) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        req += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (n, v) in extraHeaders.fields where HTTPResponseEncoder.isSafeFieldName(n) && HTTPResponseEncoder.isSafeFieldValue(v) {
            // The handshake's own fields are ours to set: a caller's copy would make them ambiguous.
            if Self.handshakeFields.contains(where: { n.equalsIgnoringASCIICase($0) }) { continue }
            req += "\(n): \(v)\r\n"
        }
        req += "\r\n"
        pending = Array(req.utf8)
    }

    /// Drives the current step: the TLS handshake, writing the pending request, reading the answer.
    private func pump() {
        if case .tls(let ssl, false) = transport {
            switch Int(cep_tls_handshake(ssl)) {
            case 1:
                transport = .tls(ssl, handshakeDone: true)
                sendUpgrade()
            case CEP_WANT_READ: return watch(.readable)
            case CEP_WANT_WRITE: return watch(.writable)
            default:
                var buf = [CChar](repeating: 0, count: 256)
                cep_tls_verify_error(ssl, &buf, buf.count)
                let verify = String(cChars: buf)
                let detail = TLSServerContext.lastError()
                if !verify.isEmpty { return fail(.tls, "TLS certificate verification failed for \(target.host): \(verify)") }
                return fail(.tls, "TLS handshake with \(target.host) failed: \(detail)")
            }
        }
        while !pending.isEmpty {
            switch pending.withUnsafeBytes({ transport.write(fd: fd, $0) }) {
            case .bytes(let n): pending.removeFirst(n)
            case .wouldBlock(let wantsWritable): return watch(wantsWritable ? .writable : [.readable, .writable])
            case .closed: return fail(failureStage, "\(peerName) closed the connection during the handshake")
            case .failed(let why): return fail(failureStage, "writing to \(peerName) failed: \(why)")
            }
        }
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let r = scratch.withUnsafeMutableBytes { transport.read(fd: fd, into: $0) }
            switch r {
            case .bytes(let n):
                received.append(contentsOf: scratch[0..<n])
                if !examineAnswer(peerClosed: false) { return }
            case .wouldBlock(let wantsWritable):
                return watch(wantsWritable ? .writable : .readable)
            case .closed:
                _ = examineAnswer(peerClosed: true)
                if step != .done { fail(failureStage, "\(peerName) closed the connection before answering the handshake") }
                return
            case .failed(let why):
                return fail(failureStage, "reading from \(peerName) failed: \(why)")
            }
        }
    }

    private static let handshakeFields = ["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                                          "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol", "Content-Length", "Transfer-Encoding"]

    private var failureStage: WebSocketConnectError.Stage { step == .proxyConnect ? .proxy : .handshake }
    private var peerName: String { step == .proxyConnect ? "the proxy \(proxy!.host):\(proxy!.port)" : target.display }

    private func watch(_ events: IOEvents) {
        reactor.modify(fd: fd, events: events)
    }

    /// Acts on what arrived; returns whether to keep reading.
    private func examineAnswer(peerClosed: Bool) -> Bool {
        if let head = refusedHead { return refused(head, peerClosed: peerClosed) }
        guard let end = WebSocketResponseHead.headEnd(received) else {
            if received.count > 16 * 1024 { fail(failureStage, "\(peerName) sent a response head larger than 16 KiB"); return false }
            return true
        }
        guard let head = WebSocketResponseHead(Array(received[..<end])) else {
            fail(failureStage, "\(peerName) answered with something that is not an HTTP response"); return false
        }
        received.removeFirst(end)
        if step == .proxyConnect {
            guard (200..<300).contains(head.status) else {
                fail(.proxy, "the proxy \(proxy!.host):\(proxy!.port) answered \(head.status) \(head.reason) to CONNECT \(target.authority)", status: head.status)
                return false
            }
            received = []
            afterTCP()
            return false        // afterTCP drove the next step
        }
        guard head.status == 101 else {
            refusedHead = head
            return refused(head, peerClosed: peerClosed)
        }
        if let problem = head.upgradeProblem(expectedAccept: WebSocketHandshake.accept(forKey: key)) {
            fail(.handshake, "\(target.display) answered 101 but \(problem)", status: 101)
            return false
        }
        open()
        return false
    }

    /// A refused handshake: waits (boundedly) for the first line of its body, then fails with it.
    private func refused(_ head: WebSocketResponseHead, peerClosed: Bool) -> Bool {
        let wanted = min(head.contentLength ?? 4096, 4096)
        let lines = received.lazy.filter { $0 == UInt8(ascii: "\n") }.count
        let complete = peerClosed || received.count >= wanted || lines >= (head.chunked ? 2 : 1)
        if !complete { return true }
        var body = received
        if head.chunked, let nl = body.firstIndex(of: UInt8(ascii: "\n")) { body.removeFirst(nl + 1) }
        let line = String(decoding: body.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let shown = UntrustedText.terminalSafe(UntrustedText.truncated(line, maxBytes: 200))
        fail(.handshake, "\(target.display) refused the WebSocket handshake: \(head.status) \(head.reason)" + (shown.isEmpty ? "" : ": \(shown)"),
             status: head.status)
        return false
    }

    private func open() {
        step = .done
        if let t = timer { reactor.cancel(t); timer = nil }
        reactor.unregister(fd: fd)
        registered = false
        let socket = fd
        fd = -1
        do {
            let ws = try WebSocketConnection(fd: socket, transport: transport, role: .client, reactor: reactor,
                                             configuration: configuration, bytesAlreadyRead: received)
            received = []
            let c = completion
            completion = nil
            c?(.success(ws))
        } catch {
            if case .tls(let ssl, _) = transport { cep_tls_free(ssl) }
            _ = cep_close(socket)
            let c = completion
            completion = nil
            c?(.failure(WebSocketConnectError(.connect, "cannot watch the connection to \(target.display): \(error)")))
        }
    }

    /// A failure found before any I/O is reported from the loop too, never from inside `connect`.
    private func failSoon(_ stage: WebSocketConnectError.Stage, _ message: String) {
        step = .done
        reactor.schedule(afterMilliseconds: 0) { [self] in fail(stage, message) }
    }

    private func fail(_ stage: WebSocketConnectError.Stage, _ message: String, status: Int? = nil) {
        fail(WebSocketConnectError(stage, message, status: status))
    }

    private func fail(_ e: WebSocketConnectError) {
        cleanUp()
        let c = completion
        completion = nil
        c?(.failure(e))
    }

    private func cleanUp() {
        step = .done
        if let t = timer { reactor.cancel(t); timer = nil }
        if registered { reactor.unregister(fd: fd); registered = false }
        if case .tls(let ssl, _) = transport { cep_tls_free(ssl); transport = .plain }
        if fd >= 0 { _ = cep_close(fd); fd = -1 }
    }
}

/// Carries a loop-confined object through another thread and back to its loop untouched.
// @unchecked: the value is only used on the reactor thread it came from (inside `execute`).
private final class UncheckedBox<T: AnyObject>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
