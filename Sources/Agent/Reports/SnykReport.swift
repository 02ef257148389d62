// The snyk-docker-plugin scan result: one result for the OS packages, one per application target.
import Core

/// Writes `{"scanResults":[...]}` as snyk-docker-plugin's lib/response-builder.ts builds it: the OS result
/// (identity `deb`/`apk`/`rpm`/`linux`, `args.platform`) with the image facts, then one result per
/// application target (identity type and `targetFile`). Every depGraph is flat; see docs/reports.md.
public enum SnykReport {
    public static func render(_ inventory: ImageInventory, options: ReportOptions) -> [UInt8] {
        document(inventory).bytes(pretty: options.prettyJSON ?? false)
    }

    public static func document(_ inv: ImageInventory) -> JSON {
        let root = rootPackage(reference: inv.reference)
        let target: JSON = .object([("image", .string(root.name))])
        var shared: [JSON] = []
        if !inv.imageID.isEmpty { shared.append(fact("imageId", .string(inv.imageID))) }
        let names = imageNames(inv)
        let namesFact = names.isEmpty ? nil : fact("imageNames", .object([("names", .array(names.map(JSON.string)))]))
        let oci = ociDistributionMetadata(inv).map { fact("ociDistributionMetadata", $0) }

        // The OS result.
        let os = SnykOS(inv.os)
        let manager = SnykPackages.osManager(inv.packages)
        let osPackages = inv.sortedPackages.filter { $0.ecosystem == manager }
        let graph = DepGraph(pkgManager: manager?.rawValue ?? "linux", repositoryAlias: os.alias, root: root,
                             deps: osPackages.map { .init(name: SnykPackages.osName($0), version: $0.version, purl: SnykPackages.osPurl($0, os: os)) })
        var facts = [fact("depGraph", graph.json)] + shared
        if !inv.layerDigests.isEmpty { facts.append(fact("imageLayers", .array(inv.layerDigests.map(JSON.string)))) }
        let config = inv.config
        if let labels = config.containerConfig?["Labels"], labels.object != nil { facts.append(fact("imageLabels", labels)) }
        if let c = config.containerConfig, c.object != nil { facts.append(fact("containerConfig", containerConfig(c))) }
        if !config.history.isEmpty { facts.append(fact("history", .array(config.history.map(historyEntry)))) }
        if let created = config.created, !created.isEmpty { facts.append(fact("imageCreationTime", .string(created))) }
        if !inv.diffIDs.isEmpty { facts.append(fact("rootFs", .array(inv.diffIDs.map(JSON.string)))) }
        if !os.prettyName.isEmpty { facts.append(fact("imageOsReleasePrettyName", .string(os.prettyName))) }
        if let namesFact { facts.append(namesFact) }
        if let oci { facts.append(oci) }
        let platform = self.platform(inv)
        facts.append(fact("platform", .string(platform)))
        facts.append(fact("imageSizeBytes", .int(inv.imageSizeBytes)))
        var results: [JSON] = [.object([
            ("facts", .array(facts)), ("target", target),
            ("identity", .object([("type", .string(graph.pkgManager)), ("args", .object([("platform", .string(platform))]))])),
        ])]

        // One result per application target.
        var groups: [String: [Package]] = [:]
        var order: [String] = []
        for p in inv.sortedPackages where !p.ecosystem.isOSPackageManager {
            let key = SnykPackages.appType(p.ecosystem) + "\u{0}" + SnykPackages.targetFile(p)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(p)
        }
        for key in order.sorted(by: { $0.precedesInBytes($1) }) {
            let packages = groups[key]!
            let ecosystem = packages[0].ecosystem.kind
            let type = ecosystem.snykType
            let targetFile = ecosystem.snykTargetFile(packages[0])
            // A project's own manifest (npm's package.json) is the graph's root, as snyk-resolve-deps makes it.
            let own = packages.first { ecosystem.isSnykProjectRoot($0, targetFile: targetFile) }
            let appRoot = own.map { DepGraph.Pkg(name: SnykPackages.appName($0), version: $0.version, purl: nil) }
                ?? DepGraph.Pkg(name: targetFile, version: nil, purl: nil)
            let deps = packages.filter { $0 != own }.map { DepGraph.Pkg(name: SnykPackages.appName($0), version: $0.version, purl: nil) }
            let g = DepGraph(pkgManager: type, root: appRoot, deps: deps)
            var appFacts = [fact("depGraph", g.json)]
            if let tested = ecosystem.snykTestedFiles(targetFile: targetFile) { appFacts.append(fact("testedFiles", tested)) }
            appFacts += shared
            if let namesFact { appFacts.append(namesFact) }
            if let oci { appFacts.append(oci) }
            results.append(.object([
                ("facts", .array(appFacts)), ("target", target),
                ("identity", .object([("type", .string(type)), ("targetFile", .string(targetFile))])),
            ]))
        }
        return .object([("scanResults", .array(results))])
    }

    static func fact(_ type: String, _ data: JSON) -> JSON { .object([("type", .string(type)), ("data", data)]) }

    /// lib/dependency-tree/index.ts `buildTree`: `docker-image|<name>` and the tag, split at the last colon
    /// when the reference has one anywhere; no version for `.tar` names and `@sha256` digests.
    static func rootPackage(reference ref: String) -> DepGraph.Pkg {
        var name = ref, version = "latest"
        if let colon = ref.lastIndex(of: ":") {
            name = String(ref[..<colon])
            version = String(ref[ref.index(after: colon)...])
        }
        if name.hasSuffix(".tar") { version = "" }
        if name.hasSuffix("@sha256") { name = String(name.dropLast("@sha256".count)); version = "" }
        return DepGraph.Pkg(name: "docker-image|" + name, version: version.isEmpty ? nil : version, purl: nil)
    }

    /// lib/extractor/index.ts `getPlatformFromConfig`: the config's `os/architecture` (no variant).
    static func platform(_ inv: ImageInventory) -> String {
        let os = inv.config.os.isEmpty ? inv.platform.os : inv.config.os
        let arch = inv.config.architecture.isEmpty ? inv.platform.architecture : inv.config.architecture
        return "\(os)/\(arch)"
    }

    /// lib/extractor/image.ts `getAllNames`: `name:tag` and `name@<manifest digest>`.
    static func imageNames(_ inv: ImageInventory) -> [String] {
        let n = ImageName(inv.reference)
        var out: [String] = []
        if let tag = n.tag { out.append(n.name + ":" + tag) }
        if let d = inv.manifestDigest ?? n.digest { out.append(n.name + "@" + d) }
        return out
    }

    /// lib/extractor/oci-distribution-metadata.ts: registry host, repository, manifest digest, tag.
    static func ociDistributionMetadata(_ inv: ImageInventory) -> JSON? {
        let n = ImageName(inv.reference)
        guard !n.isLocal, let host = n.host, !n.repository.isEmpty, host.utf8.count <= 255, n.repository.utf8.count <= 2048,
              let digest = inv.manifestDigest, isSHA256(digest) else { return nil }
        var o = JSONObject()
        o.set("registryHost", host)
        o.set("repository", n.repository)
        o.set("manifestDigest", digest)
        if let tag = n.tag, tag.utf8.count <= 128 { o.set("imageTag", tag) }
        return o.json
    }

    static func isSHA256(_ d: String) -> Bool {
        d.hasPrefix("sha256:") && d.utf8.count == 71 && d.utf8.dropFirst(7).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// response-builder.ts: the config keys it copies, renamed, each only when the config has it.
    static func containerConfig(_ c: JSON) -> JSON {
        var o = JSONObject()
        func keys(_ v: JSON) -> JSON { v.object.map { .array($0.map { .string($0.0) }) } ?? .null }
        o.set("user", c["User"])
        o.set("exposedPorts", c["ExposedPorts"].map(keys))
        o.set("env", c["Env"])
        o.set("entrypoint", c["Entrypoint"])
        o.set("cmd", c["Cmd"])
        o.set("volumes", c["Volumes"].map(keys))
        o.set("workingDir", c["WorkingDir"])
        o.set("stopSignal", c["StopSignal"])
        o.set("argsEscaped", c["ArgsEscaped"])
        return o.json
    }

    static func historyEntry(_ h: JSON) -> JSON {
        var o = JSONObject()
        o.set("created", h["created"])
        o.set("author", h["author"])
        o.set("createdBy", h["created_by"])
        o.set("comment", h["comment"])
        o.set("emptyLayer", h["empty_layer"])
        return o.json
    }
}
