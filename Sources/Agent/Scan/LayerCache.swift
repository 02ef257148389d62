// Per-layer findings kept by layer digest (and the catalogers' versions), so the next image that
// shares a layer does not read it again. In memory, least recently used out first, capped in entries;
// optionally also on disk (one small JSON file per layer), so separate runs and the service's scan workers
// share it; on disk capped in bytes, the least recently used files (by modification time, which a hit
// renews) removed first. Workers write at once safely: each file is written under a temporary name and
// renamed, and eviction that races another worker's only removes a file that is then read as a miss.
import Core
import Glibc
import Synchronization

public final class LayerCache: Sendable {
    private struct State {
        var entries: [String: LayerFindings] = [:]
        var order: [String] = []
    }

    public let capacity: Int
    /// Where findings are also kept on disk (`SCAN_CACHE_DIR`); nil keeps them in memory only.
    public let directory: String?
    /// Bytes the disk files may hold together (`SCAN_CACHE_MAX_BYTES`); nil: no cap.
    public let maxDiskBytes: Int?
    private let state = Mutex(State())

    public init(capacity: Int = 512, directory: String? = nil, maxDiskBytes: Int? = nil) {
        self.capacity = max(1, capacity)
        self.directory = directory
        self.maxDiskBytes = maxDiskBytes
        if let directory { _ = mkdir(directory, 0o700) }
    }

    /// The part of the key naming the catalogers and their versions (for `Catalogers.all`, the same
    /// text as `Catalogers.cacheKey`, so the files of earlier runs stay valid).
    public static func key(of catalogers: [any Cataloger]) -> String {
        catalogers.map { "\($0.name)@\($0.version)" }.sorted().joined(separator: ",")
    }

    private func key(_ layerDigest: String, _ catalogers: String) -> String { layerDigest + "|" + catalogers }

    /// The disk file of a key: the sha256 of the key, so a cataloger change makes a new name.
    private func file(_ key: String) -> String? {
        directory.map { "\($0)/" + String(SHA256.digest(Array(key.utf8)).dropFirst(7)) + ".json" }
    }

    /// The findings of the layer as `catalogers` (a `key(of:)`) read it, if kept. Without `pathSets` the
    /// two path hash sets of findings read from disk are left empty (for an image's base layer, whose
    /// sets the merge never consults: thousands of hashes not built); such findings are not kept in memory.
    public func get(_ layerDigest: String, catalogers: String = Catalogers.cacheKey, pathSets: Bool = true) -> LayerFindings? {
        let k = key(layerDigest, catalogers)
        let hit = state.withLock { s -> LayerFindings? in
            guard let f = s.entries[k] else { return nil }
            if let i = s.order.firstIndex(of: k) { s.order.remove(at: i) }
            s.order.append(k)
            return f
        }
        if let hit { return hit }
        if let path = file(k), let bytes = RegistryCredentialSources.readFile(path, cap: 256 << 20),
           let f = LayerFindingsCodec.decode(bytes, pathSets: pathSets), f.layerDigest == layerDigest {
            _ = utimensat(AT_FDCWD, path, nil, 0)   // used now: last out under the cap
            if pathSets { remember(k, f) }
            return f
        }
        return nil
    }

    public func put(_ findings: LayerFindings, catalogers: String = Catalogers.cacheKey) {
        let k = key(findings.layerDigest, catalogers)
        remember(k, findings)
        if let path = file(k) {
            Self.writeAtomically(path, LayerFindingsCodec.encode(findings))
            if let directory, let maxDiskBytes { Self.evict(directory: directory, downTo: maxDiskBytes) }
        }
    }

    /// Removes the least recently used findings files of `directory` until they hold at most `maxBytes`
    /// (stale temporary files of a writer that died count too, and go first when old). Answers the
    /// number of files removed.
    @discardableResult
    static func evict(directory: String, downTo maxBytes: Int) -> Int {
        guard let dir = opendir(directory) else { return 0 }
        var files: [(path: String, size: Int, mtime: Int)] = []
        var total = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cBytes: $0) }
            guard name.hasSuffix(".json") || name.contains(".json.tmp.") else { continue }
            let path = directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            files.append((path, Int(st.st_size), Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)))
            total += Int(st.st_size)
        }
        closedir(dir)
        guard total > maxBytes else { return 0 }
        var removed = 0
        for f in files.sorted(by: { $0.mtime < $1.mtime }) where total > maxBytes {
            if unlink(f.path) == 0 { removed += 1 }
            total -= f.size
        }
        return removed
    }

    /// Writes to a fresh temporary name, created with O_EXCL|O_NOFOLLOW (so a file or symlink planted
    /// under that name in a shared directory is never followed or overwritten), then renames it into
    /// place, so a reader never sees half a file. False when the file could not be written.
    @discardableResult
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) -> Bool {
        for _ in 0..<8 {
            let tmp = path + ".tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 {
                if errno == EEXIST || errno == ELOOP { continue }
                return false
            }
            var off = 0, ok = true
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; ok = false; break }
                off += n
            }
            close(fd)
            if ok && rename(tmp, path) == 0 { return true }
            unlink(tmp)
            return false
        }
        return false
    }

    private func remember(_ k: String, _ findings: LayerFindings) {
        state.withLock { s in
            if s.entries[k] == nil { s.order.append(k) }
            s.entries[k] = findings
            while s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }
}

/// Image configs beside the findings (one file per config, named by the sha256 of its digest so a
/// digest never becomes a path; `.json`, so the byte cap and eviction count them).
extension LayerCache: ConfigStore {
    private func configFile(_ digest: String) -> String? {
        directory.map { "\($0)/config-" + String(SHA256.digest(Array(("config|" + digest).utf8)).dropFirst(7)) + ".json" }
    }

    public func config(_ digest: String, maxBytes: Int) -> [UInt8]? {
        guard let path = configFile(digest), let bytes = RegistryCredentialSources.readFile(path, cap: maxBytes) else { return nil }
        _ = utimensat(AT_FDCWD, path, nil, 0)   // used now: last out under the cap
        return bytes
    }

    public func keep(config: [UInt8], digest: String) {
        guard let path = configFile(digest) else { return }
        Self.writeAtomically(path, config)
        if let directory, let maxDiskBytes { Self.evict(directory: directory, downTo: maxDiskBytes) }
    }
}
