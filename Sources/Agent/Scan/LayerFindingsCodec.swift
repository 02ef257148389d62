// LayerFindings to and from JSON bytes, for the layer cache's optional disk store.
import Core

enum LayerFindingsCodec {
    static let formatVersion = 1

    static func encode(_ f: LayerFindings) -> [UInt8] {
        func strings<S: Sequence>(_ s: S) -> JSON where S.Element == String { .array(s.sorted().map(JSON.string)) }
        func hashes(_ s: Set<UInt64>) -> JSON { .array(s.sorted().map { .int(Int(bitPattern: UInt($0))) }) }
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
        return Array(doc.serialized.utf8)
    }

    /// nil when the bytes are not a findings document of this format (a stale or damaged cache file).
    static func decode(_ bytes: [UInt8]) -> LayerFindings? {
        guard let doc = try? JSON.parse(bytes, maxDepth: 16), doc["format"]?.int == formatVersion,
              let layer = doc["layer"]?.string else { return nil }
        var f = LayerFindings(layerDigest: layer)
        f.diffID = doc["diffID"]?.string ?? ""
        for (path, list) in doc["packages"]?.object ?? [] {
            var found: [Package] = []
            for p in list.array ?? [] {
                guard let e = p["e"]?.string.flatMap(Ecosystem.init(rawValue:)), let n = p["n"]?.string, let v = p["v"]?.string else { return nil }
                var metadata: [String: String] = [:]
                for (k, value) in p["m"]?.object ?? [] { metadata[k] = value.string }
                found.append(Package(ecosystem: e, name: n, version: v, namespace: p["ns"]?.string,
                                     location: PackageLocation(layerDigest: layer, path: path), metadata: metadata))
            }
            f.packagesByPath[path] = found
        }
        for (path, text) in doc["osFiles"]?.object ?? [] { f.osFiles[path] = text.string }
        f.whiteouts = Set(doc["whiteouts"]?.array?.compactMap(\.string) ?? [])
        f.opaqueDirectories = Set(doc["opaque"]?.array?.compactMap(\.string) ?? [])
        f.nonDirectoryHashes = Set(doc["nonDirs"]?.array?.compactMap { $0.int.map { UInt64(UInt(bitPattern: $0)) } } ?? [])
        f.directoryHashes = Set(doc["dirs"]?.array?.compactMap { $0.int.map { UInt64(UInt(bitPattern: $0)) } } ?? [])
        f.warnings = doc["warnings"]?.array?.compactMap(\.string) ?? []
        f.tarBytes = doc["tarBytes"]?.int ?? 0
        f.entries = doc["entries"]?.int ?? 0
        return f
    }
}
