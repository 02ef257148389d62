// The query string of an API request as name -> value (first occurrence wins), percent-decoded with
// `+` as a space, as browsers and curl's --data-urlencode write it.
struct ListingQuery {
    private var values: [String: String] = [:]

    init(_ query: Substring?) {
        guard let query else { return }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.percentDecoded(String(kv[0]).replacing("+", with: " ")), values[name] == nil else { continue }
            let raw = kv.count > 1 ? String(kv[1]) : ""
            if let value = Self.percentDecoded(raw.replacing("+", with: " ")) { values[name] = value }
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// `text` with its `%XX` escapes decoded; nil when an escape is malformed or the result is not UTF-8.
    static func percentDecoded(_ text: String) -> String? {
        guard text.contains("%") else { return text }
        var out: [UInt8] = []
        var bytes = text.utf8[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let hi = hex(bytes.removeFirst()), let lo = hex(bytes.removeFirst()) else { return nil }
            out.append(hi << 4 | lo)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}
