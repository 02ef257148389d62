// AWS Signature Version 4 against the AWS SigV4 test suite (AWS documentation, "Signature Version 4 test
// suite"; the requests and the expected Authorization values below are that suite's): key AKIDEXAMPLE,
// region us-east-1, service `service`, 2015-08-30T12:36:00Z. And HMAC-SHA256 against RFC 4231.
import XCTest
import Core
@testable import AgentKit

final class SigV4Tests: XCTestCase {
    let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    let date = "20150830T123600Z"
    let sessionToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    /// (suite case, request as the suite writes it, expected signed headers, expected signature)
    let cases: [(String, String, String, String)] = [
        ("get-vanilla", "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("get-vanilla-query-order-key-case", "GET /?Param2=value2&Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("get-vanilla-utf8-query", "GET /?ሴ=bar HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        ("get-unreserved", "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        ("get-utf8", "GET /ሴ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        ("normalize-path/get-space", "GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
        ("normalize-path/get-slashes", "GET //example// HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
        ("normalize-path/get-relative-relative", "GET /example1/example2/../.. HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("get-header-key-duplicate", "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\nX-Amz-Date:20150830T123600Z",
         "host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        ("get-header-value-multiline", "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n  value2\n     value3\nX-Amz-Date:20150830T123600Z",
         "host;my-header1;x-amz-date", "ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790"),
        ("get-header-value-trim", "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1: value1\nMy-Header2: \"a   b   c\"\nX-Amz-Date:20150830T123600Z",
         "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        ("post-header-key-sort", "POST / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\nX-Amz-Date:20150830T123600Z",
         "host;my-header1;x-amz-date", "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
        ("post-vanilla-empty-query-value", "POST /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z",
         "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        ("post-x-www-form-urlencoded", "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\n\nParam1=value1",
         "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ]

    func testTheSuiteCases() {
        for (name, text, signedHeaders, signature) in cases {
            let request = parse(text)
            let added = SigV4.authorizationHeaders(for: request, credentials: credentials, region: "us-east-1",
                                                   service: "service", amzDate: "19700101T000000Z")
            XCTAssertEqual(added.map(\.0), ["Authorization"], name)   // X-Amz-Date was in the request already
            XCTAssertEqual(added.last?.1, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                           + "SignedHeaders=\(signedHeaders), Signature=\(signature)", name)
        }
    }

    func testCanonicalRequestOfTheMultilineCase() {
        let (canonical, signed) = SigV4.canonicalRequest(parse(cases[9].1))
        XCTAssertEqual(canonical, "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1,value2,value3\nx-amz-date:20150830T123600Z\n\n"
                       + "host;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(signed, "host;my-header1;x-amz-date")
    }

    /// post-sts-header-before: the session token is part of the signed request.
    func testTemporaryCredentialsSignTheSessionToken() {
        var withToken = credentials
        withToken.sessionToken = sessionToken
        let request = parse("POST / HTTP/1.1\nHost:example.amazonaws.com")
        let added = SigV4.authorizationHeaders(for: request, credentials: withToken, region: "us-east-1",
                                               service: "service", amzDate: date)
        XCTAssertEqual(added.map(\.0), ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        XCTAssertEqual(added[0].1, date)
        XCTAssertEqual(added[1].1, sessionToken)
        XCTAssertEqual(added[2].1, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                       + "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                       + "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")
    }

    /// A wrong secret, region or date gives another signature: the key really is derived from each.
    func testEverySigningInputChangesTheSignature() {
        let request = parse(cases[0].1)
        func signature(_ c: AWSCredentials, _ region: String, _ service: String) -> String? {
            SigV4.authorizationHeaders(for: request, credentials: c, region: region, service: service, amzDate: date).last?.1
        }
        let base = signature(credentials, "us-east-1", "service")
        var otherSecret = credentials
        otherSecret.secretAccessKey += "x"
        XCTAssertNotEqual(signature(otherSecret, "us-east-1", "service"), base)
        XCTAssertNotEqual(signature(credentials, "eu-west-1", "service"), base)
        XCTAssertNotEqual(signature(credentials, "us-east-1", "sts"), base)
    }

    func testAmzDate() {
        XCTAssertEqual(SigV4.amzDate(unixSeconds: 1_440_938_160), "20150830T123600Z")
        XCTAssertEqual(SigV4.amzDate(unixSeconds: 0), "19700101T000000Z")
    }

    func testCanonicalPaths() {
        XCTAssertEqual(SigV4.canonicalPath(""), "/")
        XCTAssertEqual(SigV4.canonicalPath("/./"), "/")
        XCTAssertEqual(SigV4.canonicalPath("/./example"), "/example")
        XCTAssertEqual(SigV4.canonicalPath("/a/../../b"), "/b")
        XCTAssertEqual(SigV4.canonicalPath("/a b/c%d"), "/a%20b/c%25d")
    }

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
    func testHMACSHA256() {
        XCTAssertEqual(SHA256.hex(HMACSHA256.authenticate("Hi There", key: [UInt8](repeating: 0x0b, count: 20))),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(SHA256.hex(HMACSHA256.authenticate("what do ya want for nothing?", key: Array("Jefe".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(SHA256.hex(HMACSHA256.authenticate("Test Using Larger Than Block-Size Key - Hash Key First",
                                                          key: [UInt8](repeating: 0xaa, count: 131))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// A request in the suite's notation: request line, `Name:value` lines (a line starting with a space
    /// continues the value above), a blank line, the body.
    private func parse(_ text: String) -> SigV4Request {
        let parts = text.components(separatedBy: "\n\n")
        let lines = parts[0].components(separatedBy: "\n")
        let method = String(lines[0].prefix { $0 != " " })
        let target = String(lines[0].dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))   // may hold spaces
        let (path, queryString) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) }
            ?? (target, "")
        let query: [(String, String)] = queryString.isEmpty ? [] : queryString.components(separatedBy: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            return (kv[0], kv.count > 1 ? kv[1] : "")
        }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            if line.hasPrefix(" "), !headers.isEmpty { headers[headers.count - 1].1 += "\n" + line; continue }
            let colon = line.firstIndex(of: ":")!
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        return SigV4Request(method: method, path: path, query: query, headers: headers,
                            body: parts.count > 1 ? Array(parts[1].utf8) : [])
    }
}
