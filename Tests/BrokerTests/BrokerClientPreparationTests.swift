// The pure parts of the request flow, row by row: what a `request` event decodes to, the agent's URL,
// the /ctx/<uuid> prefix, and the header set the agent receives (prepareRequest.ts + request.ts, plus
// our authorization and x-broker-client-url).
import BrokerKit
import Core
import XCTest

final class BrokerClientPreparationTests: XCTestCase {
    func testRequestEventsDecodeOrSayWhyNot() throws {
        let body = "{\"a\":1}"
        let rows: [(String, String?, [UInt8]?)] = [
            // payload, error fragment (nil: decodes), body expected
            (#"{"url":"/list","method":"get","headers":{"a":"1"}}"#, nil, []),
            (#"{"url":"/scan","method":"POST","body":"plain"}"#, nil, Array("plain".utf8)),
            (#"{"url":"/scan","method":"POST","body":{"$binary":"\#(Base64.encode(Array(body.utf8)))"}}"#, nil, Array(body.utf8)),
            (#"{"url":"/scan","method":"POST","body":{"type":"Buffer","data":[104,105]}}"#, nil, Array("hi".utf8)),
            (#"{"url":"/scan","method":"POST","body":{"type":"Buffer","data":[104,256]}}"#, "non-byte", nil),
            (#"{"url":"/scan","method":"POST","body":{"images":["a"]}}"#, nil, Array(#"{"images":["a"]}"#.utf8)),
            (#"{"url":"/scan","method":"POST","body":{}}"#, nil, []),
            (#"{"url":"/scan","method":"POST","body":null}"#, nil, []),
            (#"{"method":"GET"}"#, "url", nil),
            (#"{"url":"list","method":"GET"}"#, "url", nil),
            (#"{"url":"/list","method":"G T"}"#, "method", nil),
            (#"["request"]"#, "not an object", nil),
            // What would reach a URL or a header line is refused outright.
            (#"{"url":"/list","method":"GET","streamingID":"../../admin"}"#, "streamingID", nil),
            (#"{"url":"/list","method":"GET","headers":{"x":"a\r\nInjected: 1"}}"#, "CR, LF", nil),
            (#"{"url":"/list","method":"GET","headers":{"bad name":"1"}}"#, "token", nil),
        ]
        for (payload, error, expectedBody) in rows {
            let decoded = IncomingTunnelRequest.decode(try JSON.parse(payload))
            switch (decoded, error) {
            case (.success(let r), nil):
                XCTAssertEqual(r.body, expectedBody, payload)
                XCTAssertEqual(r.method, r.method.uppercased(), payload)
            case (.failure(let why), let fragment?):
                XCTAssertTrue(why.description.contains(fragment), "\(payload): \(why)")
            default:
                XCTFail("\(payload): \(decoded)")
            }
        }
        let full = try XCTUnwrap(try? IncomingTunnelRequest.decode(JSON.parse(#"{"url":"/list","method":"GET","headers":{"x":["1","2"],"n":3},"streamingID":"","requestId":"r"}"#)).get())
        XCTAssertEqual(full.headers.values("x"), ["1", "2"])
        XCTAssertEqual(full.headers["n"], "3")
        XCTAssertNil(full.streamingID, "an empty streamingID means the ack path")
        XCTAssertEqual(full.requestId, "r")
    }

    func testHeadersTheAgentReceives() {
        let incoming: HTTPHeaders = [
            "Host": "broker.snyk.io", "Content-Length": "10", "Transfer-Encoding": "chunked", "Connection": "keep-alive",
            "X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "h", "X-Forwarded-Port": "443",
            "x-forwarded-anything": "x", "Snyk-Acting-Group-Public-Id": "g", "Snyk-Acting-Org-Public-Id": "o",
            "Snyk-Acting-User-Public-Id": "u", "Snyk-Flow-Name": "f", "Snyk-Product-Line": "p", "Snyk-Project-Type": "t",
            "Snyk-Integration-Type": "i", "X-Snyk-Broker-Context-Id": "c", "Authorization": "Bearer theirs",
            "X-Broker-Client-Url": "http://elsewhere", "Accept": "application/json", "snyk-request-id": "from-header",
        ]
        let out = DownstreamPreparation.headers(from: incoming, requestId: "req-9", clientVersion: "4.200.0",
                                                authorization: "Q1JFRFM=", clientURL: "http://client:7341")
        let names = Set(out.fields.map { $0.name.lowercased() })
        for gone in ["host", "content-length", "transfer-encoding", "connection", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                     "x-forwarded-port", "x-forwarded-anything", "snyk-acting-group-public-id", "snyk-acting-org-public-id",
                     "snyk-acting-user-public-id", "snyk-flow-name", "snyk-product-line", "snyk-project-type", "snyk-integration-type",
                     "x-snyk-broker-context-id"] {
            XCTAssertFalse(names.contains(gone), gone)
        }
        XCTAssertEqual(out.values("authorization"), ["Q1JFRFM="])
        XCTAssertEqual(out.values("x-broker-client-url"), ["http://client:7341"])
        XCTAssertEqual(out.values("snyk-request-id"), ["req-9"])
        XCTAssertEqual(out["x-request-id"], "from-header", "copied from the incoming snyk-request-id, as prepareRequest.ts does")
        XCTAssertEqual(out["user-agent"], "Snyk Broker Client 4.200.0")
        XCTAssertEqual(out["x-broker-origin-ua"], "Snyk Broker 4.200.0", "no caller user agent: prepareRequest.ts's default")
        XCTAssertEqual(out["accept"], "application/json")

        let withUA = DownstreamPreparation.headers(from: ["User-Agent": "caller/2", "X-Request-Id": "mine"], requestId: "r", clientVersion: "4.200.0",
                                                   authorization: "c", clientURL: "u")
        XCTAssertEqual(withUA["x-broker-origin-ua"], "caller/2")
        XCTAssertEqual(withUA["x-request-id"], "mine")
        XCTAssertEqual(withUA.values("user-agent"), ["Snyk Broker Client 4.200.0"])
    }

    func testContextPrefixAndAgentURL() {
        XCTAssertEqual(DownstreamPreparation.strippingContextPrefix("/ctx/0b5c3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f/list"), "/list")
        XCTAssertEqual(DownstreamPreparation.strippingContextPrefix("/ctx/0b5c3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"), "")
        XCTAssertEqual(DownstreamPreparation.strippingContextPrefix("/ctx/0B5C3F4E-1a2b-4c3d-8e9f-0a1b2c3d4e5f/list"),
                       "/ctx/0B5C3F4E-1a2b-4c3d-8e9f-0a1b2c3d4e5f/list", "snyk's regex takes lower-case hex only")
        XCTAssertEqual(DownstreamPreparation.strippingContextPrefix("/ctx/not-a-uuid/list"), "/ctx/not-a-uuid/list")
        XCTAssertEqual(DownstreamPreparation.strippingContextPrefix("/list/ctx/0b5c3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"),
                       "/list/ctx/0b5c3f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
        XCTAssertEqual(DownstreamPreparation.downstreamURL(origin: "agent.internal:17500", path: "/list"), "https://agent.internal:17500/list")
        XCTAssertEqual(DownstreamPreparation.downstreamURL(origin: "http://agent:8081/", path: "/list?x=1"), "http://agent:8081/list?x=1")
        let noAuth = DownstreamPreparation.headers(from: ["Authorization": "Bearer theirs"], requestId: "r", clientVersion: "4.200.0",
                                                   authorization: nil, clientURL: "u")
        XCTAssertNil(noAuth["authorization"], "no authorization of ours: the caller's does not pass either")
    }

    /// A path that does not start with `/` once `/ctx/<uuid>` is out would extend the origin's authority
    /// (`http://agent:17500` + `@evil.example/x`): no URL is made for it, and a URL is made only on the origin's host.
    func testAPathCannotLeaveTheOriginsHost() {
        let zero = "/ctx/00000000-0000-0000-0000-000000000000"
        XCTAssertEqual(DownstreamPreparation.strippingContextPrefix(zero + "@evil.example/x"), "@evil.example/x")
        XCTAssertEqual(DownstreamPreparation.strippingContextPrefix(zero + ".evil.example/x"), ".evil.example/x")
        let rows: [(String, String, String?)] = [
            // origin, path, URL (nil: refused)
            ("http://agent:17500", "@evil.example/x", nil),
            ("http://agent:17500", ".evil.example/x", nil),
            ("http://agent:17500", ":1@evil.example/x", nil),
            ("http://agent", "@evil.example/x", nil),
            ("http://agent:17500", "", nil),
            ("http://agent:17500", "?x=1", nil),
            ("http://agent:17500", "#x", nil),
            ("agent:17500", "@evil.example/x", nil),
            ("http://agent:17500", "/x@evil.example/y", "http://agent:17500/x@evil.example/y"),
            ("http://agent:17500", "//evil.example/x", "http://agent:17500//evil.example/x"),
            ("http://agent:17500", "/list", "http://agent:17500/list"),
            ("http://[::1]:17500", "/list", "http://[::1]:17500/list"),
        ]
        for (origin, path, url) in rows {
            XCTAssertEqual(DownstreamPreparation.downstreamURL(origin: origin, path: path), url, "\(origin) + \(path)")
        }
        XCTAssertEqual(OriginIdentity(url: "http://agent:17500@evil.example/x")?.host, "evil.example")
        XCTAssertEqual(OriginIdentity(url: "HTTPS://Agent/x"), OriginIdentity(url: "https://agent:443"))
        XCTAssertNil(OriginIdentity(url: "http://agent:99999/x"))
        XCTAssertNil(OriginIdentity(url: "ftp://agent/x"))
    }

    func testAnswersTheClientMakesItself() {
        XCTAssertEqual(BrokerAnswer.blocked(reason: "r", url: "/u").body.serialized,
                       #"{"code":"FILTER_BLOCKED","message":"blocked","reason":"r","url":"/u"}"#)
        XCTAssertEqual(BrokerAnswer.blocked(reason: "r", url: "/u").preamble.serialized, #"{"status":401,"errorType":"FILTER_BLOCKED"}"#)
        let refused = BrokerAnswer.downstream(HTTPClientError(.transport, "Failed to connect", curlCode: 7))
        XCTAssertEqual(refused.status, 502)
        XCTAssertEqual(refused.code, .downstreamUnreachable)
        XCTAssertEqual(BrokerAnswer.downstream(HTTPClientError(.transport, "resolve", curlCode: 6)).code, .downstreamUnreachable)
        let slow = BrokerAnswer.downstream(HTTPClientError(.transport, "Operation timed out", curlCode: 28))
        XCTAssertEqual(slow.status, 504)
        XCTAssertEqual(slow.code, .downstreamTimeout)
        let other = BrokerAnswer.downstream(HTTPClientError(.transport, "Recv failure: Connection reset by peer", curlCode: 56))
        XCTAssertEqual(other.status, 502)
        XCTAssertEqual(other.code, .downstreamError)
        XCTAssertEqual(other.body["message"]?.string?.contains("Connection reset by peer"), true)
        // A rule's origin may carry a user and password: the message going up keeps the error, not the password.
        let withUser = BrokerAnswer.downstream(HTTPClientError(.transport, "Failed to connect", request: "GET http://u:origin-pass-9@h:1/x", curlCode: 7))
        XCTAssertEqual(withUser.body["message"]?.string?.contains("origin-pass-9"), false)
        XCTAssertEqual(withUser.body["message"]?.string?.contains("Failed to connect"), true)
    }
}
