// Extra CA files per client (on top of the system's and CA_CERT) and client certificates, against nginx.
import Core
import Foundation
import XCTest

/// nginx over TLS on `port`, and on `mtlsPort` demanding a client certificate; CA, server and client
/// certificates in `dir` (ca.pem, client.pem, client.key, ...).
private struct TrustServers {
    let dir: URL
    let port: Int, mtlsPort: Int
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    init(_ test: XCTestCase) throws {
        dir = try clientTempDir(test)
        port = try clientFreePort()
        mtlsPort = try clientFreePort()
        try clientMakeCertificates(in: dir)
        let openssl = "/usr/bin/openssl"
        try clientRunTool(openssl, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                    "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=cr-agent test client"], in: dir)
        try "extendedKeyUsage=clientAuth\n".write(to: dir.appendingPathComponent("client.ext"), atomically: true, encoding: .utf8)
        try clientRunTool(openssl, ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                                    "-out", "client.pem", "-days", "2", "-extfile", "client.ext"], in: dir)
        let daemon = try clientStartNginx(in: dir, servers: """
            server {
                listen 127.0.0.1:\(port) ssl;
                ssl_certificate \(dir.path)/server.pem;
                ssl_certificate_key \(dir.path)/server.key;
                location = /conn { return 200 "tls $connection"; }
            }
            server {
                listen 127.0.0.1:\(mtlsPort) ssl;
                ssl_certificate \(dir.path)/server.pem;
                ssl_certificate_key \(dir.path)/server.key;
                ssl_client_certificate \(dir.path)/ca.pem;
                ssl_verify_client on;
                location = /who { return 200 "$ssl_client_s_dn"; }
            }
            """, ports: [port, mtlsPort])
        test.addTeardownBlock { daemon.stop() }
    }
}

extension HTTPClientTests {
    func testCACertificateFilesAreTrustedByTheirClientOnly() throws {
        let servers = try TrustServers(self), port = servers.port, dir = servers.dir, path = servers.path
        let reactor = try Reactor()
        let trusting = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(caCertificateFiles: [path("ca.pem")]))
        let plain = try HTTPClient(reactor: reactor)
        let url = "https://127.0.0.1:\(port)/conn"
        // Interleaved on one reactor: each client keeps its own trust (libcurl caches a CA store per multi).
        for round in 1...2 {
            XCTAssertEqual(clientFetch(trusting, ClientRequest(url: url))?.value()?.status, 200, "round \(round)")
            let untrusted = clientFetch(plain, ClientRequest(url: url))?.failure
            XCTAssertEqual(untrusted?.curlCodeName, "CURLE_PEER_FAILED_VERIFICATION", "round \(round): \(String(describing: untrusted))")
        }
        // CA_CERT and the extra files add up: a CA_CERT holding an unrelated CA does not hide ca.pem.
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try clientMakeCertificates(in: other)
        let both = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(
            extraCACertificatesPath: other.appendingPathComponent("ca.pem").path, caCertificateFiles: [path("ca.pem")]))
        XCTAssertEqual(clientFetch(both, ClientRequest(url: url))?.value()?.status, 200)
        let onlyOther = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(
            extraCACertificatesPath: other.appendingPathComponent("ca.pem").path))
        XCTAssertEqual(clientFetch(onlyOther, ClientRequest(url: url))?.failure?.curlCodeName, "CURLE_PEER_FAILED_VERIFICATION")
    }

    func testUnusableCAFilesAreConfigurationErrorsNamingTheFile() throws {
        let path = try TrustServers(self).path
        for (files, expected) in [([path("ca.pem"), "/nonexistent/ca.crt"], "cannot open /nonexistent/ca.crt"),
                                  ([path("server.key")], "no PEM certificate found in \(path("server.key"))")] {
            XCTAssertThrowsError(try HTTPClient(reactor: try Reactor(), configuration: HTTPClientConfiguration(caCertificateFiles: files))) { e in
                XCTAssertEqual((e as? HTTPClientError)?.kind, .configuration)
                XCTAssertTrue("\(e)".contains(expected), "\(e)")
                XCTAssertFalse("\(e)".contains("CA_CERT"), "not blamed on CA_CERT: \(e)")
            }
        }
    }

    func testClientCertificateIsPresentedForMutualTLS() throws {
        let servers = try TrustServers(self), mtlsPort = servers.mtlsPort, path = servers.path
        let url = "https://127.0.0.1:\(mtlsPort)/who"
        let anonymous = try HTTPClient(reactor: try Reactor(), configuration: HTTPClientConfiguration(caCertificateFiles: [path("ca.pem")]))
        XCTAssertEqual(clientFetch(anonymous, ClientRequest(url: url))?.value()?.status, 400, "nginx wants a client certificate")
        let pair = ClientCertificate(certificateFile: path("client.pem"), keyFile: path("client.key"))
        let presenting = try HTTPClient(reactor: try Reactor(), configuration: HTTPClientConfiguration(caCertificateFiles: [path("ca.pem")], clientCertificate: pair))
        let who = clientFetch(presenting, ClientRequest(url: url))?.value()
        XCTAssertEqual(who?.status, 200)
        XCTAssertEqual(who?.text, "CN=cr-agent test client")
        let missing = ClientCertificate(certificateFile: path("client.pem"), keyFile: "/nonexistent/client.key")
        XCTAssertThrowsError(try HTTPClient(reactor: try Reactor(), configuration: HTTPClientConfiguration(clientCertificate: missing))) { e in
            XCTAssertEqual((e as? HTTPClientError)?.kind, .configuration)
            XCTAssertTrue("\(e)".contains("/nonexistent/client.key"), "\(e)")
        }
    }
}
