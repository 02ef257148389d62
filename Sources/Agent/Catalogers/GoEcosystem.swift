// Go modules found in binaries: their metadata, names, purls and snyk identity, beside GoBinaryCataloger.

/// What a Go binary's build info says about a module.
struct GoMetadata: Equatable {
    /// The toolchain that built the binary (`go1.22.1`).
    var goVersion: String?
    /// The binary's main module path.
    var mainModule: String?
    /// The module's `h1:` checksum.
    var h1Digest: String?
    /// The `GOARCH` build setting, under the key every ecosystem uses for the architecture.
    var arch: String?
}

extension GoMetadata: PackageMetadata {
    init(entries m: [String: String]) {
        self.init(goVersion: m["goVersion"], mainModule: m["mainModule"], h1Digest: m["h1Digest"], arch: m[MetadataKey.arch])
    }

    var entries: [String: String] {
        [String: String](metadata: ["goVersion": goVersion, "mainModule": mainModule, "h1Digest": h1Digest, MetadataKey.arch: arch])
    }
}

extension Ecosystem {
    public static let golang = Ecosystem(GoEcosystem.self)
}

enum GoEcosystem: PackageEcosystem {
    static let id = "golang"
    static var catalogers: [any Cataloger] { [GoBinaryCataloger()] }
    static let purlType = "golang"
    static let syftType = "go-module"
    static let syftLanguage: String? = "go"
    static let sourceKind = "go module information"
    static let snykType = "gomodules"

    /// The module path.
    static func qualifiedName(_ p: Package) -> String { namespaced(p) ?? p.name }

    /// golang/package.go: the module path split at its last slash; stdlib_package.go: the standard
    /// library's purl version is the toolchain's without `go` (`go1.22.1` -> `1.22.1`).
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        let full = p.qualifiedName
        if full == "stdlib" {
            return Purl(type: purlType, name: full, version: p.version.hasPrefix("go") ? String(p.version.dropFirst(2)) : p.version,
                        spelling: .syft)
        }
        if let slash = full.lastIndex(of: "/"), slash > full.startIndex, full.index(after: slash) < full.endIndex {
            return Purl(type: purlType, namespace: String(full[..<slash]), name: String(full[full.index(after: slash)...]),
                        version: p.version, spelling: .syft)
        }
        return Purl(type: purlType, name: full, version: p.version, spelling: .syft)
    }
}
