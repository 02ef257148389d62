// `${VAR}` substitution from the environment (snyk's replace-vars.ts) and the two places requests ask for
// it (interpolateRequestWithConfigData.ts): body paths named by `BROKER_VAR_SUB`, headers named by
// `x-broker-var-sub`. Also the small JSON-path walker (undefsafe's dotted paths with `*`) the `valid`
// entries use.
import Core

enum VariableSubstitution {
    /// Every `${NAME}` (shortest match, as `/(\${.*?})/g`) replaced by the variable's value, '' when unset.
    /// (snyk's `NAME_POOL` credential pools are not supported: a pool variable is an ordinary one here.)
    static func replace(_ input: String, from env: [String: String]) -> String {
        guard hasPlaceholderStart(input) else { return input }
        var out = ""
        var rest = Substring(input)
        while let open = rest.firstRange(of: "${") {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
            out += rest[..<open.lowerBound]
            out += env[String(rest[open.upperBound..<close])] ?? ""
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }

    /// Whether the bytes `${` occur: checked on every allowed request's origin, so on bytes rather than
    /// with a Character search (no `${` bytes means no `${` Characters either).
    private static func hasPlaceholderStart(_ s: String) -> Bool {
        var previous: UInt8 = 0
        for c in s.utf8 {
            if c == 0x7B && previous == 0x24 { return true }
            previous = c
        }
        return false
    }

    /// The body after `BROKER_VAR_SUB`: each listed path's string value substituted, the key removed, the
    /// JSON written again (compact, keys in their order, as JSON.stringify does). A body that is not a
    /// JSON object with that key is returned unchanged.
    static func substituteBody(_ body: [UInt8], env: [String: String]) -> [UInt8] {
        guard !body.isEmpty, let json = try? JSON.parse(body), var pairs = json.object,
              let index = pairs.firstIndex(where: { $0.0 == "BROKER_VAR_SUB" }) else { return body }
        let paths = pairs[index].1.array?.compactMap(\.string) ?? []
        pairs.remove(at: index)
        var object = JSON.object(pairs)
        for path in paths {
            let segments = JSONPath.segments(path)
            guard !segments.contains("*"), case .string(let old)? = JSONPath.value(in: object, at: segments) else { continue }
            let new = replace(old, from: env)
            // undefsafe only writes a truthy value: a placeholder that resolves to '' stays as it was.
            if !new.isEmpty { object = JSONPath.setting(object, at: segments[...], to: .string(new)) }
        }
        return Array(object.serialized.utf8)
    }

    /// The headers after `x-broker-var-sub: a, b`: those headers' values substituted (the list header stays).
    static func substituteHeaders(_ headers: HTTPHeaders, env: [String: String]) -> HTTPHeaders {
        guard let list = headers["x-broker-var-sub"] else { return headers }
        var out = headers
        for name in list.split(separator: ",").map({ $0.trimmed(" \t") }) where !name.isEmpty {
            guard let value = out[name] else { continue }
            let new = replace(value, from: env)
            if !new.isEmpty { out.set(name, new) }
        }
        return out
    }
}

/// undefsafe's paths: `a.b.0.c`, with `[0]` / `["k"]` accepted as segments and `*` for every child.
enum JSONPath {
    static func segments(_ path: String) -> [String] {
        var out: [String] = []
        var current = ""
        var i = path.startIndex
        while i < path.endIndex {
            let c = path[i]
            if c == "." {
                out.append(current); current = ""
            } else if c == "[", let close = path[i...].firstIndex(of: "]") {
                if !current.isEmpty { out.append(current); current = "" }
                var inner = String(path[path.index(after: i)..<close])
                if inner.count >= 2, let q = inner.first, (q == "\"" || q == "'"), inner.last == q {
                    inner = String(inner.dropFirst().dropLast())
                }
                out.append(inner)
                i = close
                if path.index(after: i) < path.endIndex, path[path.index(after: i)] == "." { i = path.index(after: i) }
            } else {
                current.append(c)
            }
            i = path.index(after: i)
        }
        if !current.isEmpty || out.isEmpty { out.append(current) }
        return out
    }

    static func value(in json: JSON, at segments: [String]) -> JSON? {
        var node = json
        for s in segments {
            guard let next = child(node, s) else { return nil }
            node = next
        }
        return node
    }

    /// Every value the path reaches, `*` expanding to all children (array elements, object values).
    static func values(in json: JSON, at segments: ArraySlice<String>, limit: inout Int) -> [JSON] {
        guard limit > 0 else { return [] }
        limit -= 1
        guard let s = segments.first else { return [json] }
        let rest = segments.dropFirst()
        if s == "*" {
            let children: [JSON] = json.array ?? json.object?.map(\.1) ?? []
            return children.flatMap { values(in: $0, at: rest, limit: &limit) }
        }
        guard let next = child(json, s) else { return [] }
        return values(in: next, at: rest, limit: &limit)
    }

    static func child(_ node: JSON, _ key: String) -> JSON? {
        if let pairs = node.object { return pairs.last(where: { $0.0 == key })?.1 }
        if let items = node.array, let i = Int(key), i >= 0, i < items.count, String(i) == key { return items[i] }
        return nil
    }

    static func setting(_ node: JSON, at segments: ArraySlice<String>, to value: JSON) -> JSON {
        guard let s = segments.first else { return value }
        let rest = segments.dropFirst()
        if var pairs = node.object, let k = pairs.lastIndex(where: { $0.0 == s }) {
            pairs[k].1 = setting(pairs[k].1, at: rest, to: value)
            return .object(pairs)
        }
        if var items = node.array, let i = Int(s), i >= 0, i < items.count {
            items[i] = setting(items[i], at: rest, to: value)
            return .array(items)
        }
        return node
    }

    /// How JavaScript's String() shows a value (what `RegExp.test` sees).
    static func javaScriptString(_ json: JSON?) -> String {
        guard let json else { return "undefined" }
        switch json {
        case .null: return "null"
        case .string(let s): return s
        case .array(let items): return items.map { $0.isNull ? "" : javaScriptString($0) }.joined(separator: ",")
        case .object: return "[object Object]"
        default: return json.serialized
        }
    }
}
