// How reports name, type, identify and order packages (shared by every format).

extension Package {
    /// The name people know the package by: npm `@scope/name`, the Go module path, composer
    /// `vendor/name`; for maven the artifactId (its groupId stays in `namespace`).
    public var qualifiedName: String {
        // Catalogers may give the full name (`@scope/name` with namespace `@scope`) or just its last part.
        guard let ns = namespace, !ns.isEmpty, !name.hasPrefix(ns + "/") else { return name }
        switch ecosystem {
        case .npm: return (ns.hasPrefix("@") ? ns : "@" + ns) + "/" + name
        case .golang, .composer: return ns + "/" + name
        default: return name
        }
    }

    /// dpkg's Source package and version as the status file states them. The scanner fills `source` and
    /// `sourceVersion` in as dpkg-query does (the binary's own name and version when the Source field is
    /// absent or has no version); syft's `upstream` and snyk's `<source>/<name>` use only what the field
    /// says, which is exactly what differs from those defaults.
    var debSource: (name: String?, version: String?) {
        guard ecosystem == .deb, let s = metadata["source"], !s.isEmpty else { return (nil, nil) }
        let sv = metadata["sourceVersion"].flatMap { $0.isEmpty || $0 == version ? nil : $0 }
        if s == name && sv == nil { return (nil, nil) }
        return (s, sv)
    }

    /// Metadata keys reports do not copy into properties: `license` has fields of its own; `purl` is what
    /// the application catalogers used to put there (layer findings cached on disk before may still carry
    /// it): purls are made by `Purl(package:os:)` alone.
    static let reportedElsewhere: Set<String> = ["license", "purl"]

    /// syft's package type names (`syft:package:type`, the table's TYPE column).
    public var syftType: String {
        switch ecosystem {
        case .deb: return "deb"
        case .apk: return "apk"
        case .rpm: return "rpm"
        case .npm: return "npm"
        case .python: return "python"
        case .java: return "java-archive"
        case .golang: return "go-module"
        case .gem: return "gem"
        case .composer: return "php-composer"
        case .nuget: return "dotnet"
        case .cargo: return "rust-crate"
        }
    }

    /// syft's language names (`syft:package:language`); nil for OS packages.
    var syftLanguage: String? {
        switch ecosystem {
        case .deb, .apk, .rpm: return nil
        case .npm: return "javascript"
        case .python: return "python"
        case .java: return "java"
        case .golang: return "go"
        case .gem: return "ruby"
        case .composer: return "php"
        case .nuget: return "dotnet"
        case .cargo: return "rust"
        }
    }

    /// A 16-hex-digit id, stable across runs and unique per (ecosystem, namespace, name, version, location).
    var reportID: String {
        DocumentID.shortHash([ecosystem.rawValue, namespace ?? "", name, version, location.layerDigest, location.path].joined(separator: "\u{0}"))
    }

    /// The order every report lists packages in: name, version, type, path, layer (byte-wise, so it is
    /// the same on every machine).
    static func reportOrder(_ a: Package, _ b: Package) -> Bool {
        let ka = [a.qualifiedName, a.version, a.syftType, a.namespace ?? "", a.location.path, a.location.layerDigest]
        let kb = [b.qualifiedName, b.version, b.syftType, b.namespace ?? "", b.location.path, b.location.layerDigest]
        for (x, y) in zip(ka, kb) where x != y { return x.utf8.lexicographicallyPrecedes(y.utf8) }
        return false
    }
}

extension ImageInventory {
    /// Packages in report order.
    var sortedPackages: [Package] { packages.sorted(by: Package.reportOrder) }

    /// The config's diff_id for a layer's compressed digest (syft calls it the layer ID), when known.
    func diffID(forLayer digest: String) -> String? {
        guard let i = layerDigests.firstIndex(of: digest), i < diffIDs.count else { return nil }
        return diffIDs[i]
    }
}
