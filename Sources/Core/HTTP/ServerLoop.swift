// The server's share of one reactor: its listening socket, its connections and their deadlines.
import CEpoll
import Glibc

// @unchecked: used only on its reactor's thread; HTTPServer keeps a list only to hand it back there.
final class ServerLoop: @unchecked Sendable {
    let reactor: Reactor
    unowned(unsafe) let server: HTTPServer    // the server outlives its loops (run() returns after they stop)
    let config: HTTPServerConfiguration
    private var listenFD: Int32
    private var connections: [Int32: HTTPConnection] = [:]
    private(set) var draining = false
    private var onDrained: (() -> Void)?
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Whether access lines are logged (LOG_LEVEL=debug), read once rather than per request.
    let debugLogging: Bool

    init(reactor: Reactor, server: HTTPServer, listenFD: Int32) throws(SystemError) {
        self.reactor = reactor
        self.server = server
        self.config = server.config
        self.listenFD = listenFD
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        debugLogging = server.logger.isEnabled(.debug)
        try reactor.register(fd: listenFD, events: .readable) { [unowned self] _ in self.acceptAll() }
        reactor.every(milliseconds: config.sweepIntervalMs) { [unowned self] in self.sweep() }
    }

    deinit { readBuffer.deallocate() }

    var connectionCount: Int { connections.count }

    private func acceptAll() {
        var accepted = 0
        while listenFD >= 0 && !acceptPaused {
            // A budget per turn: a connection flood must not starve the connections already open.
            if accepted >= 256 { return }
            let fd = cep_accept(listenFD)
            if fd < 0 {
                if fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM { pauseAccepting(errno: fd) }
                else if fd != CEP_AGAIN && fd != -EINTR && fd != -ECONNABORTED && fd != -EPROTO {
                    server.logger.warn("accept failed", [("error", .string(String(errno: fd)))])
                }
                return
            }
            accepted += 1
            // Past MAX_CONNECTIONS (across all loops) a new connection is closed at once: the
            // descriptors left are kept for outbound connections and files. Counting it in first
            // makes the check and the count one step, whichever thread accepts.
            let open = server.metrics.openConnections.add(1, ordering: .relaxed).newValue
            if open > config.maxConnections {
                server.metrics.openConnections.subtract(1, ordering: .relaxed)
                server.metrics.connectionsRefused.add(1, ordering: .relaxed)   // counted before the client can see the close
                _ = cep_close(fd)
                noteRefused()
                continue
            }
            do {
                let c = try HTTPConnection(fd: fd, loop: self, tls: config.tls)
                connections[fd] = c
            } catch {
                server.metrics.openConnections.subtract(1, ordering: .relaxed)
                _ = cep_close(fd)
            }
        }
    }

    /// Whether the listener is out of the poll set for a while (descriptors ran out).
    private var acceptPaused = false
    private var acceptPauseWarning = RateLimitedWarning()
    private var refusedWarning = RateLimitedWarning()

    /// Out of descriptors: the pending connection stays in the backlog, so the listener stays
    /// readable and accepting again at once would spin. Stop polling it for `acceptBackoffMs`.
    private func pauseAccepting(errno code: Int32) {
        server.metrics.acceptPauses.add(1, ordering: .relaxed)
        if let pauses = acceptPauseWarning.due(now: Reactor.now()) {
            server.logger.warn("accept paused: out of file descriptors", [
                ("error", .string(String(errno: code))),
                ("openConnections", .int(server.metrics.openConnections.load(ordering: .relaxed))),
                ("pausesSinceLastWarning", .int(pauses)),
                ("pauseMs", .int(config.acceptBackoffMs)),
            ])
        }
        acceptPaused = true
        reactor.modify(fd: listenFD, events: [])
        reactor.schedule(afterMilliseconds: config.acceptBackoffMs) { [weak self] in
            guard let self, self.listenFD >= 0 else { return }
            self.acceptPaused = false
            self.reactor.modify(fd: self.listenFD, events: .readable)
        }
    }

    private func noteRefused() {
        if let refused = refusedWarning.due(now: Reactor.now()) {
            server.logger.warn("connection refused: MAX_CONNECTIONS reached", [
                ("maxConnections", .int(config.maxConnections)), ("refusedSinceLastWarning", .int(refused)),
            ])
        }
    }

    func connectionClosed(_ c: HTTPConnection) {
        guard connections.removeValue(forKey: c.fd) != nil else { return }
        server.metrics.openConnections.subtract(1, ordering: .relaxed)
        if draining && connections.isEmpty { finishDrain() }
    }

    /// The connection's socket now belongs to another protocol: forget it without closing it.
    func connectionHandedOver(_ c: HTTPConnection) { connectionClosed(c) }

    private func sweep() {
        let now = Reactor.now()
        for c in Array(connections.values) where c.deadline != 0 && now >= c.deadline { c.expire(now: now) }
    }

    /// Stops accepting; closes idle connections now and busy ones after their response, then calls
    /// `done`. Connections still open after the drain timeout are closed.
    func beginDrain(_ done: @escaping () -> Void) {
        guard !draining else { return }
        draining = true
        onDrained = done
        if listenFD >= 0 {
            reactor.unregister(fd: listenFD)
            _ = cep_close(listenFD)
            listenFD = -1
        }
        for c in Array(connections.values) { c.drain() }
        if connections.isEmpty { finishDrain(); return }
        reactor.schedule(afterMilliseconds: config.drainTimeoutMs) { [weak self] in
            guard let self, !self.connections.isEmpty else { return }
            self.server.logger.warn("drain timeout: closing connections still in flight", [("connections", .int(self.connections.count))])
            for c in Array(self.connections.values) { c.close() }
        }
    }

    private func finishDrain() {
        let d = onDrained
        onDrained = nil
        d?()
    }

    /// One response buffer lent to whichever connection is writing, and returned once that
    /// connection's queue is empty: no allocation per response, no buffer held by idle connections.
    private var spareOutput: [UInt8] = []

    func lendOutputBuffer(to output: inout [UInt8]) {
        if spareOutput.capacity > output.capacity { swap(&output, &spareOutput) }
        if output.capacity < 1024 { output.reserveCapacity(1024) }
    }

    func takeBackOutputBuffer(from output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        if output.capacity <= 64 * 1024 && output.capacity > spareOutput.capacity { swap(&output, &spareOutput) }
        output = []
    }

    private var statusLines: [Int: [UInt8]] = [:]
    private var dateServerLines: [UInt8] = []
    private var dateLinesSecond: UInt64 = 0

    /// `HTTP/1.1 <status> <reason>\r\n`, made once per status.
    func statusLine(_ status: Int) -> [UInt8] {
        if let l = statusLines[status] { return l }
        let l = HTTPResponseEncoder.statusLine(status)
        statusLines[status] = l
        return l
    }

    /// The Date and Server header lines, remade when the second changes.
    func dateAndServerLines() -> [UInt8] {
        let second = cep_realtime_ms() / 1000
        if second != dateLinesSecond || dateServerLines.isEmpty {
            dateLinesSecond = second
            let date = Self.httpDate(second: second)
            dateServerLines = Array("Date: \(date)\r\nServer: \(server.serverName)\r\n".utf8)
        }
        return dateServerLines
    }

    /// The IMF-fixdate for the Date header of `second` (Unix time).
    private static func httpDate(second: UInt64) -> String {
        var t = time_t(second)
        var tm = tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }

    func logAccess(_ ex: HTTPExchange) {
        let headers = ex.request.headers.map { ($0.name, JSON.string(Redaction.headerValue(name: $0.name, value: $0.value))) }
        server.logger.debug("request", [
            ("method", .string(ex.request.method)),
            ("target", .string(Redaction.url(ex.request.target))),
            ("status", .int(ex.status)),
            ("route", .string(ex.route)),
            ("ms", .double(Double(Reactor.now() - ex.startedAt) / 1e6)),
            ("headers", .object(headers)),
        ])
    }
}

/// One warning per interval, however hard clients push: each event is counted, and every `intervalNs`
/// at most one of them is let through with the count since the last.
struct RateLimitedWarning {
    static let intervalNs: UInt64 = 10_000_000_000
    private var lastNs: UInt64 = 0
    private var count = 0

    /// The events counted since the last warning (this one included) when one is due now, else nil.
    mutating func due(now: UInt64) -> Int? {
        count += 1
        guard lastNs == 0 || now &- lastNs >= Self.intervalNs else { return nil }
        defer { lastNs = now; count = 0 }
        return count
    }
}
