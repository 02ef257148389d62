// Header fields as they cross the tunnel: to and from the JSON objects of the wire protocol (Node's
// lower-cased `req.headers`), and what a hop must not pass on.
import Core

enum RelayHeaders {
    /// Connection-level fields (RFC 9110 §7.6.1) and the framing this hop decides itself.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                                        "upgrade", "proxy-authenticate", "proxy-authorization", "content-length"]

    /// A JSON object of lower-cased names; repeated fields joined with ", " as Node joins them.
    static func toJSON(_ headers: HTTPHeaders, adding extra: [(String, String)] = []) -> JSON {
        var order: [String] = []
        var values: [String: String] = [:]
        for (name, value) in headers {
            let n = name.lowercased()
            if let v = values[n] { values[n] = v + ", " + value } else { order.append(n); values[n] = value }
        }
        for (n, v) in extra {
            if values[n] == nil { order.append(n) }
            values[n] = v
        }
        return .object(order.map { ($0, .string(values[$0]!)) })
    }

    /// Headers from a JSON object whose values are strings, numbers or arrays of strings; others skipped.
    static func fromJSON(_ json: JSON?) -> HTTPHeaders {
        var h = HTTPHeaders()
        guard let pairs = json?.object else { return h }
        for (name, value) in pairs where isToken(name) {
            switch value {
            case .string(let s): if isFieldValue(s) { h.add(name, s) }
            case .int(let i): h.add(name, String(i))
            case .double(let d): h.add(name, String(d))
            case .array(let items): for case .string(let s) in items where isFieldValue(s) { h.add(name, s) }
            default: break
            }
        }
        return h
    }

    /// `headers` without the hop-by-hop fields and those named in `dropping`.
    static func forwarded(_ headers: HTTPHeaders, dropping: Set<String> = []) -> HTTPHeaders {
        var out = HTTPHeaders()
        for (name, value) in headers {
            let n = name.lowercased()
            if hopByHop.contains(n) || dropping.contains(n) { continue }
            out.add(name, value)
        }
        return out
    }

    /// A field name (RFC 9110 token): what a peer sends is never written raw into our response head.
    static func isToken(_ s: String) -> Bool { HTTPRequestParser.isToken(s) }

    /// A field value without CR, LF or NUL (no header injection through the tunnel).
    static func isFieldValue(_ s: String) -> Bool {
        !s.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
    }
}
