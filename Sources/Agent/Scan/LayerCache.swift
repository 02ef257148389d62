// Per-layer findings kept by layer digest (and the catalogers' versions), so the next image that
// shares a layer does not read it again. In memory, least recently used out first, capped in entries;
// optionally also on disk (one small JSON file per layer), so separate runs share it.
import Core
import Glibc
import Synchronization

public final class LayerCache: Sendable {
    private struct State {
        var entries: [String: LayerFindings] = [:]
        var order: [String] = []
        var hits = 0
        var misses = 0
    }

    public let capacity: Int
    /// Where findings are also kept on disk (`SCAN_CACHE_DIR`); nil keeps them in memory only.
    public let directory: String?
    private let state = Mutex(State())

    public init(capacity: Int = 512, directory: String? = nil) {
        self.capacity = max(1, capacity)
        self.directory = directory
        if let directory { _ = mkdir(directory, 0o700) }
    }

    private func key(_ layerDigest: String) -> String { layerDigest + "|" + Catalogers.cacheKey }

    /// The disk file of a key: the sha256 of the key, so a cataloger change makes a new name.
    private func file(_ key: String) -> String? {
        directory.map { "\($0)/" + String(SHA256.digest(Array(key.utf8)).dropFirst(7)) + ".json" }
    }

    public func get(_ layerDigest: String) -> LayerFindings? {
        let k = key(layerDigest)
        let hit = state.withLock { s -> LayerFindings? in
            guard let f = s.entries[k] else { return nil }
            if let i = s.order.firstIndex(of: k) { s.order.remove(at: i) }
            s.order.append(k)
            return f
        }
        if let hit { count(hit: true); return hit }
        if let path = file(k), let bytes = RegistryCredentialSources.readFile(path, cap: 256 << 20),
           let f = LayerFindingsCodec.decode(bytes), f.layerDigest == layerDigest {
            remember(k, f)
            count(hit: true)
            return f
        }
        count(hit: false)
        return nil
    }

    public func put(_ findings: LayerFindings) {
        let k = key(findings.layerDigest)
        remember(k, findings)
        if let path = file(k) {
            // Written to a temporary name and renamed, so a reader never sees half a file.
            let tmp = path + ".tmp\(getpid())"
            if ScanCommand.writeFile(tmp, LayerFindingsCodec.encode(findings)) == nil { rename(tmp, path) } else { unlink(tmp) }
        }
    }

    private func remember(_ k: String, _ findings: LayerFindings) {
        state.withLock { s in
            if s.entries[k] == nil { s.order.append(k) }
            s.entries[k] = findings
            while s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }

    private func count(hit: Bool) { state.withLock { if hit { $0.hits += 1 } else { $0.misses += 1 } } }

    public var stats: (hits: Int, misses: Int, entries: Int) { state.withLock { ($0.hits, $0.misses, $0.entries.count) } }
}
