// Clients that attack the server over raw sockets: pipelining without reading, neighbours that break
// their TLS handshakes, trickled heads on a kept-alive connection. Each test states its bound.
import Core
import Foundation
import TestSupport
import XCTest

final class HostileClientTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws { tmp = try makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    /// Outcome: a TCP connect-and-close, a garbage ClientHello, an abandoned half handshake and a
    /// plaintext request on the TLS port, each made while another client holds a keep-alive TLS
    /// connection on the same reactor thread, leave that client's next request answered (200).
    func testBrokenTLSNeighboursDoNotKillALiveTLSConnection() throws {
        let tls = try TLSFixture(in: tmp)
        let ctx = try TLSServerContext(certificatePath: tls.certPath, keyPath: tls.keyPath)
        let server = try TestServer(router: ServerBehaviourTests.router(writerBlocked: Counter())) { $0.tls = ctx; $0.threads = 1 }
        defer { server.stop() }
        let script = repositoryRoot.appendingPathComponent("Tests/interop/tls_neighbours.py").path
        let r = try runProcess(projectPython, [script, String(server.port), tls.caPath], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("all checks passed"), r.stdout + r.stderr)
    }
}
