// What the broker client's tests run it against: the client on a real local server (Core's HTTPServer),
// an in-memory tunnel socket standing in for the websocket (test-only, until the real socket is wired),
// a test-only rule filter standing in for the accept filter (another part of the product), a real HTTP
// origin in the agent's place, and the Python /response-data receiver (Tests/broker/client_response_receiver.py).
import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

/// Test-only stand-in for the accept filter: method + path rules (`*` suffix = any rest), query ignored,
/// case-insensitive, a path that normalisation would change never matches. The real filter is tested by
/// its own share; this one only lets the client's own behaviour show.
struct TestOnlyRuleFilter: RequestFilter {
    var privateRules: [(String, String)] = [("GET", "/healthcheck"), ("GET", "/list"), ("GET", "/list/*"), ("POST", "/scan"),
                                            ("GET", "/echo"), ("POST", "/echo"), ("GET", "/stream/*")]
    var publicRules: [(String, String)] = [("POST", "/api/v2/import/done"), ("POST", "/api/v2/import/result")]

    func decide(_ request: FilterRequest, direction: FilterDirection) -> FilterDecision {
        let path = String(request.url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if path.contains("//") || path.contains("/./") || path.contains("/../") || path.hasSuffix("/..") || path.hasSuffix("/.") {
            return .blocked(reason: "path is not in normal form")
        }
        let rules = direction == .privateRules ? privateRules : publicRules
        for (method, pattern) in rules where method.equalsIgnoringASCIICase(request.method) {
            let p = path.lowercased(), q = pattern.lowercased()
            let hit = q.hasSuffix("*") ? p.hasPrefix(String(q.dropLast())) : (p == q || p == q + "/")
            if hit { return .allowed(origin: nil, request: request) }
        }
        return .blocked(reason: "Request does not match any accept rule")
    }
}

/// Carries a non-Sendable value onto the reactor thread (the test thread waits meanwhile).
struct ReactorBox<T>: @unchecked Sendable { var value: T }

/// Records the client's dials and hands back in-memory sockets (or failures). Reactor thread only,
/// except `requests` which the test reads.
final class InMemoryDialer: @unchecked Sendable {
    let requests = Locked<[TunnelDialRequest]>([])
    let failing = Locked(false)
    var sockets: [InMemoryTunnelSocket] = []

    var dialer: TunnelDialer {
        { [self] reactor, request, done in
            requests.mutate { $0.append(request) }
            let fail = failing.get()
            reactor.schedule(afterMilliseconds: 0) { [self] in
                if fail { done(.failure(TunnelDialFailure("connection refused (test dialer set to fail)"))); return }
                let s = InMemoryTunnelSocket(role: request.role)
                sockets.append(s)
                done(.success(s))
            }
        }
    }

    func latest(_ role: String) -> InMemoryTunnelSocket? { sockets.last { $0.role == role } }
}

/// The client on its local server, with helpers to act on its reactor from the test thread.
final class ClientHarness: @unchecked Sendable {
    let local: TestServer
    let client: BrokerClient
    let dial = InMemoryDialer()
    let logPath: String
    /// Delayed closures the client asked for, when the test drives time itself (`manualClock`).
    let timers = Locked<[(Int, ReactorBox<() -> Void>)]>([])

    var reactor: Reactor { local.server.mainReactor }
    var port: Int { local.port }

    /// `dialer`: the real one (BrokerSocketDialer) for a test against a real server; the in-memory one by default.
    init(settings: BrokerClientSettings, logLevel: LogLevel = .debug, manualClock: Bool = false, localPort: Int = 0,
         configure: (BrokerClient) -> Void = { _ in }, dialer: TunnelDialer? = nil) throws {
        logPath = NSTemporaryDirectory() + "broker-client-\(UUID().uuidString).log"
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        let logger = Logger(level: logLevel, fd: fd, component: "broker-client")
        client = BrokerClient(settings: settings, logger: logger, dialer: dialer ?? dial.dialer)
        client.downstreamRetryDelayMilliseconds = 20
        if manualClock {
            let timers = self.timers
            client.scheduler = { ms, body in timers.mutate { $0.append((ms, ReactorBox(value: body))) } }
        }
        configure(client)
        local = try TestServer(router: ClientRoutes.router(for: client)) { $0.port = localPort }
        let metrics = client.metrics
        local.server.metrics.addSection { metrics.render() }
        let c = client
        let r = local.server.mainReactor
        try onReactor { try c.attach(reactor: r, httpConfiguration: HTTPClientConfiguration()) }
        XCTAssertTrue(waitUntil(seconds: 10) { onReactor { c.openSocketCount } == 2 }, "both sockets open")
    }

    deinit {
        let c = client
        onReactor { c.stop() }
        local.stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// Runs `body` on the client's reactor and waits for its result.
    func onReactor<T>(_ body: @escaping () throws -> T) rethrows -> T {
        let result = Locked<ReactorBox<Result<T, Error>>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let work = ReactorBox(value: body)
        reactor.execute {
            result.set(ReactorBox(value: Result { try work.value() }))
            done.signal()
        }
        done.wait()
        return try! result.get()!.value.get()
    }

    /// The socket of `role` the client has now.
    func socket(_ role: String = "primary") -> InMemoryTunnelSocket {
        let d = dial
        return onReactor { d.latest(role)! }
    }

    /// The server sends a `request` event down the primary socket.
    func serverRequests(_ payload: JSON, role: String = "primary", ack: (([JSON]) -> Void)? = nil) {
        let d = dial
        let box = ReactorBox(value: ack)
        onReactor { d.latest(role)!.deliver("request", [payload], ack: box.value) }
    }

    /// Fires the delayed closures the client asked for (manual clock), returning their delays.
    @discardableResult
    func fireTimers() -> [Int] {
        var due: [(Int, ReactorBox<() -> Void>)] = []
        timers.mutate { due = $0; $0 = [] }
        onReactor { for (_, body) in due { body.value() } }
        return due.map(\.0)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// One GET or other request on the client's own port with curl: status and body.
    func curl(_ path: String, method: String = "GET", body: String? = nil, headers: [String] = []) throws -> (status: Int, body: String) {
        var args = ["-sS", "--max-time", "60", "-X", method, "-o", "-", "-w", "\n%{http_code}"]
        for h in headers { args += ["-H", h] }
        if let body { args += ["--data-binary", body] }
        args.append("http://127.0.0.1:\(port)\(path)")
        let r = try runProcess("/usr/bin/curl", args, timeout: 90)
        let parts = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(parts.last ?? "") ?? 0, parts.dropLast().joined(separator: "\n"))
    }
}

/// A test class with one EchoOrigin (the agent's place) for all its tests.
class EchoOriginTestCase: XCTestCase {
    nonisolated(unsafe) static var origin: EchoOrigin?

    override class func setUp() {
        super.setUp()
        origin = try? EchoOrigin()
    }

    override class func tearDown() {
        origin?.stop()
        super.tearDown()
    }

    var origin: EchoOrigin { Self.origin! }
}

/// The Python /response-data receiver (a stand-in for the receiving half of snyk's server).
final class ResponseReceiver {
    let process: BackgroundProcess
    let url: String

    init(readDelayMilliseconds: Double = 0) throws {
        (process, url) = try startPythonServer("broker/client_response_receiver.py",
                                               ["--read-delay-ms", String(readDelayMilliseconds), "--max-lifetime", "600"])
    }

    func uploads() -> [[String: Any]] {
        guard let r = try? runProcess("/usr/bin/curl", ["-sS", "--max-time", "10", "\(url)/_receiver/record"]),
              let obj = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { return [] }
        return obj["uploads"] as? [[String: Any]] ?? []
    }

    /// Waits for the upload of `streamingID` to end (complete or cut off).
    func upload(_ streamingID: String, seconds: Double = 30) -> [String: Any]? {
        var found: [String: Any]?
        waitUntil(seconds: seconds) {
            found = uploads().first { ($0["path"] as? String)?.hasSuffix("/\(streamingID)") == true && ($0["complete"] as? Bool == true || $0["error"] != nil) }
            return found != nil
        }
        return found
    }

    func stop() { _ = process.stop() }
}

/// A real HTTP origin in the agent's place (Core's server): echoes what it received, streams large
/// answers, and answers the systemcheck.
final class EchoOrigin {
    let server: TestServer
    var url: String { "http://127.0.0.1:\(server.port)" }
    static let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)

    init() throws {
        var r = Router(caseInsensitive: true)
        let echo: HTTPHandler = { ex in
            ex.collectBody(limit: 1 << 20) { result in
                let body = (try? result.get()) ?? []
                let headers = JSON.object(ex.request.headers.fields.map { ($0.name.lowercased(), .string($0.value)) })
                let answer = JSON.object([("method", .string(ex.request.method)), ("target", .string(ex.request.target)),
                                          ("headers", headers), ("body", .string(String(decoding: body, as: UTF8.self)))])
                ex.respond(status: 200, json: answer.serialized, headers: ["X-Origin": "echo"])
            }
        }
        r.add("GET", "/echo", echo)
        r.add("POST", "/echo", maxBodyBytes: 1 << 20, echo)
        r.add("GET", "/list", echo)
        r.add("GET", "/healthcheck", echo)
        // 200 only for the fixture's CR_CREDENTIALS sent raw, as the systemcheck must send them.
        r.add("GET", "/requires-credentials") { ex in
            let good = ex.request.headers["authorization"] == ClientFixture.credentials
            ex.respond(status: good ? 200 : 401, json: good ? "{}" : "{\"error\":\"bad credentials\"}")
        }
        r.add("GET", "/denied") { ex in ex.respond(status: 401, json: "{\"error\":\"bad credentials\"}") }
        r.add("GET", "/stream/*") { ex in
            let mib = Int(ex.request.path.dropFirst("/stream/".count)) ?? 1
            let total = mib * 1024 * 1024
            ex.startResponse(status: 200, headers: ["Content-Type": "application/octet-stream"], contentLength: total)
            var sent = 0
            func pump() {
                while sent < total {
                    sent += EchoOrigin.chunk.count
                    if !ex.write(EchoOrigin.chunk) { ex.onWritable = { pump() }; return }
                }
                ex.finish()
            }
            pump()
        }
        server = try TestServer(router: r)
    }

    func stop() { server.stop() }
}

enum ClientFixture {
    static let token = "0f4e9a2c-7b7d-4c62-9d1e-5b8f3a2e91c4"
    static let password = "s3cret-registry-pass!"
    /// CR_CREDENTIALS for a docker-hub style registry, as the entrypoint writes it.
    static var credentials: String {
        Base64.encode(Array("{\"type\":\"docker-hub\", \"username\":\"scanner\", \"password\":\"\(password)\", \"registryBase\":\"registry.example:5000\"}\n".utf8))
    }

    static func settings(server: String, agent: String, validation: String? = nil, filter: any RequestFilter = TestOnlyRuleFilter(),
                         credentials: String = ClientFixture.credentials, password: String = ClientFixture.password,
                         clientURL: String = "http://127.0.0.1:7341") -> BrokerClientSettings {
        BrokerClientSettings(brokerToken: token, serverURL: server, clientURL: clientURL, agentURL: agent,
                             crCredentials: credentials, port: 0, validationURL: validation, filter: filter,
                             environment: ["CR_PASSWORD": password])
    }

    /// A port nothing listens on right now (bound and released), for a server whose URL must be known first.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// The receiver's frame preamble as an object.
    static func preamble(_ upload: [String: Any]) -> [String: Any] { upload["preamble"] as? [String: Any] ?? [:] }

    static func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }
}

/// A suite whose tests share one Python /response-data receiver and one echo origin, started before the
/// first test and stopped after the last.
class ReceiverAndOriginTestCase: XCTestCase {
    nonisolated(unsafe) static var receiver: ResponseReceiver?
    nonisolated(unsafe) static var origin: EchoOrigin?

    override class func setUp() {
        super.setUp()
        do {
            receiver = try ResponseReceiver()
            origin = try EchoOrigin()
        } catch { XCTFail("cannot start the receiver and the origin: \(error)") }
    }

    override class func tearDown() {
        receiver?.stop()
        origin?.stop()
        super.tearDown()
    }

    var receiver: ResponseReceiver { Self.receiver! }
    var origin: EchoOrigin { Self.origin! }
}
