// Fuzz targets for what callbacks take from outside: `callback-url` (a base from a request header or
// body, or BROKER_CLIENT_URL) and `scan-result-fit` (cutting any JSON scan result to a budget).
import AgentKit
import Core

enum CallbackFuzz {
    /// A URL it accepts is http(s) with a host, has no userinfo, query or fragment, reads back as itself,
    /// and keeps its origin as a prefix of its base.
    @Sendable static func url(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        guard case .success(let u) = CallbackURL.parse(text) else { return }
        fuzzCheck(u.scheme == "http" || u.scheme == "https", "scheme \(u.scheme): \(fuzzDescribe(data))")
        fuzzCheck(!u.host.isEmpty, "no host: \(fuzzDescribe(data))")
        fuzzCheck(!u.base.contains("@") && !u.base.contains("?") && !u.base.contains("#"), "userinfo, query or fragment kept: \(fuzzDescribe(data))")
        fuzzCheck(u.base.hasPrefix(u.origin), "base does not start with its origin: \(fuzzDescribe(data))")
        fuzzCheck(u.base.utf8.count <= CallbackURL.maxLength, "base longer than the limit: \(fuzzDescribe(data))")
        guard case .success(let again) = CallbackURL.parse(u.base) else {
            fuzzCheck(false, "its own base is refused: \(fuzzDescribe(data))")
            return
        }
        fuzzCheck(again == u, "base does not read back as itself: \(fuzzDescribe(data))")
    }

    /// Whatever the JSON, a result that fits is within the budget and valid JSON, and keeps every
    /// depGraph fact byte for byte; one that does not fit reports a size over the budget.
    @Sendable static func fit(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let budget = 64 + ((Int(data[0]) << 8) + Int(data[1]))
        guard let document = try? JSON.parse(Array(data.dropFirst(2))) else { return }
        switch ScanResultFit.fit(document, maxBytes: budget) {
        case .tooLarge(let size):
            fuzzCheck(size > budget, "tooLarge with \(size) <= \(budget): \(fuzzDescribe(data))")
        case .fits(let bytes, _):
            fuzzCheck(bytes.count <= budget, "\(bytes.count) bytes over the \(budget) budget: \(fuzzDescribe(data))")
            guard let out = try? JSON.parse(bytes) else {
                fuzzCheck(false, "the cut result is not JSON: \(fuzzDescribe(data))")
                return
            }
            fuzzCheck(depGraphs(out) == depGraphs(document), "a depGraph changed: \(fuzzDescribe(data))")
        }
    }

    static func depGraphs(_ document: JSON) -> [String] {
        guard let results = document["scanResults"]?.array else { return [] }
        return results.flatMap { r in
            (r["facts"]?.array ?? []).filter { $0["type"]?.string == "depGraph" }.map(\.serialized)
        }
    }
}
