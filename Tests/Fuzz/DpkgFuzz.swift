// Fuzz target `dpkg`: the status-file parser and the dpkg cataloger (both path kinds) over arbitrary bytes.
import AgentKit

enum DpkgFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        var warnings = CatalogWarnings(path: "/fuzz")
        let stanzas = DpkgStatusParser.parse(bytes, warnings: &warnings)
        fuzzCheck(warnings.all.count <= warnings.limit + 1, "\(warnings.all.count) warnings past the cap")
        fuzzCheck(stanzas.count <= bytes.count / 2 + 1, "\(stanzas.count) stanzas from \(bytes.count) bytes")
        for path in ["/var/lib/dpkg/status", "/var/lib/dpkg/status.d/fuzz"] {
            let result = DpkgCataloger().catalog(fuzzFile(bytes, path: path))
            fuzzCheck(result.packages.count <= stanzas.count, "\(result.packages.count) packages from \(stanzas.count) stanzas")
            for p in result.packages {
                fuzzCheck(!p.name.isEmpty && !p.version.isEmpty, "package without a name or version: \(fuzzDescribe(data))")
                fuzzCheck(p.metadata["source"].map { !$0.isEmpty } ?? false, "package \(p.name) without a source")
            }
        }
    }
}

/// A file as the layer scanner hands it to a cataloger, held in memory.
func fuzzFile(_ bytes: [UInt8], path: String) -> CatalogFile {
    CatalogFile(entry: CatalogEntry(path: path, size: bytes.count, mode: 0o644), layerDigest: "sha256:fuzz",
                contents: .memory(bytes))
}
