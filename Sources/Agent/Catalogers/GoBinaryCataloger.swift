// Go modules compiled into executables: the main module, every `dep` (with `=>` replacements) and the
// standard library (`stdlib` at the toolchain's version), named and versioned as syft's
// go-module-binary-cataloger names them. Reads ELF executables only (files with an exec bit).

/// Go modules and the standard library from the build info of ELF executables (ecosystem `.golang`).
public struct GoBinaryCataloger: Cataloger {
    public let name = "go-binary"
    /// 2: hostile-input hardening (issue 8) changed what some damaged or crafted files yield. 3: the
    /// architecture is under `arch`, as every ecosystem names it (was `architecture`).
    public let version = 3

    public init() {}

    static let elfMagic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        entry.mode & 0o111 != 0 && entry.size >= 64 ? .wholeIfPrefix(Self.elfMagic) : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        let info: GoBuildInfo?
        do {
            info = try GoBuildInfo.read(try ELFFile(file.contents, work: file.work), work: file.work)
        } catch {
            // Not every ELF file is well formed or ours to judge; only a Go binary we could not read is news.
            if error.kind == .io || error.message.hasPrefix("Go build info") {
                var warnings = CatalogWarnings(path: file.entry.path)
                warnings.add("Go build info unreadable: \(error.message)")
                return CatalogResult(warnings: warnings.all)
            }
            return CatalogResult()
        }
        guard let info else { return CatalogResult() }
        return CatalogResult(packages: Self.packages(info, location: file.location, work: file.work))
    }

    /// syft's rules: a missing main module is taken from the one `(devel)` dependency or made from `path`;
    /// a replaced module keeps its original path when the replacement is a directory; `(devel)` is no version.
    static func packages(_ info: GoBuildInfo, location: PackageLocation, work: CatalogWork = CatalogWork()) -> [Package] {
        var main = info.main
        var deps = info.deps
        if (main.isEmpty && !info.path.isEmpty) || main == GoModule(path: "command-line-arguments") {
            let devel = deps.indices.filter { deps[$0].version == "(devel)" }
            if devel.count == 1 {
                main = deps.remove(at: devel[0])
            } else {
                main = GoModule(path: info.path, version: "(devel)")
            }
        }
        let goVersion = String(info.goVersion.prefix { $0 != " " })
        let arch = info.setting("GOARCH")
        var found: [(name: String, version: String, sum: String)] = []
        for dep in deps where dep != main {
            let m = module(dep)
            if !m.name.isEmpty { found.append(m) }
        }
        if !main.isEmpty {
            if main.version == "(devel)" {
                main.version = GoMainModuleVersion.guess(ldflags: info.setting("-ldflags"), mainModule: main.path,
                                                         revision: info.setting("vcs.revision"), time: info.setting("vcs.time"), work: work) ?? ""
            }
            let m = module(main)
            if !m.name.isEmpty { found.insert(m, at: 0) }
        }
        var out: [Package] = []
        for m in found where !m.version.isEmpty {
            let metadata = GoMetadata(goVersion: goVersion, mainModule: main.path, h1Digest: m.sum.isEmpty ? nil : m.sum, arch: arch.nonEmpty)
            out.append(Package(ecosystem: .golang, name: m.name, version: m.version, namespace: namespace(m.name),
                               location: location, metadata: metadata))
        }
        // syft adds the toolchain's standard library for every binary it found modules in (its purl version
        // has no `go` prefix: `Purl(package:os:)`).
        if !found.isEmpty, goVersion.contains(where: \.isASCIIDigit) {
            out.append(Package(ecosystem: .golang, name: "stdlib", version: goVersion, location: location,
                               metadata: GoMetadata(goVersion: goVersion)))
        }
        return out
    }

    /// Name, version and checksum of a module as syft reports it.
    static func module(_ m: GoModule) -> (name: String, version: String, sum: String) {
        var name = m.path
        var effective = m
        if let r = m.replace.first {
            if !(r.path.hasPrefix(".") || r.path.hasPrefix("/")) { name = r.path }
            effective = r
        }
        return (name, effective.version == "(devel)" ? "" : effective.version, effective.sum)
    }

    /// `github.com/a/b` -> namespace `github.com/a` (the purl's namespace; its name is `b`).
    static func namespace(_ path: String) -> String? {
        guard let slash = path.lastIndex(of: "/"), slash > path.startIndex, path.index(after: slash) < path.endIndex else { return nil }
        return String(path[..<slash])
    }
}

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
}
