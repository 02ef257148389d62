// The connect-time filter: resolved addresses are shown to it before a socket exists; a refusal sends nothing.
import CEpoll
import Core
import Foundation
import XCTest

extension HTTPClientTests {
    /// A test policy (Core has none of its own): loopback only; anything else is refused with a label.
    private func loopbackOnly(_ seen: @escaping (ConnectAddress) -> Void) -> ConnectFilter {
        return { address in
            seen(address)
            if address.ip == "127.0.0.1" { return nil }
            return address.ip.hasPrefix("169.254.") || address.ip.hasPrefix("fd00:ec2:") || address.ip.hasPrefix("::ffff:169.254.")
                ? "link-local / cloud metadata" : "not loopback"
        }
    }

    func testRefusedAddressNeverReachesTheListenerAndAnAllowedOneDoes() throws {
        var port: Int32 = 0
        let listener = cep_listen_tcp("127.0.0.1", 0, 16, 0, &port)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { _ = cep_close(listener) }
        let client = try HTTPClient(reactor: try Reactor(), configuration: HTTPClientConfiguration(resolveOverrides: ["guarded.test:\(port):127.0.0.1"]))
        var seen: [ConnectAddress] = []
        var refuse = true
        let request = ClientRequest(url: "http://guarded.test:\(port)/", timeouts: ClientTimeouts(connect: 2000, total: 500)) { address in
            seen.append(address)
            return refuse ? "refused by the test" : nil
        }
        let refused = clientFetch(client, request)?.failure
        XCTAssertEqual(refused?.kind, .refused, "\(String(describing: refused))")
        XCTAssertEqual(refused?.message, "refused to connect to 127.0.0.1 (refused by the test)")
        XCTAssertEqual(seen, [ConnectAddress(family: AF_INET, bytes: [127, 0, 0, 1], port: Int(port))], "the filter saw the resolved address")
        XCTAssertEqual(client.stats.connectionsOpened, 0)
        XCTAssertEqual(cep_accept(listener), -EAGAIN, "a refused address got a TCP connection")

        // Control: the same listener does see a connection when the filter allows it (the request then
        // times out, as nothing answers), so the check above can fail.
        refuse = false
        let allowed = clientFetch(client, request)?.failure
        XCTAssertEqual(allowed?.curlCodeName, "CURLE_OPERATION_TIMEDOUT", "\(String(describing: allowed))")
        let accepted = cep_accept(listener)
        XCTAssertGreaterThanOrEqual(accepted, 0, "the allowed connection did not arrive")
        if accepted >= 0 { _ = cep_close(accepted) }
        XCTAssertEqual(seen.count, 2)
    }

    func testNamesResolvingToMetadataAddressesAreRefusedBeforeConnecting() throws {
        // CURLOPT_RESOLVE plays DNS: these names "resolve" to the cloud metadata endpoints. No packet may
        // go there; the filter refuses before a socket is opened.
        let overrides = ["metadata.test:80:169.254.169.254", "metadata6.test:80:[fd00:ec2::254]", "mapped.test:80:[::ffff:169.254.169.254]"]
        let client = try HTTPClient(reactor: try Reactor(), configuration: HTTPClientConfiguration(resolveOverrides: overrides))
        for (host, ip) in [("metadata.test", "169.254.169.254"), ("metadata6.test", "fd00:ec2::254"), ("mapped.test", "::ffff:169.254.169.254")] {
            var seen: [String] = []
            let request = ClientRequest(url: "http://\(host)/latest/meta-data/", timeouts: ClientTimeouts(connect: 2000, total: 5000),
                                        connectFilter: loopbackOnly { seen.append($0.ip) })
            let error = clientFetch(client, request)?.failure
            XCTAssertEqual(error?.kind, .refused, "\(host): \(String(describing: error))")
            XCTAssertEqual(error?.message, "refused to connect to \(ip) (link-local / cloud metadata)")
            XCTAssertEqual(seen, [ip], host)
            XCTAssertEqual(error?.description, "GET http://\(host)/latest/meta-data/ failed: refused to connect to \(ip) (link-local / cloud metadata)")
        }
        XCTAssertEqual(client.stats.connectionsOpened, 0)
    }

    func testRedirectHopsAreFilteredAndLoopbackIsAllowed() throws {
        let dir = try clientTempDir(self)
        let port = try clientFreePort(), otherPort = try clientFreePort()
        let nginx = try clientStartNginx(in: dir, servers: """
            server {
                listen 127.0.0.1:\(port);
                location = /r/named { return 302 http://elsewhere.test:\(otherPort)/echo; }
            }
            server {
                listen 127.0.0.1:\(otherPort);
                location = /echo { return 200 "second origin"; }
            }
            """, ports: [port, otherPort])
        addTeardownBlock { nginx.stop() }
        func fetch(_ elsewhere: String) throws -> (Result<ClientResponse, HTTPClientError>?, [String]) {
            let client = try HTTPClient(reactor: try Reactor(), configuration: HTTPClientConfiguration(
                resolveOverrides: ["origin.test:\(port):127.0.0.1", "elsewhere.test:\(otherPort):\(elsewhere)"]))
            var seen: [String] = []
            let request = ClientRequest(url: "http://origin.test:\(port)/r/named", timeouts: ClientTimeouts(connect: 2000, total: 5000),
                                        redirects: .follow(), connectFilter: loopbackOnly { seen.append("\($0)") })
            return (clientFetch(client, request), seen)
        }
        // Positive control: both hops resolve to loopback, the filter sees and allows both.
        let (ok, okSeen) = try fetch("127.0.0.1")
        XCTAssertEqual(ok?.value()?.text, "second origin")
        XCTAssertEqual(okSeen, ["127.0.0.1:\(port)", "127.0.0.1:\(otherPort)"])
        // The redirect target's name resolves to the metadata address: its hop is refused.
        let (bad, badSeen) = try fetch("169.254.169.254")
        XCTAssertEqual(bad?.failure?.kind, .refused, "\(String(describing: bad))")
        XCTAssertEqual(bad?.failure?.message, "refused to connect to 169.254.169.254 (link-local / cloud metadata)")
        XCTAssertEqual(bad?.failure?.request, "GET http://elsewhere.test:\(otherPort)/echo", "the failing hop is named")
        XCTAssertEqual(badSeen, ["127.0.0.1:\(port)", "169.254.169.254:\(otherPort)"])
    }
}
