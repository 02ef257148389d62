// Test harness for the broker server in process: a real HTTP server on 127.0.0.1 and a test-only
// in-memory TunnelSocket standing in for a client's socket (the dispatcher's logic without a wire);
// callers are real curl processes.
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

/// @unchecked: `broker` and the sockets are touched only inside `onReactor`, on the server's thread.
final class BrokerServerHarness: @unchecked Sendable {
    let broker: BrokerServer
    let server: HTTPServer
    private let stopped = Counter()
    var port: Int { server.port }
    var base: String { "http://127.0.0.1:\(port)" }

    /// `webSockets`: GET /primus/<token>/ upgrades to the real WebSocket transport (for raw peers and
    /// Python clients), as the executable does.
    init(tokens: [String] = ["tok-alpha-0001"], configure: (inout BrokerServerSettings) -> Void = { _ in }, filter: RequestFilter? = nil,
         webSockets: Bool = false) throws {
        var config = HTTPServerConfiguration()
        config.host = "127.0.0.1"
        config.threads = 1
        var settings = BrokerServerSettings(server: config, tokens: .list(tokens))
        configure(&settings)
        broker = try BrokerServer(settings: settings, logger: Logger(level: .error, fd: 2, component: "test"), filter: filter)
        server = try HTTPServer(config: settings.server, router: broker.router(upgrade: webSockets ? broker.webSocketUpgrade() : nil), logger: Logger(level: .error, fd: 2, component: "test"))
        broker.attach(server)
        let s = server, flag = stopped
        Thread { try? s.run(handleSignals: false); flag.increment() }.start()
    }

    /// Runs `body` on the server's reactor thread and returns its result.
    func onReactor<T>(_ body: @escaping () -> T) -> T {
        let box = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let work = UncheckedBox(body)
        server.mainReactor.execute { box.set(work.value()); done.signal() }
        guard done.wait(timeout: .now() + 30) == .success, let value = box.get() else {
            fatalError("the server's reactor did not run the work (it has stopped)")
        }
        return value
    }

    /// A new in-memory socket on `token`, identified as a client of `version` with `capabilities`
    /// unless `identify` is false.
    func connect(token: String = "tok-alpha-0001", identify: Bool = true, version: String = "4.200.0",
                 capabilities: [String] = ["post-streams"], clientId: String = "client-1", role: String = "primary") -> InMemoryTunnelSocket {
        onReactor {
            let s = InMemoryTunnelSocket()
            self.broker.accept(socket: s, token: token, clientId: clientId, role: role)
            if identify {
                let metadata = JSON.object([("capabilities", .array(capabilities.map { .string($0) })), ("clientId", .string(clientId)),
                                            ("version", .string(version)), ("role", .string(role))])
                s.onEvent?("identify", [.object([("token", .string(token)), ("metadata", metadata)])], nil)
            }
            return s
        }
    }

    /// The `request` events the socket received so far.
    func requests(_ s: InMemoryTunnelSocket) -> [InMemoryTunnelSocket.Emitted] {
        onReactor { s.emitted.filter { $0.event == "request" } }
    }

    /// Waits until the socket has received `count` request events.
    func waitForRequests(_ s: InMemoryTunnelSocket, count: Int = 1) -> [InMemoryTunnelSocket.Emitted] {
        _ = waitUntil(seconds: 20) { self.requests(s).count >= count }
        return requests(s)
    }

    /// Whether the server's run() has returned (after a drain); its state may then be read from here.
    var hasStopped: Bool { stopped.count > 0 }

    func stop() {
        server.beginDrain()
        _ = waitUntil(seconds: 10) { stopped.count > 0 }
    }
}

/// Carries a non-Sendable closure to the reactor thread, where alone it runs.
struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }

/// The POST /response-data body: 4-byte LE length, status/headers JSON, body.
func responseDataFrame(status: Int, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
    let head = Array(JSON.object([("status", .int(status)), ("headers", .object(headers.map { ($0.0, .string($0.1)) }))]).serialized.utf8)
    let n = UInt32(head.count)
    return [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)] + head + body
}

/// curl's answer: status, headers (lower-cased names), body.
struct CurlAnswer {
    let status: Int
    let headers: [String: String]
    let body: String
}

/// Runs curl with `args` (plus -s -i), parsing the answer.
func curl(_ args: [String], timeout: Double = 30) throws -> CurlAnswer {
    let r = try runProcess("curl", ["-s", "-i", "--max-time", String(Int(timeout))] + args, timeout: timeout + 5)
    return parseCurl(r.stdout)
}

func parseCurl(_ text: String) -> CurlAnswer {
    var text = text
    // Interim answers (100 Continue) come first: skip to the final head.
    while text.hasPrefix("HTTP/1.1 1"), let end = text.range(of: "\r\n\r\n") { text = String(text[end.upperBound...]) }
    guard let split = text.range(of: "\r\n\r\n") else { return CurlAnswer(status: 0, headers: [:], body: text) }
    let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    var headers: [String: String] = [:]
    for l in lines.dropFirst() {
        if let c = l.firstIndex(of: ":") { headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) }
    }
    return CurlAnswer(status: status, headers: headers, body: String(text[split.upperBound...]))
}

/// A curl started in the background; `answer()` waits for it.
final class BackgroundCurl: @unchecked Sendable {  // @unchecked: the process object is only read after it exits
    let process: BackgroundProcess
    init(_ args: [String]) throws {
        process = try BackgroundProcess(try which("curl"), ["-s", "-i", "--max-time", "60"] + args, environment: ProcessInfo.processInfo.environment)
    }
    func answer() -> CurlAnswer {
        process.waitForExit(seconds: 70)
        return parseCurl(process.stdout)
    }
}
