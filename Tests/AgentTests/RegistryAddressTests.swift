// The connect-time address filter on every registry request: names that resolve (by CURLOPT_RESOLVE,
// standing in for DNS) to link-local or metadata addresses are refused before any socket is opened.
@testable import AgentKit
import CEpoll
import Core
import Foundation
import TestSupport
import XCTest

final class RegistryAddressTests: XCTestCase {
    nonisolated(unsafe) static var open: RegistryFixture?
    nonisolated(unsafe) static var token: RegistryFixture?
    nonisolated(unsafe) static var nginx: BackgroundProcess?
    nonisolated(unsafe) static var nginxDir: URL?
    /// nginx in front of the real registries: a blob-redirecting front, the blob origin, a token front.
    nonisolated(unsafe) static var ports = (front: 0, blobs: 0, tokenFront: 0)

    override class func setUp() {
        super.setUp()
        do {
            let o = try RegistryFixture.start(auth: "none", pushing: ["basic"])
            open = o
            let t = try RegistryFixture.start(auth: "token", pushing: ["basic"])
            token = t
            try startNginx(open: o.info["port"] as! Int, token: t)
        } catch {
            XCTFail("cannot start the registries: \(error)")
        }
    }

    override class func tearDown() {
        _ = nginx?.stop()
        if let nginxDir { try? FileManager.default.removeItem(at: nginxDir) }
        open?.stop()
        token?.stop()
        super.tearDown()
    }

    static func freePort() -> Int {
        var port: Int32 = 0
        let fd = cep_listen_tcp("127.0.0.1", 0, 1, 0, &port)
        _ = cep_close(fd)
        return Int(port)
    }

    /// Blob GETs on the front are sent (307) to `blobs.test`; the token front names `auth.test` as its realm.
    static func startNginx(open: Int, token t: RegistryFixture) throws {
        let dir = try makeTemporaryDirectory("nginx")
        nginxDir = dir
        ports = (freePort(), freePort(), freePort())
        let tokenPort = URLComponents(string: t.info["token_url"] as! String)!.port!
        let upstreamToken = t.info["port"] as! Int
        let d = dir.path
        let conf = """
            daemon off; master_process off; worker_processes 1; pid \(d)/nginx.pid; error_log \(d)/error.log info;
            events { worker_connections 64; }
            http {
                access_log \(d)/access.log;
                client_body_temp_path \(d); proxy_temp_path \(d); fastcgi_temp_path \(d); uwsgi_temp_path \(d); scgi_temp_path \(d);
                server {
                    listen 127.0.0.1:\(ports.front);
                    location / { proxy_pass http://127.0.0.1:\(open); }
                    location ~ ^/v2/.+/blobs/ { return 307 http://blobs.test:\(ports.blobs)$request_uri; }
                }
                server {
                    listen 127.0.0.1:\(ports.blobs);
                    location / { proxy_pass http://127.0.0.1:\(open); }
                }
                server {
                    listen 127.0.0.1:\(ports.tokenFront);
                    location / {
                        proxy_pass http://127.0.0.1:\(upstreamToken);
                        proxy_hide_header WWW-Authenticate;
                        add_header WWW-Authenticate 'Bearer realm="http://auth.test:\(tokenPort)/token",service="\(t.info["token_service"] as! String)"' always;
                    }
                }
            }
            """
        try conf.write(toFile: "\(d)/nginx.conf", atomically: true, encoding: .utf8)
        let p = try BackgroundProcess("/usr/sbin/nginx", ["-c", "\(d)/nginx.conf", "-p", d, "-e", "\(d)/error.log"], environment: [:])
        nginx = p
        let up = waitUntil(seconds: 10) {
            [ports.front, ports.blobs, ports.tokenFront].allSatisfy { port in
                (try? runProcess("curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/v2/"], timeout: 5))?.status == 0
            }
        }
        guard up else { throw NSError(domain: "nginx", code: 1, userInfo: [NSLocalizedDescriptionKey: (try? String(contentsOfFile: "\(d)/error.log", encoding: .utf8)) ?? ""]) }
    }

    struct Outcome {
        var result: Result<ResolvedImage, RegistryError>
        var retries: Int
        var connectionsOpened: Int
    }

    /// Resolves `single/app:1.0` at `base`, with `overrides` standing in for DNS.
    func resolve(_ base: String, overrides: [String], credentials: RegistryCredentials = .anonymous) throws -> Outcome {
        var outcome: Outcome?
        var keep: RegistryClient?
        let ok = try runOnReactor(seconds: 60) { reactor, finish in
            let trust = RegistryTrust(reactor: reactor, configuration: HTTPClientConfiguration(resolveOverrides: overrides))
            var options = RegistryOptions()
            options.certsDirectories = []
            options.connectTimeoutMs = 2000
            options.retryBaseDelayMs = 10
            let client = try RegistryClient(base: try RegistryBase(parsing: base), credentials: credentials, trust: trust, options: options)
            keep = client
            var retries = 0
            client.onRetry = { _, _, _ in retries += 1 }
            client.resolve(try! ImageReference(parsing: "single/app:1.0")) { r in
                outcome = Outcome(result: r, retries: retries, connectionsOpened: client.http.stats.connectionsOpened)
                finish()
            }
        }
        _ = keep
        XCTAssertTrue(ok, "timed out")
        return try XCTUnwrap(outcome)
    }

    var digest: String { (try? Self.open!.image("single/app:1.0")["digest"] as? String) ?? "?" }

    func testRegistryWhoseNameResolvesToAMetadataAddressIsRefusedWithoutRetries() throws {
        let port = Self.open!.info["port"] as! Int
        let base = "http://registry.test:\(port)"
        let control = try resolve(base, overrides: ["registry.test:\(port):127.0.0.1"])
        XCTAssertEqual(control.result.success?.manifest.digest, digest, "the same filter lets loopback through: \(control.result.failure.map { "\($0)" } ?? "")")
        for (address, shown, label) in [("169.254.169.254", "169.254.169.254", "link-local / cloud metadata"),
                                        ("[fd00:ec2::254]", "fd00:ec2::254", "cloud metadata"),
                                        ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254", "link-local / cloud metadata")] {
            let o = try resolve(base, overrides: ["registry.test:\(port):\(address)"])
            let e = o.result.failure
            XCTAssertEqual(e?.kind, .refused, "\(address): \(String(describing: e))")
            XCTAssertEqual(e?.message, "manifest single/app:1.0: refused to connect to \(shown) (\(label))")
            XCTAssertEqual(e?.description, "\(base): refused: manifest single/app:1.0: refused to connect to \(shown) (\(label))")
            XCTAssertEqual(o.retries, 0, "a refusal is final, not a network error to retry")
            XCTAssertEqual(o.connectionsOpened, 0)
        }
    }

    func testRedirectToANameResolvingToAMetadataAddressIsRefused() throws {
        let base = "http://127.0.0.1:\(Self.ports.front)"
        // Control: the config blob comes through the 307 to blobs.test, which resolves to loopback.
        let control = try resolve(base, overrides: ["blobs.test:\(Self.ports.blobs):127.0.0.1"])
        XCTAssertEqual(control.result.success?.manifest.digest, digest, "\(control.result.failure.map { "\($0)" } ?? "")")
        XCTAssertEqual(control.connectionsOpened, 2, "the front and the blob origin")
        let o = try resolve(base, overrides: ["blobs.test:\(Self.ports.blobs):169.254.169.254"])
        let config = (try Self.open!.image("single/app:1.0")["config"] as? [String: Any])?["digest"] as? String ?? "?"
        XCTAssertEqual(o.result.failure?.kind, .refused, "\(String(describing: o.result.failure))")
        XCTAssertEqual(o.result.failure?.message, "blob single/app@\(config): refused to connect to 169.254.169.254 (link-local / cloud metadata)")
        XCTAssertEqual(o.retries, 0)
    }

    func testTokenRealmWhoseNameResolvesToAMetadataAddressIsRefused() throws {
        let t = Self.token!
        let tokenPort = URLComponents(string: t.info["token_url"] as! String)!.port!
        let base = "http://127.0.0.1:\(Self.ports.tokenFront)"
        let user = RegistryCredentials(username: t.username, password: t.password)
        let control = try resolve(base, overrides: ["auth.test:\(tokenPort):127.0.0.1"], credentials: user)
        XCTAssertEqual(control.result.success?.manifest.digest, try t.image("single/app:1.0")["digest"] as? String,
                       "the token comes from auth.test on loopback: \(control.result.failure.map { "\($0)" } ?? "")")
        let o = try resolve(base, overrides: ["auth.test:\(tokenPort):169.254.169.254"], credentials: user)
        XCTAssertEqual(o.result.failure?.kind, .refused, "\(String(describing: o.result.failure))")
        XCTAssertEqual(o.result.failure?.message,
                       "token request to http://auth.test:\(tokenPort)/token failed: refused to connect to 169.254.169.254 (link-local / cloud metadata)")
        XCTAssertEqual(o.retries, 0)
    }

    func testResolvedAddressesAreClassified() {
        func v4(_ s: String) -> ConnectAddress { var a = in_addr(); inet_pton(AF_INET, s, &a); return ConnectAddress(family: AF_INET, bytes: withUnsafeBytes(of: &a) { Array($0) }, port: 80) }
        func v6(_ s: String) -> ConnectAddress { var a = in6_addr(); inet_pton(AF_INET6, s, &a); return ConnectAddress(family: AF_INET6, bytes: withUnsafeBytes(of: &a) { Array($0) }, port: 80) }
        let refused: [(ConnectAddress, String)] = [
            (v4("169.254.169.254"), "link-local / cloud metadata"), (v4("169.254.0.1"), "link-local / cloud metadata"),
            (v6("fd00:ec2::254"), "cloud metadata"), (v6("fe80::1"), "link-local"),
            (v6("::ffff:169.254.169.254"), "link-local / cloud metadata"), (v6("64:ff9b::169.254.169.254"), "link-local / cloud metadata"),
        ]
        for (address, label) in refused {
            XCTAssertEqual(AddressPolicy.refusal(address: address), label, address.ip)
            XCTAssertNotNil(AddressPolicy.refusal(host: address.ip), "the literal check agrees: \(address.ip)")
        }
        for ok in [v4("127.0.0.1"), v4("10.0.0.1"), v4("169.253.255.255"), v6("::1"), v6("fd00:ec3::1"), v6("::ffff:127.0.0.1"), v6("2001:db8::1")] {
            XCTAssertNil(AddressPolicy.refusal(address: ok), ok.ip)
        }
        XCTAssertEqual(v6("::ffff:169.254.169.254").ip, "::ffff:169.254.169.254")
    }
}
