// Header fields as snyk's messages carry them (a request event's `headers`, a response-data head's): one
// JSON object, name -> value or array of values, in both directions.
import Core

enum TunnelHeaderFields {
    /// Repeated names become one array, in order of first appearance, as Node holds them.
    static func json(_ headers: [(String, String)]) -> JSON {
        var grouped: [(String, [String])] = []
        for (k, v) in headers {
            if let i = grouped.firstIndex(where: { $0.0 == k }) { grouped[i].1.append(v) } else { grouped.append((k, [v])) }
        }
        return JSON.object(grouped.map { ($0.0, $0.1.count == 1 ? .string($0.1[0]) : .array($0.1.map(JSON.string))) })
    }

    /// The pairs of a peer's headers object (absent or null: none). Names must be HTTP tokens and values
    /// hold no CR, LF or NUL, since they are written into an HTTP message; an array is one pair per value.
    /// `subject` starts the error messages ("header", "request header"); `acceptsBooleans` lets `true`
    /// and `false` through as text (snyk's client forwards them in answers).
    static func parse(_ value: JSON?, subject: String, maxHeaders: Int, acceptsBooleans: Bool,
                      error: (String) -> BrokerProtocolError) throws(BrokerProtocolError) -> [(String, String)] {
        var headers: [(String, String)] = []
        switch value {
        case nil, .null?: break
        case .object(let pairs)?:
            for (name, value) in pairs {
                guard ResponseDataHead.isToken(name) else { throw error("\(subject) name is not an HTTP token") }
                let values: [JSON]
                if case .array(let list) = value { values = list } else { values = [value] }
                for v in values {
                    let text: String
                    switch v {
                    case .string(let s): text = s
                    case .int(let i): text = String(i)
                    case .bool(let b) where acceptsBooleans: text = b ? "true" : "false"
                    default: throw error("\(subject) \(name.prefix(64)) has a value that is not a string or number")
                    }
                    guard !text.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) else {
                        throw error("\(subject) \(name.prefix(64)) holds CR, LF or NUL")
                    }
                    headers.append((name, text))
                    guard headers.count <= maxHeaders else { throw error("more than \(maxHeaders) \(subject)s") }
                }
            }
        default: throw error("\(subject)s is not an object")
        }
        return headers
    }
}
