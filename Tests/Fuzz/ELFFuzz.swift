// Fuzz target `elf`: the Go binary cataloger (ELF headers, the build-info blob in both formats, module
// lines, build settings) over arbitrary bytes.
import AgentKit

enum ELFFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let cataloger = GoBinaryCataloger()
        let entry = CatalogEntry(path: "/usr/bin/fuzz", size: bytes.count, mode: 0o755)
        guard case .wholeIfPrefix(let prefix) = cataloger.interest(in: entry), bytes.starts(with: prefix) else { return }
        let result = cataloger.catalog(appFuzzFile(bytes, path: "/usr/bin/fuzz", mode: 0o755))
        fuzzCheck(result.warnings.count <= 1, "\(result.warnings.count) warnings for one binary")
        fuzzCheck(result.packages.count <= bytes.count / 8 + 2, "\(result.packages.count) packages from \(bytes.count) bytes")
        for p in result.packages {
            fuzzCheck(!p.name.isEmpty && !p.version.isEmpty, "package without a name or version: \(fuzzDescribe(data))")
            fuzzCheck(Purl(package: p, os: nil).description.hasPrefix("pkg:golang/"), "package \(p.name) without a golang purl")
        }
        let stdlib = result.packages.indices.filter { result.packages[$0].name == "stdlib" }
        fuzzCheck(stdlib.count <= 1 && stdlib.allSatisfy { $0 == result.packages.count - 1 }, "stdlib reported \(stdlib.count) times, or not last")
    }
}
