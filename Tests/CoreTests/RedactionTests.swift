// What Redaction masks in URLs, headers and settings, and what it leaves readable.
@testable import Core
import XCTest

final class RedactionTests: XCTestCase {
    func testURLs() {
        let cases: [(String, String)] = [
            ("https://user:pa55@reg.example:5000/v2/?n=1", "https://user:[REDACTED]@reg.example:5000/v2/?n=1"),
            ("https://tok@reg.example/v2/", "https://[REDACTED]@reg.example/v2/"),
            ("https://s3.example/blob?X-Amz-Signature=abc&X-Amz-Credential=AK%2F1&X-Amz-Date=1", "https://s3.example/blob?X-Amz-Signature=[REDACTED]&X-Amz-Credential=[REDACTED]&X-Amz-Date=1"),
            ("/x?X-Goog-Signature=f00&sig=b4r&token=t0k&access_token=a&page=2", "/x?X-Goog-Signature=[REDACTED]&sig=[REDACTED]&token=[REDACTED]&access_token=[REDACTED]&page=2"),
            ("/broker/3f2a-token/v2/_catalog", "/broker/[REDACTED]/v2/_catalog"),
            ("/primus/3f2a-token/?EIO=4&transport=websocket", "/primus/[REDACTED]/?EIO=4&transport=websocket"),
            ("/response-data/3f2a-token/stream-1", "/response-data/[REDACTED]/stream-1"),
            ("/healthcheck", "/healthcheck"),
        ]
        for (input, expected) in cases { XCTAssertEqual(Redaction.url(input), expected, input) }
    }

    func testFreeTextKeepsDigestsAndRedactsURLsInside() {
        let msg = "http://127.0.0.1:5000: not found: manifest app@sha256:abcd (GET http://u:pw@h/x?sig=1&n=2)"
        XCTAssertEqual(Redaction.text(msg), "http://127.0.0.1:5000: not found: manifest app@sha256:abcd (GET http://u:[REDACTED]@h/x?sig=[REDACTED]&n=2)")
    }

    func testSensitiveNames() {
        for n in ["BROKER_TOKEN", "CR_PASSWORD", "AWS_SECRET_ACCESS_KEY", "CR_CREDENTIALS", "HTTPS_KEY", "Authorization", "x-api-key", "Cookie"] {
            XCTAssertTrue(Redaction.isSensitiveName(n), n)
        }
        for n in ["CR_USERNAME", "CR_BASE", "SNYK_PORT", "Content-Type", "LOG_LEVEL"] { XCTAssertFalse(Redaction.isSensitiveName(n), n) }
        XCTAssertEqual(Redaction.headerValue(name: "Proxy-Authorization", value: "Basic x"), Redaction.mask)
    }

    func testRegisteredSecretsAreScrubbedAnywhere() {
        Redaction.register(secret: "s3cr3t-value-registered")
        XCTAssertEqual(Redaction.scrub("a s3cr3t-value-registered b s3cr3t-value-registered"), "a [REDACTED] b [REDACTED]")
        Redaction.register(secret: "abc")   // too short to mask safely
        XCTAssertEqual(Redaction.scrub("abc"), "abc")
    }

    /// A secret is masked in the spellings it takes inside JSON bodies, URLs and form bodies.
    func testRegisteredSecretsAreScrubbedInEscapedSpellings() {
        let secret = "p@ss w/rd\"é+1"
        Redaction.register(secret: secret)
        let spellings = [
            secret,
            #"p@ss w\/rd\"\u00e9+1"#,                      // JSON, with the optional \/ and a \u escape
            #"p@ss w/rd\"é+1"#,                             // JSON as our serializer writes it
            "p%40ss%20w%2Frd%22%C3%A9%2B1",                  // percent-encoded, upper-case hex
            "p%40ss%20w%2frd%22%c3%a9%2b1",                  // lower-case hex
            "p%40ss+w%2Frd%22%C3%A9%2B1",                    // form encoding: + for the space
        ]
        for s in spellings {
            XCTAssertEqual(Redaction.scrub("before \(s) after"), "before [REDACTED] after", s)
        }
        XCTAssertEqual(Redaction.scrub("p%40ss%20w%2Frd"), "p%40ss%20w%2Frd", "a prefix of a secret is not the secret")
        var json = ""
        JSON.quote("token=\(secret)", into: &json)
        XCTAssertFalse(Redaction.scrub(json).contains("rd"), Redaction.scrub(json))
    }

    /// The set is bounded (the oldest go first) and forgets secrets whose lifetime ended.
    func testRegisteredSecretsAreBoundedAndExpire() throws {
        let first = "bounded-secret-first-0000"
        Redaction.register(secret: first)
        Redaction.registerSecrets(fromEnvironment: ["BROKER_TOKEN": "pinned-setting-secret-1234"])
        for i in 0..<(SecretSet.maxEntries + 50) { Redaction.register(secret: "bounded-secret-\(i)-abcdef") }
        XCTAssertLessThanOrEqual(Redaction.registeredCount, SecretSet.maxEntries + 8, "the bound, plus the few pinned settings")
        XCTAssertEqual(Redaction.scrub(first), first, "the oldest secret made room")
        XCTAssertEqual(Redaction.scrub("pinned-setting-secret-1234"), "[REDACTED]", "the process's own settings are never dropped")
        XCTAssertEqual(Redaction.scrub("bounded-secret-\(SecretSet.maxEntries + 49)-abcdef"), "[REDACTED]")

        Redaction.register(secret: "short-lived-token-xyz", expiresInSeconds: 0)
        XCTAssertEqual(Redaction.scrub("short-lived-token-xyz"), "short-lived-token-xyz", "expired at once, dropped")
        Redaction.register(secret: "long-lived-token-xyz", expiresInSeconds: 3600)
        XCTAssertEqual(Redaction.scrub("long-lived-token-xyz"), "[REDACTED]")
    }

    /// Text from an image or a registry: cut at a character boundary with the full size named, and
    /// shown on a terminal without anything the terminal would act on.
    func testUntrustedTextIsCutAndMadeTerminalSafe() {
        let long = String(repeating: "é", count: 1000)                // 2000 bytes
        let cut = UntrustedText.truncated(long, maxBytes: 100)
        XCTAssertLessThanOrEqual(cut.utf8.count, 100)
        XCTAssertTrue(cut.hasSuffix("…(2000 bytes)"), cut)
        XCTAssertTrue(cut.hasPrefix("éé"))
        XCTAssertEqual(UntrustedText.truncated("short", maxBytes: 100), "short")
        XCTAssertEqual(UntrustedText.terminalSafe("a\u{1B}[2Jb\u{07}c\u{9B}d\u{202E}e\nf\u{7F}"), "a?[2Jb?c?d?e?f?")
        XCTAssertEqual(UntrustedText.terminalSafe("plain ünïcode"), "plain ünïcode")
    }
}
