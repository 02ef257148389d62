// The registry client against a hostile registry (the misbehaving stub, Tests/registry/misbehaving_registry.py,
// for what no real registry does on demand): credentials never reach a host they were not given for,
// numbers from the registry never trap, a registry that trickles bytes is cut off, refused addresses are
// never contacted. The stub records every Authorization value it receives, per origin.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class HostileRegistryTests: MisbehavingRegistryTestCase {
    static let password = "hostile-test-p4ssw0rd"

    var session: RegistrySession {
        var s = RegistrySession(base: stub.url, credentials: RegistryCredentials(username: "alice", password: Self.password))
        s.options.retryBaseDelayMs = 50
        return s
    }

    /// Every Authorization value the stub received, with the origin ("main" or "second") it reached.
    func authorizations() throws -> [(origin: String, path: String, value: String)] {
        let list = try stub.record()["authorizations"] as? [[String: Any]] ?? []
        return list.map { ($0["origin"] as? String ?? "?", $0["path"] as? String ?? "?", $0["value"] as? String ?? "") }
    }

    /// Fails when any Authorization reached the second origin, or carried the password anywhere but `allowedPaths` on main.
    func assertNoCredentialLeft(file: StaticString = #filePath, line: UInt = #line) throws {
        for a in try authorizations() where a.origin != "main" {
            XCTFail("an Authorization (\(a.value.prefix(12))...) reached \(a.origin) at \(a.path)", file: file, line: line)
        }
        let second = try stub.record()["second_origin"] as? [[String: Any]] ?? []
        XCTAssertFalse(second.contains { ($0["path"] as? String) == "/hostile/token" }, "the other origin's token realm was asked", file: file, line: line)
    }

    func cli(_ args: [String], _ extra: [String: String] = [:]) throws -> ProcessResult {
        var env = ["PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no", "HOME": NSTemporaryDirectory()]
        env.merge(extra) { $1 }
        return try runProcess(agentExecutablePath, args, environment: env, timeout: 60)
    }

    // MARK: point 9: credentials stay with their origin

    /// The headline bug: the registry takes Basic, then redirects the manifest to another origin, which
    /// answers 401 naming a token realm of its own. Expected: a `.refused` error naming that origin; no
    /// Authorization of any kind reaches it, and its realm is never asked.
    /// The client has already learnt that the registry takes Basic (a tags listing), so the manifest
    /// request carries the password at once and the other origin's 401 is the first it sees.
    func testManifestRedirectedToAnotherOriginThatAsksForCredentialsGetsNone() throws {
        var tags: [String] = []
        let outcome: (Result<Int, RegistryError>, Result<ResolvedImage, RegistryError>?) = try session.run { c, done in
            c.listTags(repository: "xredirect", onPage: { tags += $0 }) { listed in
                guard listed.success != nil else { return done((listed, nil)) }
                c.resolve(try! ImageReference(parsing: "xredirect:latest")) { done((listed, $0)) }
            }
        }
        XCTAssertEqual(tags, ["latest"], "\(outcome.0)")
        let r = outcome.1?.failure
        XCTAssertEqual(r?.kind, .refused, "\(String(describing: r))")
        let second = stub.info["second_origin_url"] as! String
        XCTAssertTrue(r?.message.contains("a redirect led to \(second), which answered 401") ?? false, "\(r!)")
        try assertNoCredentialLeft()
        let basic = "Basic " + Base64.encode(Array("alice:\(Self.password)".utf8))
        XCTAssertTrue(try authorizations().contains { $0.origin == "main" && $0.value == basic }, "the registry itself did get the credentials")
    }

    /// The same through the CLI: exit 1 with the precise message, never a signal; the password nowhere.
    func testFetchCommandRefusesTheRedirectedChallenge() throws {
        let r = try cli(["fetch", "127.0.0.1:\(stub.info["port"] as! Int)/xredirect:latest", "--plain-http"],
                        ["CR_USERNAME": "alice", "CR_PASSWORD": Self.password])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("refused:") && r.stderr.contains("which answered 401"), r.stderr)
        XCTAssertFalse(r.stderr.contains(Self.password))
        try assertNoCredentialLeft()
    }

    /// A `Link` to another origin is refused, and that origin sees no request at all.
    func testCrossOriginLinkIsRefused() throws {
        var s = session
        s.base = stub.info["xlink_base"] as! String
        let listing = try s.listRepositories()
        XCTAssertEqual(listing.result.failure?.kind, .refused, "\(listing.result)")
        XCTAssertTrue(listing.result.failure?.message.contains("leaves the registry's origin") ?? false)
        XCTAssertEqual(listing.pages, 1, "the first page was delivered")
        XCTAssertTrue((try stub.record()["second_origin"] as? [Any] ?? []).isEmpty, "no request reached the other origin")
        try assertNoCredentialLeft()
    }

    /// An https registry naming a plain-http token realm: the credentials are not sent in clear. The
    /// refusal comes before any connection (the registry and realm here do not even listen).
    func testHTTPRealmOfAnHTTPSRegistryGetsNoCredentials() throws {
        var s = session
        s.base = "https://127.0.0.1:9"
        let r: RegistryError? = try s.run { c, done in
            c.auth.handleChallenge([#"Bearer realm="http://127.0.0.1:9/token",service="s""#], scopes: ["repository:x:pull"]) { done($0) }
        }
        XCTAssertEqual(r?.kind, .refused)
        XCTAssertTrue(r?.message.contains("plain http while the registry is https") ?? false, "\(String(describing: r))")
    }

    /// CR_CREDENTIALS given for one registry are not sent to another: exit 2 naming both, and the
    /// stub (the other registry) receives no request. With `undefined` registryBase (snyk's plugin),
    /// gitlab-cr's credentials belong to registry.gitlab.com, and the stub is refused them too.
    func testBrokerCredentialsForAnotherRegistryAreNotSent() throws {
        let host = "127.0.0.1:\(stub.info["port"] as! Int)"
        for (json, owner) in [(#"{"type":"harbor-cr","username":"alice","password":"\#(Self.password)","registryBase":"harbor.example:5000"}"#, "harbor.example:5000"),
                              (#"{"type":"gitlab-cr", "username":"alice", "password":"\#(Self.password)", "registryBase":"undefined"}"#, "registry.gitlab.com")] {
            let r = try cli(["scan", "--plain-http", "\(host)/redirect:latest"], ["CR_CREDENTIALS": Base64.encode(Array(json.utf8) + [10])])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("its credentials are for \(owner) and are not sent to \(host)"), r.stderr)
            XCTAssertFalse(r.stderr.contains(Self.password))
        }
        XCTAssertTrue((try stub.record()["requests"] as? [Any] ?? []).isEmpty, "nothing reached the other registry")
        let matching = #"{"type":"harbor-cr","username":"alice","password":"\#(Self.password)","registryBase":"http://\#(host)"}"#
        XCTAssertEqual(try RegistryCredentialSources.resolve(Environment(["CR_CREDENTIALS": Base64.encode(Array(matching.utf8))]), registryHost: host).get().password,
                       Self.password, "given for this registry, they are used")
        let hub = #"{"type":"docker-hub","username":"u","password":"p","registryBase":""}"#
        XCTAssertNotNil(try? RegistryCredentialSources.resolve(Environment(["CR_CREDENTIALS": Base64.encode(Array(hub.utf8))]), registryHost: "registry-1.docker.io").get(),
                        "an empty registryBase of docker-hub means Docker Hub's registry")
    }

    // MARK: point 1: numbers from the registry

    /// `expires_in` of Int.max or below zero: an error naming the field, no trap, no token used.
    func testOverflowingOrNegativeExpiresInIsAnError() throws {
        for scenario in ["bigexpiry", "negexpiry"] {
            let r = try session.resolve("\(scenario):latest").failure
            XCTAssertEqual(r?.kind, .authentication, scenario)
            XCTAssertTrue(r?.message.contains("expires_in") ?? false, "\(String(describing: r))")
            XCTAssertTrue(r?.message.contains("outside 0...31622400 seconds") ?? false, "\(String(describing: r))")
        }
    }

    /// `Retry-After` of 10^23 seconds, or an HTTP-date in the year 9999: an error naming the header after
    /// one request, not a trap and not a wait.
    func testOverflowingRetryAfterIsAnErrorNotAWait() throws {
        for (scenario, status) in [("retryafter-huge", 429), ("retryafter-date", 503)] {
            var retries = 0
            let r: Result<ResolvedImage, RegistryError> = try session.run { c, done in
                c.onRetry = { _, _, _ in retries += 1 }
                c.resolve(try! ImageReference(parsing: "\(scenario):latest"), done: done)
            }
            XCTAssertEqual(r.failure?.status, status)
            XCTAssertTrue(r.failure?.message.contains("Retry-After") ?? false, "\(r)")
            XCTAssertTrue(r.failure?.message.contains("outside 0...86400 seconds") ?? false, "\(r)")
            XCTAssertEqual(retries, 0, scenario)
        }
        XCTAssertEqual(RetrySchedule.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_777 - 30), .seconds(30))
        XCTAssertEqual(RetrySchedule.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_777 + 30), .seconds(0), "a past date: now")
        XCTAssertEqual(RetrySchedule.parseRetryAfter("9223372036854775808"), .outOfRange("9223372036854775808"))
        XCTAssertEqual(RetrySchedule.parseRetryAfter("soon"), .absent)
        XCTAssertEqual(RetrySchedule(maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5000).delayMs(afterAttempt: 1, retryAfter: "99999999999999999999"), 5000)
    }

    /// A Content-Length no 64-bit integer holds: no trap. libcurl then reads to the end of the connection,
    /// the manifest cap still counts the bytes, and this manifest (whole and valid) resolves.
    func testOverflowingContentLengthDoesNotTrap() throws {
        let r = try session.resolve("badlength:latest")
        XCTAssertEqual(r.success?.manifest.digest, stub.image("badlength")["manifest_digest"] as? String, "\(r)")
    }

    /// Layer sizes of Int.max (three of them: their sum would overflow) or -1: an error naming the
    /// field. So is an ECR `expiresAt` of 1e300.
    func testOverflowingDescriptorSizesAreAnError() throws {
        for (scenario, written) in [("bigsize", "9223372036854775807"), ("negsize", "-1")] {
            let r = try session.resolve("\(scenario):latest").failure
            XCTAssertEqual(r?.kind, .registry, scenario)
            XCTAssertTrue(r?.message.contains("size \(written) is outside 0...1099511627776") ?? false, "\(String(describing: r))")
        }
        XCTAssertEqual(ECRLoginFlow.parseAuthorizationChecked(Array(#"{"authorizationData":[{"authorizationToken":"QVdTOnA=","proxyEndpoint":"https://e","expiresAt":1e300}]}"#.utf8)).failure?.message.contains("expiresAt"), true)
    }

    /// A listing whose Link goes on past `maxListPages` stops there with an error (here 3 pages of 5 of
    /// the 23 paged tags), so a registry with an endless Link chain cannot keep it going.
    func testListingPagesAreBounded() throws {
        var s = session
        s.options.pageSize = 5
        s.options.maxListPages = 3
        let tags = try s.listTags("paged")
        XCTAssertEqual(tags.pages, 3)
        XCTAssertEqual(tags.names.count, 15)
        XCTAssertTrue(tags.result.failure?.message.contains("still had more after 3 pages (15 names)") ?? false, "\(tags.result)")
    }

    /// A registry's error text reaches the terminal on one line, without escape sequences, and capped.
    func testRegistryTextIsMadePrintableAndCapped() {
        let body = Array("\u{1B}]0;pwned\u{07}\u{1B}[2Jdenied\r\nnext line\u{9B}31m".utf8) + Array(repeating: UInt8(ascii: "x"), count: 10_000)
        let e = RegistryError.fromResponse(registry: "https://r", status: 500, body: body, what: "GET /v2/")
        XCTAssertFalse(e.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }, e.description)
        XCTAssertTrue(e.message.contains("denied  next line"), e.message)
        let long = RegistryError(.registry, registry: "https://r", String(repeating: "y", count: 50_000))
        XCTAssertEqual(long.message.count, RegistryError.maxMessageLength + 1, "capped, with an ellipsis")
    }

    // MARK: point 6: the stall rule

    /// A blob sent one byte a second, with REGISTRY_STALL_TIMEOUT_MS=2000: aborted inside the window
    /// with an error naming the setting, not retried. Bound: the stub sent at most 8 bytes (2 s window,
    /// libcurl's whole-second checks, generous margin), where the blob is 4 KiB.
    func testOneByteASecondIsCutOffWithinTheStallWindow() throws {
        var s = session
        s.options.stallTimeoutMs = 2000
        let d = try descriptor(stub.image("slow")["layer"] as! [String: Any])
        let r = try s.blob("slow", d).result.failure
        XCTAssertEqual(r?.kind, .network)
        XCTAssertTrue(r?.message.contains("stalled") ?? false, "\(String(describing: r))")
        XCTAssertTrue(r?.message.contains("REGISTRY_STALL_TIMEOUT_MS=2000") ?? false, "\(String(describing: r))")
        let sent = try stub.record()["slow_bytes_sent"] as? Int ?? -1
        XCTAssertLessThanOrEqual(sent, 8, "bytes the stub had sent when the client left")
        XCTAssertEqual(RegistryOptions(environment: ["REGISTRY_STALL_TIMEOUT_MS": "2000"]).stallRule.seconds, 2)
        XCTAssertEqual(RegistryOptions().stallRule.bytesPerSecond, 34, "30 s default: under 1 KiB in the window")
        XCTAssertThrowsError(try RegistryOptions.validated(environment: ["REGISTRY_STALL_TIMEOUT_MS": "5"]))
    }

    /// A blob that goes on past its descriptor's size is cut off there: an integrity error, and the
    /// registry got to send little more than the declared bytes plus what socket buffers hold (under 16 MiB of its 1 GiB).
    func testABlobThatGoesOnPastItsSizeIsCutOff() throws {
        let d = try descriptor(stub.image("endless")["layer"] as! [String: Any])
        let r = try session.blob("endless", d).result.failure
        XCTAssertEqual(r?.kind, .integrity, "\(String(describing: r))")
        XCTAssertTrue(r?.message.contains("more bytes than the \(d.size) the manifest declares") ?? false, "\(String(describing: r))")
        var sent = -1
        waitUntil(seconds: 10) {                            // the stub counts once its write fails
            sent = (try? stub.record()["endless_bytes_sent"] as? Int) ?? -1
            return sent > 0
        }
        XCTAssertGreaterThan(sent, d.size, "the stub sent its layer and more")
        XCTAssertLessThan(sent, 16 << 20, "bytes the stub sent before the client left: \(sent)")
    }

    /// The same through `cr-agent fetch`: exit 1 naming the setting, never a signal.
    func testFetchCommandStallsOutWithAPreciseError() throws {
        let r = try cli(["fetch", "--plain-http", "127.0.0.1:\(stub.info["port"] as! Int)/slow:latest"], ["REGISTRY_STALL_TIMEOUT_MS": "2000"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("stalled") && r.stderr.contains("REGISTRY_STALL_TIMEOUT_MS=2000"), r.stderr)
        let bad = try cli(["fetch", "--plain-http", "127.0.0.1:\(stub.info["port"] as! Int)/slow:latest"], ["REGISTRY_STALL_TIMEOUT_MS": "-1"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("REGISTRY_STALL_TIMEOUT_MS"), bad.stderr)
    }

    // MARK: point 10: addresses

    /// A token realm written as one decimal number (169.254.169.254): refused, never contacted.
    func testTokenRealmInDecimalFormIsRefused() throws {
        let r = try session.resolve("decimal-realm:latest").failure
        XCTAssertEqual(r?.kind, .refused)
        XCTAssertTrue(r?.message.contains("decimal, octal, hex or short form") ?? false, "\(String(describing: r))")
    }

    func testAddressForms() {
        let refused = ["2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518", "127.1", "0x7f.0.0.1", "010.0.0.1",
                       "0.0.0.0", "0", "[::]", "::", "fd20:ce::254", "168.63.129.16", "100.100.100.200", "::ffff:168.63.129.16",
                       "64:ff9b::100.100.100.200", "169.254.169.254.", "METADATA.GOOGLE.INTERNAL"]
        for h in refused { XCTAssertNotNil(AddressPolicy.refusal(host: h), h) }
        for h in ["127.0.0.1", "10.1.2.3", "192.168.0.10", "::1", "[::1]", "fd20:ce::253", "100.100.100.201", "registry.example",
                  "abc", "deadbeef.example", "a.b", "168.63.129.17", "localhost"] {
            XCTAssertNil(AddressPolicy.refusal(host: h), h)
        }
        let allowed = AddressPolicy.allowList(" registry.example , .corp.example,[::1]")
        XCTAssertEqual(allowed, ["registry.example", ".corp.example", "::1"])
        XCTAssertFalse(AddressPolicy.outsideAllowList(host: "registry.example", allowed: allowed))
        XCTAssertFalse(AddressPolicy.outsideAllowList(host: "blobs.corp.example", allowed: allowed))
        XCTAssertFalse(AddressPolicy.outsideAllowList(host: "[::1]", allowed: allowed))
        XCTAssertTrue(AddressPolicy.outsideAllowList(host: "corp.example.evil", allowed: allowed))
        XCTAssertTrue(AddressPolicy.outsideAllowList(host: "evilcorp.example", allowed: allowed))
        XCTAssertNil(AddressPolicy.allowList(" , "))
    }

    /// REGISTRY_ALLOWED_HOSTS narrows where requests go: the stub (127.0.0.1) outside the list is not
    /// contacted at all.
    func testAllowedHostsNarrowTheRegistriesContacted() throws {
        var s = session
        s.options = RegistryOptions(environment: ["REGISTRY_ALLOWED_HOSTS": "registry.example"])
        let r: Result<Void, RegistryError> = try s.run { c, done in c.ping(done) }
        XCTAssertEqual(r.failure?.kind, .refused)
        XCTAssertTrue(r.failure?.message.contains("not in REGISTRY_ALLOWED_HOSTS") ?? false, "\(r)")
        XCTAssertTrue((try stub.record()["requests"] as? [Any] ?? []).isEmpty)
        s.options = RegistryOptions(environment: ["REGISTRY_ALLOWED_HOSTS": "127.0.0.1"])
        XCTAssertNil(try s.run { c, done in c.ping(done) }.failure)
    }

    /// Through a proxy no local connect happens. A name that resolves here (CURLOPT_RESOLVE stands in
    /// for DNS) to a metadata address is refused before the proxy is asked; a name resolving to loopback,
    /// and one that resolves nowhere here (it may resolve at the proxy), go on to the proxy, which here
    /// does not listen: a network error, not a refusal.
    func testNamesThroughAProxyAreCheckedWhenTheyResolveLocally() throws {
        let deadProxy = "http://127.0.0.1:\(RegistryAddressTests.freePort())"
        var outcomes: [String: Result<Void, RegistryError>] = [:]
        var probes = 0
        var keep: [AnyObject] = []
        let ok = try runOnReactor(seconds: 60) { reactor, finish in
            let http = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(
                proxies: ProxySettings(httpProxy: deadProxy),
                resolveOverrides: ["metadata-alias.test:80:169.254.169.254", "loopback.test:80:127.0.0.1"]))
            var options = RegistryOptions()
            options.maxAttempts = 1
            let hosts = ["metadata-alias.test", "loopback.test", "no-such-name.invalid"]
            for host in hosts {
                let client = RegistryClient(base: try RegistryBase(parsing: "http://\(host)"), credentials: .anonymous, http: http, options: options)
                keep.append(client)
                client.ping { r in
                    outcomes[host] = r
                    probes += client.nameCheck.probes
                    if outcomes.count == hosts.count { finish() }
                }
            }
            keep.append(http)
        }
        XCTAssertTrue(ok)
        XCTAssertEqual(outcomes["metadata-alias.test"]?.failure?.kind, .refused)
        XCTAssertTrue(outcomes["metadata-alias.test"]?.failure?.message.contains("metadata-alias.test resolves to 169.254.169.254") ?? false,
                      "\(String(describing: outcomes["metadata-alias.test"]))")
        XCTAssertEqual(outcomes["loopback.test"]?.failure?.kind, .network, "\(String(describing: outcomes["loopback.test"]))")
        XCTAssertEqual(outcomes["no-such-name.invalid"]?.failure?.kind, .network, "\(String(describing: outcomes["no-such-name.invalid"]))")
        XCTAssertEqual(probes, 3, "one local resolution per name")
        var literal = session
        literal.base = "http://[fd20:ce::254]"
        XCTAssertEqual(try literal.run { c, done in c.ping(done) }.failure?.kind, .refused, "literals are refused before any proxy or socket")
    }

    /// Through a proxy (the stub itself, which also answers absolute-form requests), a blob redirected to
    /// `blobs.test`: resolved here to a metadata address (CURLOPT_RESOLVE stands in for DNS), the redirect
    /// is refused and nothing is asked for there; resolved to loopback, it is followed through the proxy
    /// without Authorization and the blob verifies. The registry's own name (`registry.test`) resolves
    /// nowhere here, as names known only to a proxy do, and is let through to the proxy.
    func testRedirectThroughAProxyIsCheckedWhereItsNameResolvesLocally() throws {
        let port = stub.info["second_origin_port"] as! Int
        let d = try descriptor(stub.image("nameredirect")["layer"] as! [String: Any])
        for (address, refused) in [("169.254.169.254", true), ("127.0.0.1", false)] {
            try stub.reset()
            var outcome: Result<Int, RegistryError>?
            var keep: [AnyObject] = []
            let ok = try runOnReactor(seconds: 60) { reactor, finish in
                let http = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(
                    proxies: ProxySettings(httpProxy: stub.url), resolveOverrides: ["blobs.test:\(port):\(address)"]))
                let client = RegistryClient(base: try RegistryBase(parsing: "http://registry.test"),
                                            credentials: RegistryCredentials(username: "alice", password: Self.password), http: http)
                keep += [http, client]
                client.streamBlob(repository: "nameredirect", descriptor: d, onChunk: { _ in .continue }) { r in
                    outcome = r
                    finish()
                }
            }
            XCTAssertTrue(ok)
            let second = try stub.record()["second_origin"] as? [Any] ?? []
            if refused {
                XCTAssertEqual(outcome?.failure?.kind, .refused, "\(String(describing: outcome))")
                XCTAssertTrue(outcome?.failure?.message.contains("blobs.test resolves to 169.254.169.254") ?? false, "\(String(describing: outcome))")
                XCTAssertTrue(second.isEmpty, "nothing was asked of blobs.test")
            } else {
                XCTAssertEqual(outcome?.success, d.size, "\(String(describing: outcome))")
                XCTAssertEqual(second.count, 1, "the blob came through the proxy from blobs.test")
            }
            try assertNoCredentialLeft()
        }
    }

    // MARK: point 11: the token cache is bounded

    /// Ten repositories, one token each, with room for four: never more than four held, every listing works.
    func testTokenCacheIsBounded() throws {
        var s = session
        s.options.maxCachedTokens = 4
        var held: [Int] = []
        let r: Result<Int, RegistryError> = try s.run { c, done in
            func next(_ i: Int, _ total: Int) {
                guard i < 10 else { return done(.success(total)) }
                c.listTags(repository: "tok\(i)", onPage: { _ in }) { r in
                    held.append(c.auth.cachedTokenCount)
                    switch r {
                    case .failure(let e): done(.failure(e))
                    case .success(let n): next(i + 1, total + n)
                    }
                }
            }
            next(0, 0)
        }
        XCTAssertEqual(r.success, 10, "\(r)")
        XCTAssertEqual(held.max(), 4)
        XCTAssertEqual((try stub.record()["token_requests"] as? [Any])?.count, 10, "one token per repository, none asked twice")
    }
}

/// Credentials scoped to their registry, against the real registry (docker-registry with htpasswd):
/// given for it they work; given for another registry they are never offered to it (nothing reaches its
/// log), and a Docker config entry for another host is not used for it.
final class CredentialScopeRealRegistryTests: XCTestCase {
    nonisolated(unsafe) static var registry: RegistryFixture?

    override class func setUp() {
        super.setUp()
        do { registry = try RegistryFixture.start(auth: "htpasswd", pushing: ["basic"]) } catch { XCTFail("cannot start the registry: \(error)") }
    }

    override class func tearDown() {
        registry?.stop()
        super.tearDown()
    }

    var registry: RegistryFixture { Self.registry! }
    var host: String { registry.info["host"] as! String }

    func list(_ env: [String: String]) throws -> ProcessResult {
        var all = ["PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no", "HOME": NSTemporaryDirectory()]
        all.merge(env) { $1 }
        return try runProcess(agentExecutablePath, ["list", "--plain-http", host], environment: all, timeout: 60)
    }

    func brokerCredentials(registryBase: String) -> String {
        Base64.encode(Array(#"{"type":"harbor-cr", "username":"\#(registry.username!)", "password":"\#(registry.password!)", "registryBase":"\#(registryBase)"}"#.utf8) + [10])
    }

    func logSize() -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: registry.info["registry_log"] as! String))?[.size] as? Int) ?? -1
    }

    func testBrokerCredentialsGoToTheirRegistryOnly() throws {
        let own = try list(["CR_CREDENTIALS": brokerCredentials(registryBase: "http://\(host)")])
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertTrue(own.stdout.contains("single/app"), own.stdout)

        let before = logSize()
        XCTAssertGreaterThan(before, 0, "the registry logs every request")
        let other = try list(["CR_CREDENTIALS": brokerCredentials(registryBase: "registry.other.example:5000")])
        XCTAssertEqual(other.status, 2, other.stderr)
        XCTAssertTrue(other.stderr.contains("its credentials are for registry.other.example:5000 and are not sent to \(host)"), other.stderr)
        XCTAssertFalse(other.stderr.contains(registry.password!))
        XCTAssertEqual(logSize(), before, "the registry saw no request")
    }

    func testDockerConfigEntryIsUsedForItsOwnHostOnly() throws {
        let home = try makeTemporaryDirectory("docker-config")
        defer { try? FileManager.default.removeItem(at: home) }
        func write(_ key: String) throws {
            let auth = Base64.encode(Array("\(registry.username!):\(registry.password!)".utf8))
            try #"{"auths":{"\#(key)":{"auth":"\#(auth)"}}}"#.write(to: home.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        }
        try write("registry.other.example")
        let other = try list(["DOCKER_CONFIG": home.path])
        XCTAssertEqual(other.status, 1, other.stderr)
        XCTAssertTrue(other.stderr.contains("requires credentials"), other.stderr)
        try write("http://\(host)")
        let own = try list(["DOCKER_CONFIG": home.path])
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertTrue(own.stdout.contains("single/app"), own.stdout)
    }
}
