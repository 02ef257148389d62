// Fuzz target `zip`: the Java archive cataloger (zip reader, manifest and pom.properties parsers, nested
// archives) over arbitrary bytes, with small limits so nesting and the guards are reached quickly.
import AgentKit

enum ZipFuzz {
    static let cataloger: JavaArchiveCataloger = {
        var limits = ZipLimits()
        limits.maxEntryBytes = 1 << 20
        limits.maxTotalInflatedBytes = 4 << 20
        return JavaArchiveCataloger(limits: limits)
    }()

    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let result = cataloger.catalog(appFuzzFile(bytes, path: "/app/fuzz-1.0.jar"))
        fuzzCheck(result.warnings.count <= 51, "\(result.warnings.count) warnings past the cap")
        for p in result.packages {
            fuzzCheck(!p.name.isEmpty && !p.version.isEmpty, "package without a name or version: \(fuzzDescribe(data))")
            fuzzCheck(Purl(package: p, os: nil).description.hasPrefix("pkg:maven/"), "package \(p.name) without a maven purl")
            fuzzCheck(p.location.path == "/app/fuzz-1.0.jar", "package located at \(p.location.path)")
        }
    }
}

/// A file as the layer scanner hands it to a cataloger, held in memory.
func appFuzzFile(_ bytes: [UInt8], path: String, mode: UInt32 = 0o644) -> CatalogFile {
    CatalogFile(entry: CatalogEntry(path: path, size: bytes.count, mode: mode), layerDigest: "sha256:fuzz", contents: .memory(bytes))
}
