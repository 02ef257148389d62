// Fuzz target `listing-cursor`: the API's paging cursor as a caller sends it back, over arbitrary bytes
// (as given and base64-encoded), and the registry path a cursor may hold. It never traps; a cursor that
// is accepted survives its own encoding unchanged; a page URL is always on the request's registry, on
// the listing asked for, with nothing a URL parser could read as another host.
import AgentKit
import Core

enum ListingCursorFuzz {
    static let origin = "https://registry.example:5000"
    static let base = try! RegistryBase(parsing: origin + "/prefix")
    static let maxSkip = 100_000

    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let text = String(decoding: bytes, as: UTF8.self)
        for raw in [text, Base64.encode(bytes)] {
            guard let cursor = ListingCursor.parse(raw, maxSkip: maxSkip) else { continue }
            fuzzCheck(ListingCursor.parse(cursor.encoded, maxSkip: maxSkip) == cursor, "cursor \(cursor) does not survive its encoding: \(fuzzDescribe(data))")
            switch cursor {
            case .offset(let o): fuzzCheck((0...maxSkip).contains(o), "offset \(o) out of range: \(fuzzDescribe(data))")
            case .registry(let path, let skip, _):
                fuzzCheck((0...maxSkip).contains(skip), "skip \(skip) out of range: \(fuzzDescribe(data))")
                checkPage(path, data)
            }
        }
        checkPage(text, data)
    }

    static func checkPage(_ path: String, _ data: UnsafeRawBufferPointer) {
        for repository in [nil, "team/app"] as [String?] {
            guard let url = ListingCursor.pageURL(path: path, base: base, repository: repository) else { continue }
            fuzzCheck(url.hasPrefix(origin + "/"), "page URL \(url) is not on the registry: \(fuzzDescribe(data))")
            let rest = url.dropFirst(origin.count)
            fuzzCheck(!rest.hasPrefix("//") && !rest.contains("\\") && !rest.contains("#") && !rest.contains(".."),
                      "page URL \(url) could leave the registry: \(fuzzDescribe(data))")
            let pathOnly = rest.prefix { $0 != "?" }
            fuzzCheck(pathOnly.hasSuffix(repository.map { "/v2/\($0)/tags/list" } ?? "/v2/_catalog"),
                      "page URL \(url) is another listing than asked: \(fuzzDescribe(data))")
        }
    }
}
