// snyk-docker-plugin's view of packages: OS identity, package names, purls, and application targets.

/// The OS as snyk-docker-plugin reports it (lib/analyzer/os-release/*): `ol` becomes `oracle` with its
/// major version, SLES versions get `.0`, a missing version is `unstable`, no OS at all is `unknown:0.0`.
struct SnykOS {
    let name: String
    let version: String
    let prettyName: String

    init(_ os: OSRelease?) {
        guard let os else { name = "unknown"; version = "0.0"; prettyName = ""; return }
        var name = os.id, version = os.versionID.isEmpty ? "unstable" : os.versionID
        if name == "ol" {
            name = "oracle"
            version = String(version.split(separator: ".").first ?? Substring(version))
        }
        if name == "sles", !version.contains(".") { version += ".0" }
        self.name = name
        self.version = version
        self.prettyName = os.prettyName
    }

    /// `pkgManager.repositories[0].alias` (dep-graph `legacy.depTreeToGraph`).
    var alias: String { "\(name):\(version)" }

    /// lib/analyzer/package-managers/apt.ts `debianCodenames`.
    static let debianCodenames = ["8": "jessie", "9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm",
                                  "13": "trixie", "unstable": "sid"]
}

enum SnykPackages {
    /// The OS package manager the plugin reports: the first of apk, deb, rpm with packages
    /// (lib/parser/index.ts takes the first analysis with results); `linux` when there are none.
    static func osManager(_ packages: [Package]) -> Ecosystem? {
        [Ecosystem.apk, .deb, .rpm].first { e in packages.contains { $0.ecosystem == e } }
    }

    /// OS package name in the graph: `<source>/<name>` when dpkg's Source or apk's origin is known
    /// (lib/dependency-tree/index.ts `depFullName`), else the name.
    static func osName(_ p: Package) -> String {
        let source = p.ecosystem == .deb ? p.debSource.name : p.ecosystem == .apk ? p.metadata["origin"] : nil
        if let source, !source.isEmpty { return source + "/" + p.name }
        return p.name
    }

    /// The purl the plugin attaches: deb (apt.ts `purl`) and rpm (rpm.ts `purl`); apk packages get none.
    static func osPurl(_ p: Package, os: SnykOS) -> String? {
        switch p.ecosystem {
        case .deb:
            let source = p.debSource
            let upstream = source.name.map { n in source.version.map { n + "@" + $0 } ?? n } ?? ""
            let distro = "\(os.name)-\(SnykOS.debianCodenames[os.version] ?? os.version)"
            return Purl(type: "deb", namespace: os.name, name: p.name, version: p.version,
                        qualifiers: [.init("upstream", upstream), .init("distro", distro)]).description
        case .rpm:
            var upstream = ""
            if let src = p.metadata["sourceRpm"], let s = sourceRPM(src) { upstream = "\(s.name)@\(s.version)-\(s.release)" }
            let epoch = RPMVersion.split(p.version, epoch: p.metadata["epoch"]).epoch ?? ""
            return Purl(type: "rpm", namespace: os.name, name: p.name, version: p.version,
                        qualifiers: [.init("upstream", upstream), .init("epoch", epoch), .init("distro", "\(os.name)-\(os.version)")]).description
        default:
            return nil
        }
    }

    /// rpm.ts `parseSourceRPM`: `name-version-release.src.rpm`.
    static func sourceRPM(_ s: String) -> (name: String, version: String, release: String)? {
        guard s.hasSuffix(".src.rpm") else { return nil }
        let base = s.dropLast(".src.rpm".count)
        guard let r = base.lastIndex(of: "-"), r > base.startIndex, base.index(after: r) < base.endIndex else { return nil }
        let nv = base[..<r]
        guard let v = nv.lastIndex(of: "-"), v > nv.startIndex, nv.index(after: v) < nv.endIndex else { return nil }
        return (String(nv[..<v]), String(nv[nv.index(after: v)...]), String(base[base.index(after: r)...]))
    }

    /// The identity type of an application result (the dep-graph's package manager).
    static func appType(_ e: Ecosystem) -> String {
        switch e {
        case .npm: return "npm"
        case .python: return "pip"
        case .java: return "maven"
        case .golang: return "gomodules"
        case .composer: return "composer"
        case .nuget: return "nuget"
        case .gem: return "rubygems"
        case .cargo: return "cargo"
        case .deb, .apk, .rpm: return e.rawValue
        }
    }

    /// An application package's name in its graph: maven `groupId:artifactId`, npm `@scope/name`, the Go
    /// module path, composer `vendor/name`, else the name.
    static func appName(_ p: Package) -> String {
        if p.ecosystem == .java, let g = p.namespace, !g.isEmpty { return g + ":" + p.name }
        return p.qualifiedName
    }

    /// The file an application package belongs to, which the plugin makes one scan result of: npm the
    /// project's `package.json` (the directory above `node_modules`), Python the site-packages directory,
    /// Java the outermost archive, Ruby the specifications directory, Go/PHP/.NET/Rust the file itself.
    static func targetFile(_ p: Package) -> String {
        let path = p.location.path
        switch p.ecosystem {
        case .npm:
            if let r = path.range(of: "/node_modules/") { return String(path[..<r.lowerBound]) + "/package.json" }
            return path
        case .python:
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            if let i = parts.lastIndex(where: { $0.hasSuffix(".dist-info") || $0.hasSuffix(".egg-info") }) {
                return i <= 1 ? "/" : parts[..<i].joined(separator: "/")
            }
            return dirname(path)
        case .java:
            // The first archive extension that ends a path component (`/`, or `:`/`!` before a nested entry).
            let bytes = Array(path.utf8).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            let separators: [UInt8] = [UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "!")]
            for end in 4..<max(4, bytes.count) where end + 1 == bytes.count || separators.contains(bytes[end + 1]) {
                if [".jar", ".war", ".ear", ".jpi", ".hpi"].contains(String(decoding: bytes[(end - 3)...end], as: UTF8.self)) {
                    return String(decoding: Array(path.utf8)[...end], as: UTF8.self)
                }
            }
            return path
        case .gem:
            return dirname(path)
        default:
            return path
        }
    }

    static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
