// What the WebSocket connection tests share: our echo server on the HTTP server, the Python
// `websockets` peer (Tests/websocket/peer.py) as a server process, and a client run on a reactor.
import Core
import Foundation
import TestSupport
import XCTest

/// The peer script's path.
var websocketPeerScript: String { repositoryRoot.appendingPathComponent("Tests/websocket/peer.py").path }

/// Our WebSocket server for the interop tests: `/echo` echoes (and closes with <code> on the text
/// "close:<code>"), `/small` is the same with a 1 KiB message limit. Closes it sees are recorded.
final class EchoWebSocketServer {
    let server: TestServer
    /// (path, peer's close code) for every connection that ended.
    let closes = Locked<[(String, UInt16?, String)]>([])

    init(tls: TLSServerContext? = nil) throws {
        var router = Router()
        let closes = self.closes
        for (path, limit) in [("/echo", 33_554_432), ("/small", 1024)] {
            router.add("GET", path) { ex in
                WebSocketUpgrade.accept(ex, configuration: WebSocketConfiguration(maxMessageBytes: limit)) { ws in
                    ws.onText = { [unowned ws] text in
                        if text.hasPrefix("close:"), let code = UInt16(text.dropFirst(6)) { ws.close(code: code, reason: "bye") }
                        else { ws.send(text: text) }
                    }
                    ws.onBinary = { [unowned ws] b in ws.send(binary: b) }
                    ws.onClose = { code, why in closes.mutate { $0.append((path, code, why)) } }
                }
            }
        }
        router.add("GET", "/refuse") { ex in
            ex.respond(status: 403, headers: ["Content-Type": "text/plain"], body: Array("forbidden for this token\nsecond line".utf8))
        }
        // Refusals whose bodies do not end: chunked and left open, and a Content-Length never reached.
        router.add("GET", "/refuse-chunked") { ex in
            ex.startResponse(status: 403, headers: ["Content-Type": "text/plain"], contentLength: nil)
            ex.write(Array("chunked refusal\nmore to come".utf8))
            ex.reactor?.schedule(afterMilliseconds: 1000) { ex.finish() }     // so the server's drain need not wait
        }
        router.add("GET", "/refuse-stalled") { ex in
            ex.startResponse(status: 503, headers: ["Content-Type": "text/plain"], contentLength: 100)
            ex.write(Array("partial".utf8))
            ex.reactor?.schedule(afterMilliseconds: 1000) { ex.finish() }     // short of its length: the connection closes
        }
        server = try TestServer(router: router) { $0.tls = tls }
    }

    var port: Int { server.port }
    func stop() { server.stop() }
}

/// The Python peer in server mode; `port` is the one it printed.
final class PythonWebSocketServer {
    let process: BackgroundProcess
    let port: Int

    init(cert: String? = nil, key: String? = nil) throws {
        var args = [websocketPeerScript, "server"]
        if let cert, let key { args += ["--cert", cert, "--key", key] }
        let process = try BackgroundProcess(projectPython, args, environment: ["PATH": "/usr/bin:/bin"])
        self.process = process
        var found = 0
        waitUntil(seconds: 20) {
            for line in process.stdout.split(separator: "\n") {
                if let d = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let p = d["port"] as? Int { found = p }
            }
            return found != 0 || !process.process.isRunning
        }
        guard found != 0 else { throw ClientTestError.failed("the Python peer did not start: \(process.stderr)") }
        port = found
    }

    /// The close lines it printed for `path` (each {"path","closed","code","reason"}).
    func closes(path: String) -> [[String: Any]] {
        process.stdout.split(separator: "\n").compactMap { line in
            guard let d = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], d["path"] as? String == path else { return nil }
            return d
        }
    }

    func stop() { _ = process.stop() }
}

/// What a client connection saw, in order.
enum WSEvent: Equatable {
    case text(String)
    case binary([UInt8])
    case pong([UInt8])
    case closed(UInt16?, String)
}

/// Connects our client to `url` on a fresh reactor, runs `script` once open, and collects events
/// until the connection closes or `until` says enough. Returns the connect error, if any, and the events.
func runWebSocketClient(_ url: String, configuration: WebSocketConfiguration = WebSocketConfiguration(), headers: HTTPHeaders = HTTPHeaders(),
                        seconds: Double = 60, script: @escaping (WebSocketConnection) -> Void = { _ in },
                        until: @escaping ([WSEvent], WebSocketConnection) -> Bool = { _, _ in false }) throws -> (WebSocketConnectError?, [WSEvent]) {
    var error: WebSocketConnectError?
    var events: [WSEvent] = []
    var keep: WebSocketConnection?
    try runOnReactor(seconds: seconds) { reactor, finish in
        WebSocketConnection.connect(url: url, headers: headers, reactor: reactor, configuration: configuration) { result in
            switch result {
            case .failure(let e): error = e; finish()
            case .success(let ws):
                keep = ws
                ws.onText = { [unowned ws] t in events.append(.text(t)); if until(events, ws) { finish() } }
                ws.onBinary = { [unowned ws] b in events.append(.binary(b)); if until(events, ws) { finish() } }
                ws.onPong = { [unowned ws] p in events.append(.pong(p)); if until(events, ws) { finish() } }
                ws.onClose = { code, why in events.append(.closed(code, why)); finish() }
                script(ws)
            }
        }
    }
    if let ws = keep, ws.state != .closed { ws.close() }
    return (error, events)
}
