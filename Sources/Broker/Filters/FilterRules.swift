// The rules of a filter file (snyk/broker's classic format: `{"private": [rule...], "public": [rule...]}`),
// parsed and compiled once, with one clear error naming the file, the rule and what is wrong.
import Core
import Glibc

public struct FilterLoadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file (or "the default container-registry-agent filter").
    public let source: String
    public let message: String
    public var description: String { "accept filter \(source): \(message)" }
}

/// `auth` on a rule (snyk's auth-header.ts): the `authorization` value the rule sets on requests it allows.
public enum RuleAuth: Sendable, Equatable {
    case basic(username: String, password: String)
    case basicToken(String)          // `basic` with `token`: base64 of the token itself (Azure Repos)
    case bearer(String)
    case token(String)
    case raw(String)
}

/// One entry of a rule's `valid` list.
public enum ValidEntry: Sendable {
    /// `{"path": "a.*.b", "value": "x"}`: some value at the JSON body path equals x.
    case bodyValue(path: String, value: String)
    /// `{"path": "query", "regex": "..."}`: the value at the body path matches (bounded regex).
    case bodyRegex(path: String, regex: BoundedRegex)
    /// `{"queryParam": "filePath", "values": [globs]}`: the parameter matches one of the globs.
    case queryParam(name: String, globs: [GlobPattern])
    /// `{"header": "accept", "values": [...]}`: the header is present with one of these exact values.
    case header(name: String, values: [String])
}

public struct FilterRule: Sendable {
    /// The rule's `//` comment, for logs.
    public var comment: String?
    /// Lower-cased method, or `any`; snyk's default when absent is `get`.
    public var method: String
    public var path: PathPattern
    /// The origin as written (with `${VAR}` placeholders); nil when the rule has none.
    public var origin: String?
    public var auth: RuleAuth?
    public var valid: [ValidEntry]
}

public struct FilterRules: Sendable {
    public var privateRules: [FilterRule]
    public var publicRules: [FilterRule]

    /// Largest filter file read; snyk's largest default filter is about 100 KiB.
    public static let maxFileBytes = 4 << 20

    public init(privateRules: [FilterRule], publicRules: [FilterRule]) {
        self.privateRules = privateRules
        self.publicRules = publicRules
    }

    /// The rules of a filter file's JSON text; `source` names it in errors.
    public static func parse(_ bytes: [UInt8], source: String) -> Result<FilterRules, FilterLoadError> {
        func fail(_ m: String) -> Result<FilterRules, FilterLoadError> { .failure(FilterLoadError(source: source, message: m)) }
        if bytes.count > maxFileBytes { return fail("larger than \(maxFileBytes) bytes") }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { return fail("not JSON: \(error.description)") }
        guard let top = json.object else { return fail("expected an object with \"private\" and \"public\" rule lists") }
        let keys = top.map(\.0)
        guard keys.contains("private") || keys.contains("public") else {
            return fail("has neither a \"private\" nor a \"public\" rule list (the per-type universal format is not supported)")
        }
        var lists: [String: [FilterRule]] = [:]
        for name in ["private", "public"] {
            guard let value = json[name], !value.isNull else { lists[name] = []; continue }
            guard let items = value.array else { return fail("\"\(name)\" must be an array of rules") }
            var rules: [FilterRule] = []
            for (k, item) in items.enumerated() {
                switch rule(item) {
                case .success(let r): rules.append(r)
                case .failure(let e): return fail("\(name)[\(k)]: \(e.message)")
                }
            }
            lists[name] = rules
        }
        return .success(FilterRules(privateRules: lists["private"]!, publicRules: lists["public"]!))
    }

    /// Reads and parses the file at `path` (the ACCEPT variable).
    public static func load(path: String) -> Result<FilterRules, FilterLoadError> {
        guard let bytes = readFile(path, limit: maxFileBytes + 1) else {
            return .failure(FilterLoadError(source: path, message: "cannot be read (missing, not a file, or no permission)"))
        }
        return parse(bytes, source: path)
    }

    private struct RuleError: Error { let message: String; init(_ m: String) { message = m } }

    private static func rule(_ json: JSON) -> Result<FilterRule, RuleError> {
        guard json.object != nil else { return .failure(RuleError("a rule must be an object")) }
        func string(_ key: String) throws(RuleError) -> String? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let s = v.string else { throw RuleError("\"\(key)\" must be a string") }
            return s
        }
        do throws(RuleError) {
            let method = (try string("method") ?? "get").lowercased()
            guard !method.isEmpty, method.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-") }) else {
                throw RuleError("\"method\" must be an HTTP method or \"any\"")
            }
            var path = try string("path") ?? ""
            if !path.hasPrefix("/") { path = "/" + path }   // as snyk's loadFilters does
            let pattern: PathPattern
            do { pattern = try PathPattern(path) } catch { throw RuleError("\"path\" \(path.debugDescription): \(error.reason)") }
            let auth = try parseAuth(json["auth"])
            let valid = try parseValid(json["valid"])
            return .success(FilterRule(comment: try? string("//"), method: method, path: pattern,
                                       origin: try string("origin"), auth: auth, valid: valid))
        } catch {
            return .failure(error)
        }
    }

    private static func parseAuth(_ json: JSON?) throws(RuleError) -> RuleAuth? {
        guard let json, !json.isNull else { return nil }
        guard json.object != nil else { throw RuleError("\"auth\" must be an object") }
        func field(_ k: String) -> String { json[k]?.string ?? "" }
        switch json["scheme"]?.string?.lowercased() {
        case "basic": return json["token"]?.string.map { .basicToken($0) } ?? .basic(username: field("username"), password: field("password"))
        case "bearer": return .bearer(field("token"))
        case "token": return .token(field("token"))
        case "raw": return .raw(field("token"))
        default: throw RuleError("\"auth.scheme\" must be one of basic, bearer, token, raw")
        }
    }

    private static func parseValid(_ json: JSON?) throws(RuleError) -> [ValidEntry] {
        guard let json, !json.isNull else { return [] }
        guard let items = json.array else { throw RuleError("\"valid\" must be an array") }
        var out: [ValidEntry] = []
        for (k, item) in items.enumerated() {
            guard item.object != nil else { throw RuleError("valid[\(k)] must be an object") }
            func strings(_ key: String) throws(RuleError) -> [String] {
                guard let list = item[key]?.array, list.allSatisfy({ $0.string != nil }) else {
                    throw RuleError("valid[\(k)].\(key) must be an array of strings")
                }
                return list.compactMap(\.string)
            }
            if let path = item["path"]?.string, !path.isEmpty {
                if let regex = item["regex"]?.string, !regex.isEmpty {
                    do { out.append(.bodyRegex(path: path, regex: try BoundedRegex(regex))) } catch {
                        throw RuleError("valid[\(k)].regex: \(error.reason) at \(error.offset)")
                    }
                } else if let value = item["value"], !value.isNull {
                    out.append(.bodyValue(path: path, value: value.string ?? value.serialized))
                } else {
                    throw RuleError("valid[\(k)] has a \"path\" but neither \"value\" nor \"regex\"")
                }
            } else if let name = item["queryParam"]?.string, !name.isEmpty {
                var globs: [GlobPattern] = []
                for g in try strings("values") {
                    do { globs.append(try GlobPattern(g)) } catch { throw RuleError("valid[\(k)].values glob \(g.debugDescription): \(error.reason)") }
                }
                out.append(.queryParam(name: name, globs: globs))
            } else if let name = item["header"]?.string, !name.isEmpty {
                out.append(.header(name: name.lowercased(), values: try strings("values")))
            } else {
                throw RuleError("valid[\(k)] needs \"path\", \"queryParam\" or \"header\"")
            }
        }
        return out
    }
}

/// The whole file at `path`, nil when it cannot be read or is larger than `limit` bytes (then the
/// caller reports it as too large by seeing `limit` bytes).
func readFile(_ path: String, limit: Int) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while out.count < limit {
        let n = fread(&chunk, 1, min(chunk.count, limit - out.count), f)
        if n <= 0 { return ferror(f) != 0 ? nil : out }
        out += chunk[0..<n]
    }
    return out
}
