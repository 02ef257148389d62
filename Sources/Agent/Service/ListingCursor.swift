// The cursor of /list-paginated and /list-with-metadata: opaque to callers (base64url of a small JSON
// object), it holds where the registry's listing goes on — the registry's own next-page link or `last=`
// URL, never rebuilt (Quay's cursors are opaque), and how many names of that page were already given —
// or, for a type listed through its vendor's API, the offset into the whole listing. A cursor comes back
// from the caller, so it is checked before use: it may only point at the same listing on the request's
// registry, where the credentials go anyway.
import Core

public enum ListingCursor: Equatable, Sendable {
    /// The registry page at `path` (path and query on the registry's origin), less its first `skip`
    /// names, and less the names up to `after` when the registry ignored `last=`.
    case registry(path: String, skip: Int, after: String?)
    /// Names `offset...` of a listing read whole (vendor APIs).
    case offset(Int)

    /// Longer cursors are refused unread.
    static let maxEncodedBytes = 8192

    public var encoded: String {
        let json: JSON
        switch self {
        case .registry(let path, let skip, let after):
            var fields: [(String, JSON)] = [("u", .string(path)), ("s", .int(skip))]
            if let after { fields.append(("a", .string(after))) }
            json = .object(fields)
        case .offset(let o):
            json = .object([("o", .int(o))])
        }
        return Base64.encode(json.serializedBytes).replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }

    /// The cursor a caller sent back, or a 400 naming what is wrong with it (the text is not quoted back).
    static func decode(_ text: String, maxSkip: Int) -> Result<ListingCursor, ServiceError> {
        let bad = { (why: String) in Result<ListingCursor, ServiceError>.failure(.badRequest("cursor: \(why); pass back the \"next\" value of the previous page as it was")) }
        guard text.utf8.count <= maxEncodedBytes else { return bad("longer than \(maxEncodedBytes) bytes") }
        guard let bytes = Base64.decode(text), let json = try? JSON.parse(bytes), json.object != nil else { return bad("not a cursor this agent made") }
        if let o = json["o"] {
            guard let offset = o.int, (0...maxSkip).contains(offset) else { return bad("offset out of range") }
            return .success(.offset(offset))
        }
        guard let path = json["u"]?.string, let skip = json["s"]?.int, (0...maxSkip).contains(skip) else { return bad("not a cursor this agent made") }
        let after = json["a"]?.string
        if let a = json["a"], after == nil, !a.isNull { return bad("not a cursor this agent made") }
        return .success(.registry(path: path, skip: skip, after: after))
    }

    /// The absolute URL of a registry cursor's page, when it is a page of the listing asked for:
    /// `repository`'s tags, or the catalog when nil. Anything else is a 400 (a cursor must not send the
    /// request's credentials to another path, let alone another host).
    static func url(path: String, base: RegistryBase, repository: String?) -> Result<String, ServiceError> {
        let wanted = repository.map { "/v2/\($0)/tags/list" } ?? "/v2/_catalog"
        let pathOnly = path.prefix { $0 != "?" }
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("#"), !path.contains(".."),
              path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" }), pathOnly.hasSuffix(wanted) else {
            return .failure(.badRequest("cursor: it is not a page of \(repository.map { "the tags of \($0)" } ?? "the repository catalog"); pass back the \"next\" value of the previous page of this listing"))
        }
        return .success(base.origin + path)
    }

    /// The path and query of `url` on its origin (what a cursor keeps of a registry's next-page URL).
    static func path(of url: String) -> String {
        guard let origin = URLParts.origin(url) else { return url }
        let rest = String(url.dropFirst(origin.count))
        return rest.isEmpty ? "/" : rest
    }

    /// `decode` without the answer's text (for the fuzz target).
    public static func parse(_ text: String, maxSkip: Int) -> ListingCursor? {
        if case .success(let c) = decode(text, maxSkip: maxSkip) { return c }
        return nil
    }

    /// `url(path:base:repository:)` without the answer's text (for the fuzz target).
    public static func pageURL(path: String, base: RegistryBase, repository: String?) -> String? {
        if case .success(let u) = url(path: path, base: base, repository: repository) { return u }
        return nil
    }
}
