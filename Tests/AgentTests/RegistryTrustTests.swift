// Per-host CA certificates from certs.d folders, against the real registry over TLS with a CA made at test time.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class RegistryTrustTests: XCTestCase {
    nonisolated(unsafe) static var fx: RegistryFixture?

    override class func setUp() {
        super.setUp()
        do {
            let f = try RegistryFixture.start(auth: "none", tls: true, pushing: ["basic"])
            fx = f
        } catch {
            XCTFail("cannot start the TLS registry: \(error)")
        }
    }

    override class func tearDown() {
        fx?.stop()
        super.tearDown()
    }

    var fx: RegistryFixture { Self.fx! }
    var port: Int { fx.info["port"] as! Int }
    var digest: String { (try? fx.image("single/app:1.0")["digest"] as? String) ?? "?" }

    /// A fresh certs.d root; `hosts` get a folder holding the fixture's CA as ca.crt.
    func certsRoot(_ hosts: [String] = [], ca: String? = nil) throws -> String {
        let root = try makeTemporaryDirectory("certs.d")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        for host in hosts { try install(ca ?? fx.ca!, as: "ca.crt", for: host, in: root.path) }
        return root.path
    }

    func install(_ file: String, as name: String, for host: String, in root: String) throws {
        let dir = URL(fileURLWithPath: root).appendingPathComponent(host)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: file, toPath: dir.appendingPathComponent(name).path)
    }

    /// Resolves `single/app:1.0` once per base, in order, on one reactor sharing one RegistryTrust.
    func resolveAll(_ bases: [String], roots: [String], caCert: String? = nil, between: @escaping (Int) throws -> Void = { _ in },
                    trustOut: ((RegistryTrust) -> Void)? = nil) throws -> [Result<ResolvedImage, RegistryError>] {
        var results: [Result<ResolvedImage, RegistryError>] = []
        var keep: [RegistryClient] = []
        var failure: Error?
        let ok = try runOnReactor(seconds: 120) { reactor, finish in
            let trust = RegistryTrust(reactor: reactor, configuration: HTTPClientConfiguration(extraCACertificatesPath: caCert))
            trustOut?(trust)
            var options = RegistryOptions()
            options.certsDirectories = roots
            options.maxAttempts = 1
            func next(_ i: Int) {
                guard i < bases.count else { return finish() }
                do {
                    try between(i)
                    let client = try RegistryClient(base: try RegistryBase(parsing: bases[i]), credentials: .anonymous, trust: trust, options: options)
                    keep.append(client)
                    client.resolve(try! ImageReference(parsing: "single/app:1.0")) { r in results.append(r); next(i + 1) }
                } catch {
                    failure = error
                    finish()
                }
            }
            next(0)
        }
        _ = keep
        if let failure { throw failure }
        XCTAssertTrue(ok, "timed out")
        return results
    }

    func assertCertificateFailure(_ r: Result<ResolvedImage, RegistryError>?, _ why: String, line: UInt = #line) {
        XCTAssertEqual(r?.failure?.kind, .network, why, line: line)
        XCTAssertTrue(r?.failure?.message.contains("certificate") ?? false, "\(why): \(outcome(r))", line: line)
    }

    func outcome(_ r: Result<ResolvedImage, RegistryError>?) -> String {
        switch r {
        case .success(let image)?: return "resolved \(image.manifest.digest)"
        case .failure(let e)?: return "\(e)"
        case nil: return "no result"
        }
    }

    func testTheHostsCertsDirCATrustsTheRegistryAndNothingElseDoes() throws {
        let base = "https://127.0.0.1:\(port)"
        let trusted = try resolveAll([base], roots: [try certsRoot(["127.0.0.1:\(port)"])])
        XCTAssertEqual(trusted.first?.success?.manifest.digest, digest, outcome(trusted.first))
        assertCertificateFailure(try resolveAll([base], roots: [try certsRoot()]).first, "a certs root without the host's folder")
        assertCertificateFailure(try resolveAll([base], roots: []).first, "no certs roots at all")
        assertCertificateFailure(try resolveAll([base], roots: [try certsRoot(["127.0.0.1:\(port + 1)", "127.0.0.1"])]).first,
                                 "the CA filed for another port, and for the host without a port")
    }

    func testTrustIsPerHostOnOneReactorAndEditsApplyToTheNextClient() throws {
        // The certificate names both 127.0.0.1 and localhost: two registry hosts, one server. Only the
        // first has a certs.d folder. One reactor, one RegistryTrust, interleaved.
        let root = try certsRoot(["127.0.0.1:\(port)"])
        let ip = "https://127.0.0.1:\(port)", name = "https://localhost:\(port)"
        var trust: RegistryTrust?
        let r = try resolveAll([ip, name, ip, name], roots: [root], between: { i in
            if i == 3 { try self.install(self.fx.ca!, as: "ca.crt", for: "localhost:\(self.port)", in: root) }
        }, trustOut: { trust = $0 })
        XCTAssertEqual(r[0].success?.manifest.digest, digest, outcome(r[0]))
        assertCertificateFailure(r[1], "localhost has no folder: the CA trusted for 127.0.0.1 must not leak to it")
        XCTAssertEqual(r[2].success?.manifest.digest, digest, "127.0.0.1 is still trusted after the failure")
        XCTAssertEqual(r[3].success?.manifest.digest, digest, "a folder added later applies to the next client: \(outcome(r[3]))")
        XCTAssertEqual(trust?.clientCount, 2, "one client per distinct set of files")
    }

    func testFirstRootWithTheHostWinsAndCACertStillAppliesToEveryHost() throws {
        let other = try TLSFixture(in: try makeTemporaryDirectory("other-ca"))
        addTeardownBlock { try? FileManager.default.removeItem(at: other.directory) }
        let host = "127.0.0.1:\(port)", base = "https://127.0.0.1:\(port)"
        let wrong = try certsRoot([host], ca: other.caPath), right = try certsRoot([host])
        assertCertificateFailure(try resolveAll([base], roots: [wrong, right]).first, "the first root with the host's folder wins")
        XCTAssertNotNil(try resolveAll([base], roots: [try certsRoot(), right]).first?.success, "a root without the folder is skipped")
        // CA_CERT (every host) and the host's folder add up; neither replaces the other.
        XCTAssertNotNil(try resolveAll([base], roots: [wrong], caCert: fx.ca).first?.success, "CA_CERT applies although certs.d has another CA")
        XCTAssertNotNil(try resolveAll([base], roots: [right], caCert: other.caPath).first?.success, "certs.d applies on top of CA_CERT")
    }

    func testFolderContentsClientCertificateAndBrokenFolders() throws {
        let root = try certsRoot()
        let host = "registry.example:5000"
        for name in ["b.crt", "a.crt", "client.cert", "client.key", "notes.txt", ".hidden.crt"] {
            try install(fx.ca!, as: name, for: host, in: root)
        }
        let files = try HostTrustFiles.read(authority: host, roots: ["/nonexistent", root])
        XCTAssertEqual(files.directory, "\(root)/\(host)")
        XCTAssertEqual(files.caFiles, ["\(root)/\(host)/a.crt", "\(root)/\(host)/b.crt"])
        XCTAssertEqual(files.clientCertificate, ClientCertificate(certificateFile: "\(root)/\(host)/client.cert", keyFile: "\(root)/\(host)/client.key"))
        XCTAssertNil(try HostTrustFiles.read(authority: "other.example", roots: [root]).directory)

        var http: HTTPClient?
        try runOnReactor(seconds: 10) { reactor, finish in
            let trust = RegistryTrust(reactor: reactor)
            http = try trust.httpClient(for: try RegistryBase(parsing: host), certsDirectories: [root])
            finish()
        }
        XCTAssertEqual(http?.configuration.caCertificateFiles, files.caFiles)
        XCTAssertEqual(http?.configuration.clientCertificate, files.clientCertificate, "the client certificate is presented (mutual TLS)")

        try FileManager.default.removeItem(atPath: "\(root)/\(host)/client.key")
        XCTAssertThrowsError(try HostTrustFiles.read(authority: host, roots: [root])) { e in
            XCTAssertTrue("\(e)".contains("missing key client.key for client certificate client.cert"), "\(e)")
        }
        let bad = try certsRoot()
        try install("/etc/hostname", as: "ca.crt", for: "127.0.0.1:\(port)", in: bad)
        XCTAssertThrowsError(try resolveAll(["https://127.0.0.1:\(port)"], roots: [bad])) { e in
            XCTAssertEqual((e as? RegistryError)?.kind, .invalidInput)
            XCTAssertTrue("\(e)".contains("no PEM certificate found in \(bad)/127.0.0.1:\(port)/ca.crt"), "\(e)")
            XCTAssertTrue("\(e)".hasPrefix("https://127.0.0.1:\(port)"), "names the registry: \(e)")
        }
    }

    func testCertsDirectoriesSettingAndOneTrustPerReactor() throws {
        let reactor = try Reactor(), other = try Reactor()
        let shared = RegistryTrust.shared(on: reactor, configuration: HTTPClientConfiguration())
        XCTAssertTrue(shared === RegistryTrust.shared(on: reactor, configuration: HTTPClientConfiguration(userAgent: "ignored")))
        XCTAssertFalse(shared === RegistryTrust.shared(on: other, configuration: HTTPClientConfiguration()))
        XCTAssertEqual(RegistryOptions().certsDirectories, ["/etc/containers/certs.d", "/etc/docker/certs.d"])
        XCTAssertEqual(RegistryOptions(environment: [:]).certsDirectories, RegistryOptions.defaultCertsDirectories)
        XCTAssertEqual(RegistryOptions(environment: ["REGISTRY_CERTS_DIRS": "/a/certs.d:/b"]).certsDirectories, ["/a/certs.d", "/b"])
        XCTAssertEqual(RegistryOptions(environment: ["REGISTRY_CERTS_DIRS": ""]).certsDirectories, [], "empty turns certs.d off")
    }
}
