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

/// snyk-docker-plugin's names for packages, as each package's ecosystem gives them.
enum SnykPackages {
    /// The OS package manager the plugin reports: the first of apk, deb, rpm with packages
    /// (lib/parser/index.ts takes the first analysis with results); `linux` when there are none.
    static func osManager(_ packages: [Package]) -> Ecosystem? {
        Set(packages.lazy.map(\.ecosystem).filter(\.isOSPackageManager)).min()
    }

    /// OS package name in the graph: `<source>/<name>` when dpkg's Source or apk's origin is known
    /// (lib/dependency-tree/index.ts `depFullName`), else the name.
    static func osName(_ p: Package) -> String { p.ecosystem.kind.snykName(p) }

    /// The purl the plugin attaches: deb (apt.ts `purl`) and rpm (rpm.ts `purl`); apk packages get none.
    static func osPurl(_ p: Package, os: SnykOS) -> String? { p.ecosystem.kind.snykPurl(p, os: os) }

    /// The identity type of an application result (the dep-graph's package manager).
    static func appType(_ e: Ecosystem) -> String { e.kind.snykType }

    /// An application package's name in its graph: maven `groupId:artifactId`, npm `@scope/name`, the Go
    /// module path, composer `vendor/name`, else the name.
    static func appName(_ p: Package) -> String { p.ecosystem.kind.snykName(p) }

    /// The file an application package belongs to, which the plugin makes one scan result of: npm the
    /// project's `package.json` (the directory above `node_modules`), Python the site-packages directory,
    /// Java the outermost archive, Ruby the specifications directory, Go/PHP/.NET/Rust the file itself.
    static func targetFile(_ p: Package) -> String { p.ecosystem.kind.snykTargetFile(p) }
}
