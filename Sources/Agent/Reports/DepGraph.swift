// A @snyk/dep-graph graph in its JSON form (schema 1.3.0): the shape createFromJSON accepts.
import Core

/// A flat dependency graph: the root package depends directly on every other package, as
/// snyk-docker-plugin's trees come out when no package lists its dependencies (and as its pnpm and Go
/// builders make them). Node ids are the package ids (`name@version`), which is what
/// `legacy.depTreeToGraph` shortens a node id to when a package has one node.
struct DepGraph {
    struct Pkg {
        let name: String
        let version: String?
        let purl: String?
        /// `DepGraphImpl.getPkgId`: `name@version`, with an empty version for none (made once: the
        /// graph sorts and writes by it).
        let id: String

        init(name: String, version: String?, purl: String?) {
            self.name = name
            self.version = version
            self.purl = purl
            id = name + "@" + (version ?? "")
        }
    }

    static let schemaVersion = "1.3.0"
    static let rootNodeID = "root-node"

    let pkgManager: String
    /// `<os id>:<version>` for OS graphs (`pkgManager.repositories[0].alias`).
    let repositoryAlias: String?
    let root: Pkg
    /// Dependencies; duplicates by id keep the first, and the graph lists them by id, byte-wise.
    let deps: [Pkg]

    init(pkgManager: String, repositoryAlias: String? = nil, root: Pkg, deps: [Pkg]) {
        self.pkgManager = pkgManager
        self.repositoryAlias = repositoryAlias
        self.root = root
        var seen: Set<String> = [root.id]
        var unique: [Pkg] = []
        for d in deps where seen.insert(d.id).inserted { unique.append(d) }
        self.deps = unique.sorted { $0.id.precedesInBytes($1.id) }
    }

    var json: JSON {
        var manager = JSONObject()
        manager.set("name", pkgManager)
        if let repositoryAlias { manager.set("repositories", .array([.object([("alias", .string(repositoryAlias))])])) }
        func info(_ p: Pkg) -> JSON {
            var o = JSONObject()
            o.set("name", p.name)
            o.set("version", p.version)
            o.set("purl", p.purl)
            return o.json
        }
        let pkgs: [JSON] = ([root] + deps).map { .object([("id", .string($0.id)), ("info", info($0))]) }
        var nodes: [JSON] = [.object([("nodeId", .string(DepGraph.rootNodeID)), ("pkgId", .string(root.id)),
                                      ("deps", .array(deps.map { .object([("nodeId", .string($0.id))]) }))])]
        nodes += deps.map { .object([("nodeId", .string($0.id)), ("pkgId", .string($0.id)), ("deps", .array([]))]) }
        return .object([
            ("schemaVersion", .string(DepGraph.schemaVersion)),
            ("pkgManager", manager.json),
            ("pkgs", .array(pkgs)),
            ("graph", .object([("rootNodeId", .string(DepGraph.rootNodeID)), ("nodes", .array(nodes))])),
        ])
    }
}
