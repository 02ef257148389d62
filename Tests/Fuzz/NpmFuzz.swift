// Fuzz target `npm`: the npm cataloger (strict JSON with a nesting limit, then the package rules) over
// arbitrary bytes; a package it reports must carry the JSON's own name and version strings.
import AgentKit
import Core

enum NpmFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let result = NpmCataloger().catalog(appFuzzFile(bytes, path: "/app/node_modules/x/package.json"))
        fuzzCheck(result.packages.count <= 1, "\(result.packages.count) packages from one package.json")
        fuzzCheck(result.warnings.count <= 1, "\(result.warnings.count) warnings from one package.json")
        fuzzCheck(result.packages.isEmpty || result.warnings.isEmpty, "a package and a warning")
        if let p = result.packages.first {
            let json = try? JSON.parse(bytes, maxDepth: 64)
            fuzzCheck(json?["name"]?.string == p.name && json?["version"]?.string == p.version,
                      "package \(p.name)@\(p.version) is not what the JSON says: \(fuzzDescribe(data))")
            fuzzCheck(Purl(package: p, os: nil).description.hasPrefix("pkg:npm/"), "no npm purl")
        }
    }
}
