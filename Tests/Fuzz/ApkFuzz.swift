// Fuzz target `apk`: the apk cataloger over arbitrary bytes.
import AgentKit

enum ApkFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let result = ApkCataloger().catalog(fuzzFile(bytes, path: "/lib/apk/db/installed"))
        fuzzCheck(result.warnings.count <= 21, "\(result.warnings.count) warnings past the cap")
        for p in result.packages {
            fuzzCheck(!p.name.isEmpty && !p.version.isEmpty, "package without a name or version: \(fuzzDescribe(data))")
        }
    }
}
