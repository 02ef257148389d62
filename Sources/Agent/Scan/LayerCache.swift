// Per-layer findings kept by layer digest (and the catalogers' versions), so the next image that
// shares a layer does not read it again. In memory, least recently used out first, capped in entries.
import Synchronization

public final class LayerCache: Sendable {
    private struct State {
        var entries: [String: LayerFindings] = [:]
        var order: [String] = []
        var hits = 0
        var misses = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 512) { self.capacity = max(1, capacity) }

    private func key(_ layerDigest: String) -> String { layerDigest + "|" + Catalogers.cacheKey }

    public func get(_ layerDigest: String) -> LayerFindings? {
        let k = key(layerDigest)
        return state.withLock { s in
            guard let f = s.entries[k] else { s.misses += 1; return nil }
            s.hits += 1
            if let i = s.order.firstIndex(of: k) { s.order.remove(at: i) }
            s.order.append(k)
            return f
        }
    }

    public func put(_ findings: LayerFindings) {
        let k = key(findings.layerDigest)
        state.withLock { s in
            if s.entries[k] == nil { s.order.append(k) }
            s.entries[k] = findings
            while s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }

    public var stats: (hits: Int, misses: Int, entries: Int) { state.withLock { ($0.hits, $0.misses, $0.entries.count) } }
}
