// LayerFindings to and from JSON bytes, for the layer cache's optional disk store.
import Core

enum LayerFindingsCodec {
    /// 2: the path hash sets are one hex string each (16 digits a hash), not arrays of numbers: a base
    /// layer holds thousands, and a cached rescan spent most of its decoding time parsing them.
    static let formatVersion = 2

    static func encode(_ f: LayerFindings) -> [UInt8] {
        func strings<S: Sequence>(_ s: S) -> JSON where S.Element == String { .array(s.sorted().map(JSON.string)) }
        func hashes(_ s: Set<UInt64>) -> JSON { .string(hexRun(s.sorted())) }
        let packages: [(String, JSON)] = f.packagesByPath.keys.sorted().map { path in
            (path, .array(f.packagesByPath[path]!.map { p in
                var o: [(String, JSON)] = [("e", .string(p.ecosystem.rawValue)), ("n", .string(p.name)), ("v", .string(p.version))]
                if let ns = p.namespace { o.append(("ns", .string(ns))) }
                o.append(("m", .object(p.metadata.keys.sorted().map { ($0, .string(p.metadata[$0]!)) })))
                return .object(o)
            }))
        }
        let doc = JSON.object([
            ("format", .int(formatVersion)), ("layer", .string(f.layerDigest)), ("diffID", .string(f.diffID)),
            ("packages", .object(packages)), ("osFiles", .object(f.osFiles.keys.sorted().map { ($0, .string(f.osFiles[$0]!)) })),
            ("whiteouts", strings(f.whiteouts)), ("opaque", strings(f.opaqueDirectories)),
            ("nonDirs", hashes(f.nonDirectoryHashes)), ("dirs", hashes(f.directoryHashes)),
            ("warnings", .array(f.warnings.map(JSON.string))), ("tarBytes", .int(f.tarBytes)), ("entries", .int(f.entries)),
        ])
        return doc.serializedBytes
    }

    /// nil when the bytes are not a findings document of this format (a stale or damaged cache file).
    /// Without `pathSets` the path hash sets are left empty (not checked either).
    static func decode(_ bytes: [UInt8], pathSets: Bool = true) -> LayerFindings? {
        guard let doc = try? JSON.parse(bytes, maxDepth: 16), doc["format"]?.int == formatVersion,
              let layer = doc["layer"]?.string else { return nil }
        var f = LayerFindings(layerDigest: layer)
        f.diffID = doc["diffID"]?.string ?? ""
        for (path, list) in doc["packages"]?.object ?? [] {
            var found: [Package] = []
            for p in list.array ?? [] {
                guard let e = p["e"]?.string.flatMap(Ecosystem.init(rawValue:)), let n = p["n"]?.string, let v = p["v"]?.string else { return nil }
                let entries = p["m"]?.object ?? []
                var metadata = [String: String](minimumCapacity: entries.count)
                for (k, value) in entries { metadata[k] = value.string }
                found.append(Package(ecosystem: e, name: n, version: v, namespace: p["ns"]?.string,
                                     location: PackageLocation(layerDigest: layer, path: path), metadata: metadata))
            }
            f.packagesByPath[path] = found
        }
        for (path, text) in doc["osFiles"]?.object ?? [] { f.osFiles[path] = text.string }
        f.whiteouts = Set(doc["whiteouts"]?.array?.compactMap(\.string) ?? [])
        f.opaqueDirectories = Set(doc["opaque"]?.array?.compactMap(\.string) ?? [])
        let nonDirsText = doc["nonDirs"]?.string ?? "", dirsText = doc["dirs"]?.string ?? ""
        if pathSets {
            guard let nonDirs = hashSet(nonDirsText), let dirs = hashSet(dirsText) else { return nil }
            f.nonDirectoryHashes = nonDirs
            f.directoryHashes = dirs
        } else {
            f.pathHashesNotRead = (nonDirsText.utf8.count + dirsText.utf8.count) / 16
        }
        f.warnings = doc["warnings"]?.array?.compactMap(\.string) ?? []
        f.tarBytes = doc["tarBytes"]?.int ?? 0
        f.entries = doc["entries"]?.int ?? 0
        return f
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Each hash as 16 lower-case hex digits, one after another.
    static func hexRun(_ hashes: [UInt64]) -> String {
        var out = [UInt8](repeating: 0, count: hashes.count * 16)
        for (i, h) in hashes.enumerated() {
            for k in 0..<16 { out[i * 16 + k] = hexDigits[Int(truncatingIfNeeded: h >> UInt64(60 - 4 * k)) & 15] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hashes of a `hexRun`; nil when the text is not one (a damaged file reads as a miss).
    static func hashSet(_ text: String) -> Set<UInt64>? {
        var text = text
        return text.withUTF8 { bytes -> Set<UInt64>? in
            guard bytes.count % 16 == 0 else { return nil }
            var set = Set<UInt64>(minimumCapacity: bytes.count / 16)
            var h: UInt64 = 0
            for (i, c) in bytes.enumerated() {
                let v: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c &- UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c &- UInt8(ascii: "a") &+ 10
                default: return nil
                }
                h = h << 4 | UInt64(v)
                if i % 16 == 15 { set.insert(h); h = 0 }
            }
            return set
        }
    }
}
