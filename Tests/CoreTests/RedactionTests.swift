// What Redaction masks in URLs, headers and settings, and what it leaves readable.
import Core
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
}
