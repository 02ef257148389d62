// The body of POST /scan and POST /discover, read strictly and bounded: which images, for which
// platform, and an optional callback URL. A pure function over bytes (fuzz target `scan-request`).
import Core

public struct ScanRequest: Sendable, Equatable {
    /// Images one request may name; more is a 400 (split the list over several requests).
    public static let maxImages = 1000
    /// The body limit of the routes: 1000 references of up to 512 bytes, with room for the rest.
    public static let maxBodyBytes = 1 << 20
    /// Nesting the body may have; deeper is a 400, before any value is looked at.
    public static let maxDepth = 8
    /// Longest image reference accepted (a repository name plus a tag or digest).
    public static let maxReferenceBytes = 512

    /// The images as given (`repo:tag`, `repo@sha256:...`, optionally prefixed by the registry's host).
    public var images: [String]
    /// `os/arch[/variant]`; nil: linux/amd64.
    public var platform: Platform?
    public var callbackURL: String?

    public init(images: [String], platform: Platform? = nil, callbackURL: String? = nil) {
        self.images = images
        self.platform = platform
        self.callbackURL = callbackURL
    }

    /// `{"images":["<ref>", {"image":"<ref>"}, ...], "platform":"linux/arm64", "callbackUrl":"..."}`.
    /// Unknown keys are ignored (the broker may add its own); a duplicate image is scanned once.
    /// Errors quote no more of the body than one bounded reference.
    public static func parse(_ body: [UInt8]) -> Result<ScanRequest, RequestProblem> {
        let json: JSON
        do { json = try JSON.parse(body, maxDepth: maxDepth) } catch { return .failure("the body is not JSON: \(error)") }
        guard json.object != nil else { return .failure("the body must be a JSON object with an \"images\" array") }
        guard let list = json["images"]?.array else { return .failure("\"images\" must be an array of image references") }
        guard !list.isEmpty else { return .failure("\"images\" is empty: name at least one image") }
        guard list.count <= maxImages else {
            return .failure("\"images\" names \(list.count) images, more than the \(maxImages) one request may; split the list")
        }
        var images: [String] = []
        var seen = Set<String>()
        for (i, item) in list.enumerated() {
            guard let raw = item.string ?? item["image"]?.string ?? item["name"]?.string else {
                return .failure("images[\(i)] must be a string (or an object with \"image\")")
            }
            let ref = raw.trimmed(" \t")
            guard !ref.isEmpty else { return .failure("images[\(i)] is empty") }
            guard ref.utf8.count <= maxReferenceBytes else {
                return .failure("images[\(i)] is \(ref.utf8.count) bytes long, over the \(maxReferenceBytes) a reference may be")
            }
            guard ref.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                return .failure("images[\(i)] holds a space, a control or a non-ASCII character, which no image reference has: \(quoted(ref))")
            }
            if seen.insert(ref).inserted { images.append(ref) }
        }
        var platform: Platform?
        if let p = json["platform"], !p.isNull {
            guard let text = p.string else { return .failure("\"platform\" must be a string os/arch[/variant]") }
            do { platform = try Platform(parsing: text) } catch {
                return .failure("\"platform\" must be os/arch[/variant], got \(quoted(text))")
            }
        }
        var callback: String?
        if let c = json["callbackUrl"] ?? json["callbackURL"], !c.isNull {
            guard let text = c.string, !text.isEmpty, text.utf8.count <= 2048 else {
                return .failure("\"callbackUrl\" must be a URL string of at most 2048 bytes")
            }
            callback = text
        }
        return .success(ScanRequest(images: images, platform: platform, callbackURL: callback))
    }

    /// Text from the request as one printable line: what is not printable ASCII shows as `?`, cut at `limit`.
    static func quoted(_ text: String, limit: Int = 100) -> String {
        var out = ""
        for u in text.unicodeScalars.prefix(limit) { out.unicodeScalars.append(u.value >= 0x20 && u.value < 0x7F ? u : "?") }
        return text.unicodeScalars.count > limit ? out + "…" : out
    }

    /// Each image as a reference within `registry` (`host[:port]`): a leading `<registry>/` is dropped (the
    /// caller may name the host it lists), any other host is refused (credentials are for this registry only).
    /// Answers the names within the registry, each checked to parse as a reference.
    public static func references(_ images: [String], registry: String) -> Result<[String], RequestProblem> {
        var out: [String] = []
        let prefix = registry.lowercased() + "/"
        for (i, raw) in images.enumerated() {
            var name = Substring(raw)
            if raw.lowercased().hasPrefix(prefix) { name = name.dropFirst(prefix.count) }
            let first = name.split(separator: "/", maxSplits: 1).first ?? ""
            if name.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost") {
                return .failure("images[\(i)] names the registry \(quoted(String(first))); this request's credentials are for \(registry): name repositories there")
            }
            do { _ = try ImageReference(parsing: String(name)); out.append(String(name)) } catch {
                return .failure("images[\(i)]: \(quoted(error.message, limit: 300))")
            }
        }
        return .success(out)
    }
}

/// What is wrong with a request (or why its work cannot start), one line for the caller.
public struct RequestProblem: Error, Sendable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public let message: String
    public init(_ message: String) { self.message = message }
    public init(stringLiteral value: String) { message = value }
    public init(stringInterpolation: DefaultStringInterpolation) { message = String(stringInterpolation: stringInterpolation) }
    public var description: String { message }
}
