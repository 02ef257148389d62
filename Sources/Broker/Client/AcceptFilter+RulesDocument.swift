// The filter as the client shows it to the server in `identify` (metadata.filters, as snyk's client sends
// its loaded filters): method, path and origin as written; never `auth` or `valid`, which may hold secrets.
import Core

extension AcceptFilter: FilterRulesDocument {
    public var rulesDocument: JSON {
        func list(_ rules: [FilterRule]) -> JSON {
            .array(rules.map { rule in
                var fields: [(String, JSON)] = [("method", .string(rule.method.uppercased() == "ANY" ? "any" : rule.method.uppercased())),
                                                ("path", .string(rule.path.path))]
                if let origin = rule.origin { fields.append(("origin", .string(origin))) }
                return .object(fields)
            })
        }
        return .object([("private", list(rules.privateRules)), ("public", list(rules.publicRules))])
    }
}
