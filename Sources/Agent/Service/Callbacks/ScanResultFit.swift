// Cuts a snyk scan result to fit a callback: first snyk-docker-plugin's own per-field limits, then, only
// when still too large, whole optional facts, largest first. A dep-graph is never cut: a result whose
// dep-graphs alone do not fit is refused (RESULT_TOO_LARGE) rather than sent incomplete.
import Core

public enum ScanResultFit {
    /// What came out of fitting: the bytes and one line per cut, or the size that cannot fit.
    public enum Outcome: Equatable {
        case fits(bytes: [UInt8], truncated: [String])
        /// Even with every optional fact removed the result is `bytes` long.
        case tooLarge(bytes: Int)
    }

    /// snyk-docker-plugin's RESPONSE_SIZE_LIMITS (snyk/snyk-docker-plugin lib/utils.ts,
    /// `truncateAdditionalFacts`, as of e007575, 2026-06-12; lib/response-builder.ts runs it over every
    /// scan result's facts): per fact field, an array length or a string length (in UTF-16 units, as
    /// JavaScript counts); `[*]` applies to each element. The plugin cuts these on every scan, whatever
    /// the total size, and reports them in a `pluginWarnings` fact (lib/facts.ts) as
    /// `{"truncatedFacts":{"<path>":{"type","countAboveLimit"}}}`: for an array the elements removed, for
    /// a string the most characters removed from one value. We do the same.
    static let pluginLimits: [String: Limit] = [
        "containerConfig.data.user": .string(1024),
        "containerConfig.data.exposedPorts": .array(500), "containerConfig.data.exposedPorts[*]": .string(64),
        "containerConfig.data.env": .array(500), "containerConfig.data.env[*]": .string(1024),
        "containerConfig.data.entrypoint": .array(500), "containerConfig.data.entrypoint[*]": .string(1024),
        "containerConfig.data.cmd": .array(500), "containerConfig.data.cmd[*]": .string(1024),
        "containerConfig.data.volumes": .array(500), "containerConfig.data.volumes[*]": .string(1024),
        "containerConfig.data.workingDir": .string(1024),
        "containerConfig.data.stopSignal": .string(128),
        "history.data": .array(1000),
        "history.data[*].author": .string(128),
        "history.data[*].createdBy": .string(4096),
        "history.data[*].comment": .string(4096),
    ]

    enum Limit: Equatable {
        case array(Int)
        case string(Int)
    }

    /// One entry of `pluginWarnings.truncatedFacts`: `array` (elements removed), `string` (most
    /// characters removed from one value) or, ours beyond the plugin, `fact` (the whole fact removed to
    /// fit the callback limit; `count` is its size in bytes). Written as `{"type","countAboveLimit"}`.
    struct Cut: Equatable {
        var type: String
        var count: Int
    }

    /// Fits `document` (`{"scanResults":[{"facts":[...],...}]}`) into `maxBytes` of compact JSON.
    public static func fit(_ document: JSON, maxBytes: Int) -> Outcome {
        guard var results = document["scanResults"]?.array else {
            let bytes = document.serializedBytes
            return bytes.count <= maxBytes ? .fits(bytes: bytes, truncated: []) : .tooLarge(bytes: bytes.count)
        }
        // Step 1: the plugin's field limits, one tracker per result (each gets its own pluginWarnings).
        var cuts = [[String: Cut]](repeating: [:], count: results.count)
        for i in results.indices {
            guard let facts = results[i]["facts"]?.array else { continue }
            let limited = facts.map { applyPluginLimits($0, tracker: &cuts[i]) }
            results[i] = replacing("facts", in: results[i], with: .array(limited))
        }
        var bytes = assemble(document, results, cuts).serializedBytes    // measured, and what is sent when it fits
        // Step 2: whole optional facts, largest first, until it fits; sizes are measured once and
        // subtracted (without the separating comma, so the running size never undercounts).
        var candidates: [(result: Int, type: String, bytes: Int)] = []
        for (i, r) in results.enumerated() {
            for f in r["facts"]?.array ?? [] {
                guard let type = f["type"]?.string, type != "depGraph", type != "pluginWarnings" else { continue }
                candidates.append((i, type, f.serializedBytes.count))
            }
        }
        candidates.sort { $0.bytes > $1.bytes }
        var next = 0
        while bytes.count > maxBytes {
            guard next < candidates.count else { return .tooLarge(bytes: bytes.count) }
            // Drop a batch whose sizes cover the excess, then measure for real.
            var excess = bytes.count - maxBytes
            while excess > 0 && next < candidates.count {
                let c = candidates[next]
                next += 1
                results[c.result] = removingFact(c.type, from: results[c.result])
                cuts[c.result][c.type, default: Cut(type: "fact", count: 0)].count += c.bytes
                excess -= c.bytes
            }
            bytes = assemble(document, results, cuts).serializedBytes
        }
        return .fits(bytes: bytes, truncated: lines(cuts, resultCount: results.count))
    }

    /// The cuts as lines for people: `history.data: 1200 elements removed (limit 1000)`.
    static func lines(_ cuts: [[String: Cut]], resultCount: Int) -> [String] {
        var out: [String] = []
        for (i, tracker) in cuts.enumerated() {
            let where_ = resultCount > 1 ? "scanResults[\(i)] " : ""
            for (path, cut) in tracker.sorted(by: { $0.key < $1.key }) {
                switch cut.type {
                case "array":
                    let limit = pluginLimits[path].flatMap { if case .array(let n) = $0 { n } else { nil } } ?? 0
                    out.append("\(where_)\(path): \(cut.count) elements removed (limit \(limit))")
                case "string":
                    let limit = pluginLimits[path].flatMap { if case .string(let n) = $0 { n } else { nil } } ?? 0
                    out.append("\(where_)\(path): up to \(cut.count) characters cut from a value (limit \(limit))")
                default:
                    out.append("\(where_)\(path): fact removed (\(cut.count) bytes) to fit the \(CallbackPayloads.maxBodyBytes)-byte callback limit")
                }
            }
        }
        return out
    }

    // MARK: the plugin's limits

    static func applyPluginLimits(_ fact: JSON, tracker: inout [String: Cut]) -> JSON {
        guard let type = fact["type"]?.string, type != "depGraph", let data = fact["data"], !data.isNull else { return fact }
        let cut = limited(data, factType: type, path: "data", tracker: &tracker)
        return replacing("data", in: fact, with: cut)
    }

    private static func hasLimits(under prefix: String) -> Bool { pluginLimits.keys.contains { $0.hasPrefix(prefix) } }

    private static func limited(_ value: JSON, factType: String, path: String, tracker: inout [String: Cut]) -> JSON {
        let key = "\(factType).\(path)"
        var value = value
        if let limit = pluginLimits[key] { value = apply(limit, to: value, key: key, tracker: &tracker) }
        guard hasLimits(under: key) else { return value }
        switch value {
        case .array(let items):
            return .array(items.map { limited($0, factType: factType, path: path + "[*]", tracker: &tracker) })
        case .object(let pairs):
            return .object(pairs.map { ($0.0, limited($0.1, factType: factType, path: "\(path).\($0.0)", tracker: &tracker)) })
        default:
            return value
        }
    }

    private static func apply(_ limit: Limit, to value: JSON, key: String, tracker: inout [String: Cut]) -> JSON {
        switch (limit, value) {
        case (.array(let n), .array(let items)) where items.count > n:
            tracker[key] = Cut(type: "array", count: items.count - n)
            return .array(Array(items.prefix(n)))
        case (.string(let n), .string(let s)) where s.utf16.count > n:
            let removed = s.utf16.count - n
            if removed > tracker[key]?.count ?? 0 { tracker[key] = Cut(type: "string", count: removed) }
            return .string(utf16Prefix(s, n))
        default:
            return value
        }
    }

    /// The first `n` UTF-16 units of `s` (JavaScript's `substring(0, n)`), never splitting a character.
    static func utf16Prefix(_ s: String, _ n: Int) -> String {
        var units = 0
        var end = s.startIndex
        for c in s {
            let w = c.utf16.count
            if units + w > n { break }
            units += w
            end = s.index(after: end)
        }
        return String(s[..<end])
    }

    // MARK: JSON editing

    private static func replacing(_ key: String, in object: JSON, with value: JSON) -> JSON {
        guard case .object(let pairs) = object else { return object }
        return .object(pairs.map { $0.0 == key ? ($0.0, value) : $0 })
    }

    private static func removingFact(_ type: String, from result: JSON) -> JSON {
        let facts = (result["facts"]?.array ?? []).filter { $0["type"]?.string != type }
        return replacing("facts", in: result, with: .array(facts))
    }

    /// The document with `results`, each result with cuts carrying them in its pluginWarnings: the
    /// existing fact's `truncatedFacts` replaced (its other data kept, as the plugin does), else a new
    /// fact at the end.
    private static func assemble(_ document: JSON, _ results: [JSON], _ cuts: [[String: Cut]]) -> JSON {
        let withWarnings = results.enumerated().map { i, r -> JSON in
            guard !cuts[i].isEmpty else { return r }
            let truncated: JSON = .object(cuts[i].sorted { $0.key < $1.key }.map {
                ($0.key, .object([("type", .string($0.value.type)), ("countAboveLimit", .int($0.value.count))]))
            })
            var facts = r["facts"]?.array ?? []
            if let at = facts.firstIndex(where: { $0["type"]?.string == "pluginWarnings" && $0["data"]?.object != nil }) {
                let data = facts[at]["data"]!.object!.filter { $0.0 != "truncatedFacts" } + [("truncatedFacts", truncated)]
                facts[at] = replacing("data", in: facts[at], with: .object(data))
            } else {
                facts.append(.object([("type", .string("pluginWarnings")), ("data", .object([("truncatedFacts", truncated)]))]))
            }
            return replacing("facts", in: r, with: .array(facts))
        }
        return replacing("scanResults", in: document, with: .array(withWarnings))
    }
}
