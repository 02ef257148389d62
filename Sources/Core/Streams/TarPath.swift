// Normalizing tar member names into absolute paths: strip `./` and `/`, collapse `//`, resolve `.` and `..`.

/// Tar member names as the absolute paths a layer's files get when unpacked.
public enum TarPath {
    /// `name` as an absolute normalized path, and whether `..` tried to climb above the root (where it stops).
    public static func normalize(_ name: String) -> (path: String, escapesRoot: Bool) {
        var out: [UInt8] = []
        var name = name
        let ok = name.withUTF8 { append(UnsafeRawBufferPointer($0), to: &out) }
        return (string(out), !ok)
    }

    /// Appends the components of `raw` to the absolute path held in `out` (empty for the root), skipping
    /// empty and `.` components and resolving `..`. Returns false when a `..` had nothing left to remove.
    static func append(_ raw: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        var ok = true
        var i = 0
        let n = raw.count
        while i < n {
            while i < n && raw[i] == 0x2F { i += 1 }
            var j = i
            while j < n && raw[j] != 0x2F { j += 1 }
            let length = j - i
            if length == 0 { break }
            if length == 1 && raw[i] == 0x2E {
                // "."
            } else if length == 2 && raw[i] == 0x2E && raw[i + 1] == 0x2E {
                if let slash = out.lastIndex(of: 0x2F) { out.removeSubrange(slash...) } else { ok = false }
            } else {
                out.append(0x2F)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[i..<j]))
            }
            i = j
        }
        return ok
    }

    /// A path as it may appear in a message: cut to `maxBytes` (an entry's path may be a megabyte long).
    public static func shown(_ path: String, maxBytes: Int = 256) -> String {
        UntrustedText.truncated(path, maxBytes: maxBytes)
    }

    static func string(_ normalized: [UInt8]) -> String {
        normalized.isEmpty ? "/" : String(decoding: normalized, as: UTF8.self)
    }
}
