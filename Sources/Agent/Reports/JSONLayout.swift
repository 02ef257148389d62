// Indented JSON (like JSON.stringify(value, null, 2)) for documents people read, and a bytes helper.
import Core

extension JSON {
    /// The value with two-space indentation, keys in their given order, and a final newline.
    public var prettyPrinted: String {
        var out = ""
        writePretty(to: &out, depth: 0)
        out += "\n"
        return out
    }

    private func writePretty(to out: inout String, depth: Int) {
        let pad = String(repeating: "  ", count: depth + 1)
        let closePad = String(repeating: "  ", count: depth)
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, v) in items.enumerated() {
                out += pad
                v.writePretty(to: &out, depth: depth + 1)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "]"
        case .object(let pairs) where !pairs.isEmpty:
            out += "{\n"
            for (i, (k, v)) in pairs.enumerated() {
                out += pad
                JSON.quote(k, into: &out)
                out += ": "
                v.writePretty(to: &out, depth: depth + 1)
                out += i == pairs.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "}"
        default:
            write(to: &out)
        }
    }

    /// UTF-8 bytes, indented or compact.
    func bytes(pretty: Bool) -> [UInt8] { pretty ? Array(prettyPrinted.utf8) : serializedBytes }
}

/// Builds a JSON object keeping insertion order, skipping absent values.
struct JSONObject {
    private(set) var pairs: [(String, JSON)] = []

    mutating func set(_ key: String, _ value: JSON?) { if let value { pairs.append((key, value)) } }
    mutating func set(_ key: String, _ value: String?) { if let value { pairs.append((key, .string(value))) } }

    var json: JSON { .object(pairs) }
}
