// What one token holder can make the server hold: a socket that sent engine.io's close packet is closed,
// one that never identifies is closed at the identify deadline, a token past its socket cap is refused
// while other tokens still connect, and a message of too many JSON values closes its socket without
// the server's memory following it. The peer is Tests/broker/raw_tunnel_peer.py, a stub over a raw
// socket (it never answers a close frame, so only the server can end the TCP connection).
@testable import BrokerKit
import Core
import Foundation
import TestSupport
import XCTest

final class BrokerServerSocketLimitTests: XCTestCase {
    let token = "tok-alpha-0001"

    func rawPeer(port: Int, token: String? = nil, _ args: [String]) throws -> BackgroundProcess {
        try startRawTunnelPeer(port: port, token: token ?? self.token, args)
    }

    func lines(_ p: BackgroundProcess) -> [JSON] { jsonLines(p) }

    /// The peer's last line once it has ended (its waits are bounded at 60 s).
    func outcome(_ p: BackgroundProcess) -> JSON? {
        p.waitForExit(seconds: 90)
        return lines(p).last
    }

    func testAnEngineIOClosePacketClosesTheTCPConnection() throws {
        let h = try BrokerServerHarness(tokens: [token], webSockets: true)
        defer { h.stop() }
        let peer = try rawPeer(port: h.port, ["close-packet"])
        let end = outcome(peer)
        XCTAssertEqual(end?["event"]?.string, "eof", "the server ended the connection: " + peer.stdout + peer.stderr)
        XCTAssertEqual(end?["close"]?["code"]?.int, 1000, peer.stdout)
        XCTAssertEqual(h.onReactor { h.broker.pool.all.count }, 0)
    }

    func testASocketThatNeverIdentifiesIsClosedAtTheDeadline() throws {
        let h = try BrokerServerHarness(tokens: [token], configure: { $0.identifyTimeoutMs = 300 }, webSockets: true)
        defer { h.stop() }
        let peer = try rawPeer(port: h.port, ["silent"])
        let end = outcome(peer)
        XCTAssertEqual(end?["event"]?.string, "eof", peer.stdout + peer.stderr)
        XCTAssertTrue(end?["texts"]?.array?.contains { $0.string?.contains("identify") == true } == true, "the server's identify came first: \(peer.stdout)")
        XCTAssertEqual(h.broker.stats.outcomes(.down, "socket_identify_timeout"), 1)
        XCTAssertEqual(h.onReactor { h.broker.pool.all.count }, 0)
    }

    func testAnIdentifiedSocketOutlivesTheIdentifyDeadline() throws {
        let h = try BrokerServerHarness(tokens: [token], configure: { $0.identifyTimeoutMs = 200 })
        defer { h.stop() }
        let s = h.connect(token: token)
        // A marker timer on the server's reactor past the deadline: once it has run, so has the deadline's.
        let passed = Locked(false)
        h.onReactor { _ = h.broker.reactor?.schedule(afterMilliseconds: 400) { passed.set(true) } }
        XCTAssertTrue(waitUntil(seconds: 30) { passed.get() }, "the reactor ran past the identify deadline")
        XCTAssertNil(h.onReactor { s.closedReason }, "an identified socket is not closed by the identify deadline")
        XCTAssertEqual(h.broker.stats.outcomes(.down, "socket_identify_timeout"), 0)
    }

    func testATokenPastItsSocketCapIsRefusedWhileOtherTokensConnect() throws {
        let other = "tok-bravo-0002"
        let h = try BrokerServerHarness(tokens: [token, other], configure: { $0.maxSocketsPerToken = 3 }, webSockets: true)
        defer { h.stop() }
        let greedy = try rawPeer(port: h.port, ["hold", "5"])
        defer { _ = greedy.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 30) { self.lines(greedy).contains { $0["event"]?.string == "holding" } }, greedy.stdout + greedy.stderr)
        let statuses = lines(greedy).filter { $0["event"]?.string == "upgrade" }.compactMap { $0["status"]?.int }
        XCTAssertEqual(statuses, [101, 101, 101, 429, 429])
        XCTAssertEqual(h.broker.stats.outcomes(.down, "socket_limit"), 2)

        let neighbour = try rawPeer(port: h.port, token: other, ["hold", "2"])
        defer { _ = neighbour.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 30) { self.lines(neighbour).contains { $0["event"]?.string == "holding" } }, neighbour.stdout)
        XCTAssertEqual(lines(neighbour).filter { $0["event"]?.string == "upgrade" }.compactMap { $0["status"]?.int }, [101, 101])

        // A refused upgrade's answer never names the token.
        let refused = try curl(["-H", "Upgrade: websocket", "-H", "Connection: Upgrade", "-H", "Sec-WebSocket-Version: 13",
                                "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "http://127.0.0.1:\(h.port)/primus/\(token)/?EIO=4&transport=websocket"])
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.headers["retry-after"], "5")
        XCTAssertFalse(refused.body.contains(token), refused.body)
        XCTAssertTrue(refused.body.contains("BROKER_MAX_SOCKETS_PER_TOKEN"), refused.body)

        // Once the greedy holder lets go, the token connects again.
        _ = greedy.stop(signal: SIGKILL)
        XCTAssertTrue(waitUntil(seconds: 20) { h.onReactor { h.broker.pool.connections(token: self.token).count } == 0 })
        let again = try rawPeer(port: h.port, ["hold", "1"])
        defer { _ = again.stop(signal: SIGKILL) }
        XCTAssertTrue(waitUntil(seconds: 30) { self.lines(again).contains { $0["event"]?.string == "holding" } }, again.stdout)
        XCTAssertEqual(lines(again).first?["status"]?.int, 101)
    }

    /// A 20 MiB text of `[1,1,…]` (10 million values; ~0.5 GB as parsed values without a budget): the
    /// server's executable closes the socket naming the limit, and its peak RSS stays far below that.
    func testAMessageOfTooManyValuesClosesTheSocketWithinBoundedMemory() throws {
        let (server, port) = try startBrokerServer(["BROKER_TOKENS": token, "LOG_LEVEL": "info"])
        XCTAssertGreaterThan(port, 0, server.stderr)
        defer { _ = server.stop() }
        let peer = try rawPeer(port: port, ["values", String(20 << 20)])
        let end = outcome(peer)
        XCTAssertEqual(end?["event"]?.string, "eof", peer.stdout + peer.stderr)
        XCTAssertTrue(waitUntil(seconds: 10) { server.stdout.contains("more than \(EJSON.maxValues) values") }, server.stdout)
        let hwm = vmHWMKiB(server.process.processIdentifier)
        print("broker server VmHWM after a 20 MiB message of 10 M values: \(hwm) KiB")
        XCTAssertGreaterThan(hwm, 0, "VmHWM read")
        XCTAssertLessThan(hwm, 200 * 1024, "server peak RSS \(hwm) KiB")
        // The server still answers.
        XCTAssertEqual(try curl(["http://127.0.0.1:\(port)/healthcheck"]).status, 200)
    }
}

/// Tests/broker/raw_tunnel_peer.py against the server on `port` (its modes are listed in the script).
func startRawTunnelPeer(port: Int, token: String, _ args: [String]) throws -> BackgroundProcess {
    let script = repositoryRoot.appendingPathComponent("Tests/broker/raw_tunnel_peer.py").path
    guard FileManager.default.fileExists(atPath: projectPython) else { throw MissingPrerequisite("the project's .venv (scripts/deps.sh)") }
    return try BackgroundProcess(projectPython, [script, String(port), token] + args, environment: ProcessInfo.processInfo.environment)
}

/// A process's stdout, one JSON value per line.
func jsonLines(_ p: BackgroundProcess) -> [JSON] { p.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0)) } }
