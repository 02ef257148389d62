// .NET (NuGet) packages: their metadata, purls and snyk identity, beside DotNetDepsCataloger.
import Core

/// What a deps.json library entry says beyond name and version.
struct NuGetMetadata: Equatable {
    /// `project` or `package`.
    var type: String?
    var path: String?
    var sha512: String?
}

extension NuGetMetadata: PackageMetadata {
    init(entries m: [String: String]) { self.init(type: m["type"], path: m["path"], sha512: m["sha512"]) }

    var entries: [String: String] { [String: String](metadata: ["type": type, "path": path, "sha512": sha512]) }
}

extension Ecosystem {
    public static let nuget = Ecosystem(NuGetEcosystem.self)
}

enum NuGetEcosystem: PackageEcosystem {
    static let id = "nuget"
    static var catalogers: [any Cataloger] { [DotNetDepsCataloger()] }
    static let purlType = "nuget"
    static let syftType = "dotnet"
    static let syftLanguage: String? = "dotnet"
    static let sourceKind = "dotnet project assets file"
    static let snykType = "nuget"

    static func purl(_ p: Package, os: OSRelease?) -> Purl { plainPurl(p) }

    /// The plugin names the file it read.
    static func snykTestedFiles(targetFile: String) -> JSON? { .array([.string(targetFile.split(separator: "/").last.map(String.init) ?? targetFile)]) }
}
