// Java archives (maven): their metadata, names, purls and snyk identity, beside JavaArchiveCataloger.

/// Where in an archive a Java package was found, and what kind it is.
struct JavaMetadata: Equatable {
    /// The archive path, with `:`-separated nested archives and `:group:artifact` for a pom inside.
    var virtualPath: String?
    /// `jenkins-plugin` for Jenkins plugins.
    var type: String?
    /// The pom.properties path inside the archive.
    var pomProperties: String?
    /// The enclosing archive's package, `name@version`.
    var parent: String?
}

extension JavaMetadata: PackageMetadata {
    init(entries m: [String: String]) {
        self.init(virtualPath: m["virtualPath"], type: m["type"], pomProperties: m["pomProperties"], parent: m["parent"])
    }

    var entries: [String: String] {
        [String: String](metadata: ["virtualPath": virtualPath, "type": type, "pomProperties": pomProperties, "parent": parent])
    }
}

extension Ecosystem {
    public static let java = Ecosystem(JavaEcosystem.self)
}

enum JavaEcosystem: PackageEcosystem {
    static let id = "java"
    static var catalogers: [any Cataloger] { [JavaArchiveCataloger()] }
    static let purlType = "maven"
    static let syftType = "java-archive"
    static let syftLanguage: String? = "java"
    static let sourceKind = "java archive"
    static let snykType = "maven"

    /// The groupId as namespace (the name when unknown).
    static func purl(_ p: Package, os: OSRelease?) -> Purl {
        Purl(type: purlType, namespace: groupID(p) ?? p.name, name: p.name, version: p.version, spelling: .syft)
    }

    static func sbomGroup(_ p: Package) -> String? { groupID(p) }

    /// `groupId:artifactId`.
    static func snykName(_ p: Package) -> String { groupID(p).map { $0 + ":" + p.name } ?? p.qualifiedName }

    /// The outermost archive: the path up to the first archive extension that ends a path component (`/`,
    /// or `:`/`!` before a nested entry).
    static func snykTargetFile(_ p: Package) -> String {
        let path = p.location.path
        let bytes = Array(path.utf8).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        let separators: [UInt8] = [UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "!")]
        for end in 4..<max(4, bytes.count) where end + 1 == bytes.count || separators.contains(bytes[end + 1]) {
            if [".jar", ".war", ".ear", ".jpi", ".hpi"].contains(String(decoding: bytes[(end - 3)...end], as: UTF8.self)) {
                return String(decoding: Array(path.utf8)[...end], as: UTF8.self)
            }
        }
        return path
    }

    private static func groupID(_ p: Package) -> String? { p.namespace.nonEmpty }
}
