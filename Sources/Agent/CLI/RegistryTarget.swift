// Where a CLI command's image lives: a registry base (from CR_BASE, or from the reference's own host)
// and the reference within that registry.

struct RegistryTarget {
    let base: RegistryBase
    let reference: ImageReference

    /// With `CR_BASE` set (`crBase`), `raw` is `repo[:tag|@digest]` under that base (which may carry a
    /// path prefix). Without it, `raw` must name the registry: `[http://|https://]host[:port]/repo[:tag|@digest]`,
    /// where the first path component counts as a host when it holds a `.` or a `:`, is `localhost`, or a
    /// scheme was written. https unless `http://` is written (in `raw` or in CR_BASE) or `plainHTTP` is set;
    /// `plainHTTP` with an explicit `https://` is a contradiction and refused.
    init(reference raw: String, crBase: String?, plainHTTP: Bool) throws(CommandLineFlags.UsageError) {
        if let crBase {
            if raw.contains("://") {
                throw .init("with CR_BASE set (\(crBase)) give the reference as repo[:tag|@digest] under it, not \"\(raw)\"")
            }
            base = try RegistryTarget.base(crBase, plainHTTP: plainHTTP, what: "CR_BASE")
            do {
                reference = try ImageReference(parsing: raw)
            } catch {
                throw .init("\(error.message); with CR_BASE set (\(base)) the reference is repo[:tag|@digest] under it")
            }
            return
        }
        var rest = Substring(raw)
        var scheme: String?
        if let r = rest.range(of: "://") {
            scheme = rest[..<r.lowerBound].lowercased()
            rest = rest[r.upperBound...]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw .init("\"\(raw)\" names no registry; give host[:port]/repo[:tag|@digest] or set CR_BASE")
        }
        let host = rest[..<slash]
        let looksLikeHost = scheme != nil || host.contains(".") || host.contains(":") || host == "localhost" || host.hasPrefix("[")
        guard looksLikeHost else {
            throw .init("\"\(raw)\" names no registry host (\"\(host)\" is not host[:port]); give host[:port]/repo[:tag|@digest] or set CR_BASE")
        }
        base = try RegistryTarget.base((scheme.map { $0 + "://" } ?? "") + host, plainHTTP: plainHTTP, what: "the reference's registry")
        do {
            reference = try ImageReference(parsing: String(rest[rest.index(after: slash)...]))
        } catch {
            throw .init(error.message)
        }
    }

    private static func base(_ raw: String, plainHTTP: Bool, what: String) throws(CommandLineFlags.UsageError) -> RegistryBase {
        var value = raw
        if plainHTTP {
            if value.lowercased().hasPrefix("https://") {
                throw .init("--plain-http contradicts \(what) \(raw), which says https://")
            }
            if !value.contains("://") { value = "http://" + value }
        }
        do {
            return try RegistryBase(parsing: value)
        } catch {
            throw .init("\(what): \(error.message)")
        }
    }
}
