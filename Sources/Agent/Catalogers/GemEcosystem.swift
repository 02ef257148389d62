// Ruby gems: their metadata, purls and snyk identity, beside RubyGemspecCataloger.
import Core

/// What an installed gemspec says beyond name and version.
struct GemMetadata: Equatable {
    /// `s.licenses`, joined with `, `.
    var license: String?
}

extension GemMetadata: PackageMetadata {
    init(entries m: [String: String]) { self.init(license: m[MetadataKey.license]) }

    var entries: [String: String] { [String: String](metadata: [MetadataKey.license: license]) }
}

extension Ecosystem {
    public static let gem = Ecosystem(GemEcosystem.self)
}

enum GemEcosystem: PackageEcosystem {
    static let id = "gem"
    static var catalogers: [any Cataloger] { [RubyGemspecCataloger()] }
    static let purlType = "gem"
    static let syftType = "gem"
    static let syftLanguage: String? = "ruby"
    static let sourceKind = "installed gemspec file"
    static let snykType = "rubygems"

    static func purl(_ p: Package, os: OSRelease?) -> Purl { plainPurl(p) }

    /// The specifications directory the gemspec is in.
    static func snykTargetFile(_ p: Package) -> String { SlashPath.directory(of: p.location.path) }
}
