// .NET packages from `*.deps.json`, by the rules of syft's dotnet-deps-binary-cataloger with its default
// configuration, applied to the deps.json alone: every `Name/Version` under `targets`, less project
// references, bare reference assemblies, and packages that neither claim a DLL nor depend on one that does.
import Core

/// .NET packages from `*.deps.json` by syft's rules (ecosystem `.nuget`).
public struct DotNetDepsCataloger: Cataloger {
    public let name = "nuget"
    public let version = 1

    public init() {}

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        CatalogPath.hasSuffix(entry.path, ".deps.json") ? .whole : .none
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var warnings = CatalogWarnings(path: file.entry.path)
        guard let json = ApplicationCatalogers.manifestJSON(file, kind: "deps.json", warnings: &warnings) else {
            return CatalogResult(warnings: warnings.all)
        }
        guard json.object != nil else {
            warnings.add("deps.json is not a JSON object")
            return CatalogResult(warnings: warnings.all)
        }
        let rootName = String(SlashPath.baseName(of: file.entry.path).dropLast(".deps.json".count))
        let packages = Self.select(DepsDocument(json, work: file.work), rootName: rootName, work: file.work).map { lib in
            let (name, version) = Self.split(lib.key)
            let metadata = NuGetMetadata(type: (lib.library?.type).nonEmpty, path: (lib.library?.path).nonEmpty, sha512: (lib.library?.sha512).nonEmpty)
            return Package(ecosystem: .nuget, name: name, version: version, location: file.location, metadata: metadata)
        }
        return CatalogResult(packages: packages.filter { !$0.name.isEmpty && !$0.version.isEmpty })
    }

    /// The libraries syft reports, root project first, then by `Name/Version`.
    static func select(_ doc: DepsDocument, rootName: String, work: CatalogWork = CatalogWork()) -> [DepsDocument.Entry] {
        var out: [DepsDocument.Entry] = []
        var rootKey: String?
        if !rootName.isEmpty, let root = doc.entries.values.sorted(by: { $0.key < $1.key })
            .first(where: { $0.library?.type == "project" && split($0.key).name == rootName }) {
            out.append(root)
            rootKey = root.key
        }
        let bundling = doc.entries.keys.contains { knownBundlers.contains(split($0).name) }
        let claiming = bundling ? [] : doc.claimingDLLs(work: work)
        for key in doc.entries.keys.sorted() where key != rootKey {
            if work.count() { break }
            let e = doc.entries[key]!
            if let root = rootKey, split(key) == split(root) { continue }
            if let lib = e.library, lib.type == "referenceassembly", lib.sha512.isEmpty, lib.path.isEmpty { continue }
            if e.library?.type == "project" { continue }
            if !bundling, !claiming.contains(key) { continue }
            out.append(e)
        }
        return out
    }

    /// `Name/Version` -> (Name, Version); the version is empty without a slash.
    static func split(_ key: String) -> (name: String, version: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }

    /// IL mergers and packers: with one of them in the file, packages need not claim a DLL (syft's list).
    static let knownBundlers: Set<String> = [
        "ILRepack.Lib.MSBuild.Task", "ILRepack.Lib", "ILRepack.Lib.MSBuild", "ILRepack.Lib.NET", "ILRepack.NETStandard",
        "ILRepack.FullAuto", "ILMerge", "JetBrains.Build.ILRepack", "PostSharp.Community.Packer", "Brokenevent.ILStrip",
        "Brokenevent.ILStrip.CLI", "Costura.Fody", "Fody",
    ]
}

/// The parts of a deps.json the selection needs: each `Name/Version` of every target merged.
struct DepsDocument {
    struct Library {
        var type = "", path = "", sha512 = ""
    }

    struct Entry {
        let key: String
        var library: Library?
        /// Whether some target lists runtime, resource, compile or native files for it.
        var claimsFiles = false
        /// `Name/Version` keys of its dependencies, over all targets.
        var dependencies: [String] = []
    }

    var entries: [String: Entry] = [:]

    init(_ json: JSON, work: CatalogWork = CatalogWork()) {
        var libraries: [String: Library] = [:]
        for (key, value) in json["libraries"]?.object ?? [] {
            libraries[key] = Library(type: value["type"]?.string ?? "", path: value["path"]?.string ?? "", sha512: value["sha512"]?.string ?? "")
        }
        for (_, target) in json["targets"]?.object ?? [] {
            for (key, value) in target.object ?? [] {
                if work.count() { return }
                // Taken out while it grows, so its dependency list is appended to in place, not copied.
                var e = entries.removeValue(forKey: key) ?? Entry(key: key, library: libraries[key])
                for section in ["runtime", "resources", "compile", "native"] where !(value[section]?.object ?? []).isEmpty {
                    e.claimsFiles = true
                }
                for (depName, depVersion) in value["dependencies"]?.object ?? [] {
                    e.dependencies.append("\(depName)/\(depVersion.string ?? "")")
                    _ = work.count()
                }
                entries[key] = e
            }
        }
    }

    /// Every library that claims a DLL or depends on one that does, transitively: one walk backwards along
    /// the dependency edges from the claiming libraries, each library and edge visited once (asking
    /// `claimsDLLs` of each library in turn would walk the graph once per library).
    func claimingDLLs(work: CatalogWork = CatalogWork()) -> Set<String> {
        var dependents: [String: [String]] = [:]
        for (key, e) in entries {
            for d in e.dependencies where entries[d] != nil {
                dependents[d, default: []].append(key)
                _ = work.count()
            }
        }
        var found = Set(entries.values.filter(\.claimsFiles).map(\.key))
        var stack = Array(found)
        while let k = stack.popLast() {
            if work.count() { break }
            for parent in dependents[k] ?? [] where found.insert(parent).inserted { stack.append(parent) }
        }
        return found
    }

    /// Whether the library or anything it depends on, transitively, claims a DLL.
    func claimsDLLs(_ key: String) -> Bool {
        var visited: Set<String> = []
        var stack = [key]
        while let k = stack.popLast() {
            guard visited.insert(k).inserted, let e = entries[k] else { continue }
            if e.claimsFiles { return true }
            stack.append(contentsOf: e.dependencies)
        }
        return false
    }
}
