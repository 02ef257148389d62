// The query string of an API request as name -> value (first occurrence wins), percent-decoded with
// `+` as a space, as browsers and curl's --data-urlencode write it.
import Core

struct ListingQuery {
    private var values: [String: String] = [:]

    init(_ query: Substring?) {
        guard let query else { return }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(String(kv[0]).replacing("+", with: " ")), values[name] == nil else { continue }
            let raw = kv.count > 1 ? String(kv[1]) : ""
            if let value = PercentEncoding.decode(raw.replacing("+", with: " ")) { values[name] = value }
        }
    }

    subscript(_ name: String) -> String? { values[name] }
}
