// Java archives (jar, war, ear, Jenkins plugins, ... as syft lists them), nested archives included
// (Spring Boot's BOOT-INF/lib/*.jar, WEB-INF/lib/*.jar): the archive's own package from its manifest,
// pom.properties and file name, plus one package per other pom.properties inside, by syft's
// java-archive-cataloger rules. Zip reading is guarded (ZipLimits).
import Core

/// Maven packages from Java archives and the archives nested in them (ecosystem `.java`).
public struct JavaArchiveCataloger: Cataloger {
    public let name = "java-archive"
    /// 2: hostile-input hardening (issue 8) changed what some damaged or crafted files yield.
    public let version = 2
    /// The guards of every zip read, nested archives included.
    public let limits: ZipLimits

    public init(limits: ZipLimits = ZipLimits()) { self.limits = limits }

    /// The largest MANIFEST.MF or pom.properties read.
    static let maxMetadataBytes = 1 << 20

    public func interest(in entry: CatalogEntry) -> CatalogInterest {
        Self.isArchiveName(entry.path) ? .whole : .none
    }

    /// syft's archive globs (`**/*.jar`, ... case-sensitive).
    static func isArchiveName(_ p: String) -> Bool {
        CatalogPath.hasSuffix(p, ".jar") || CatalogPath.hasSuffix(p, ".war") || CatalogPath.hasSuffix(p, ".ear")
            || CatalogPath.hasSuffix(p, ".jpi") || CatalogPath.hasSuffix(p, ".hpi") || CatalogPath.hasSuffix(p, ".par")
            || CatalogPath.hasSuffix(p, ".sar") || CatalogPath.hasSuffix(p, ".nar") || CatalogPath.hasSuffix(p, ".kar")
            || CatalogPath.hasSuffix(p, ".far") || CatalogPath.hasSuffix(p, ".lpkg") || CatalogPath.hasSuffix(p, ".rar")
            || CatalogPath.hasSuffix(p, ".zap")
    }

    public func catalog(_ file: CatalogFile) -> CatalogResult { catalogFile(file).capped(path: file.entry.path) }

    func catalogFile(_ file: CatalogFile) -> CatalogResult {
        var walk = ArchiveWalk(location: file.location, limits: limits, work: file.work)
        walk.visit(file.contents, virtualPath: file.entry.path, depth: 0, parent: nil)
        return CatalogResult(packages: walk.packages, warnings: walk.warnings.all)
    }
}

/// One top-level archive being read, with the budget its nested archives share.
struct ArchiveWalk {
    let location: PackageLocation
    let limits: ZipLimits
    let work: CatalogWork
    var budget: Int
    var packages: [Package] = []
    /// Each about the (nested) archive it names; an archive of many damaged entries keeps 50 of them.
    var warnings: CatalogWarnings

    init(location: PackageLocation, limits: ZipLimits, work: CatalogWork = CatalogWork()) {
        self.location = location
        warnings = CatalogWarnings(path: location.path, limit: 50)
        self.limits = limits
        self.work = work
        budget = limits.maxTotalInflatedBytes
    }

    /// The reads of one archive's entries: a sound zip stores each entry once, so no entry's data is read
    /// twice and the compressed bytes read add up to at most the archive's size. Crafted directories whose
    /// entries all point at one large entry (or overlap) are cut off, not read once per entry.
    struct EntryReads {
        var compressedBytesLeft: Int
        var offsetsRead: Set<Int> = []
        /// Entries skipped for sharing or overlapping data: the first is a warning, the rest a count.
        var skipped = 0

        init(archiveBytes: Int) { compressedBytesLeft = archiveBytes }
    }

    /// A package being assembled (syft's pkg.Package with JavaArchive metadata).
    struct JavaPackage {
        var name: String
        var version: String
        var virtualPath: String
        var manifest: JavaManifest?
        var pom: PomProperties?
        var jenkinsPluginByExtension = false

        var groupID: String { JavaGroupID.of(pom: pom, manifest: manifest) }
    }

    mutating func visit(_ contents: FileContents, virtualPath: String, depth: Int, parent: JavaPackage?) {
        if work.isStopped { return }
        var reads = EntryReads(archiveBytes: contents.count)
        defer { if reads.skipped > 1 { warn(virtualPath, "\(reads.skipped - 1) more entries sharing or overlapping other entries' data skipped") } }
        let zip: ZipArchive
        do {
            zip = try ZipArchive(contents, limits: limits, work: work)
        } catch {
            // Only the common Java extensions are surely zips; a `.rar` may well be a RAR.
            let ext = JavaArchiveFilename(String(virtualPath.split(separator: ":", omittingEmptySubsequences: false).last!), work: work).fileExtension
            if ["jar", "war", "ear", "jpi", "hpi"].contains(ext) || depth > 0 { warn(virtualPath, "not read: \(error.message)") }
            return
        }
        for w in zip.warnings { warn(virtualPath, w) }
        let files = zip.entries.filter { !$0.isDirectory }
        // syft names an archive by the last element of its virtual path (`outer.jar:lib/inner.jar`).
        let fileInfo = JavaArchiveFilename(String(virtualPath.split(separator: ":", omittingEmptySubsequences: false).last!), work: work)

        // All pom.properties (`**/*pom.properties`) with an artifactId and a version, by directory.
        // (In path order, so that of two in one directory the later wins, as in syft's map.)
        var byDir: [String: PomProperties] = [:]
        for e in files.filter({ ("/" + $0.name).hasSuffix("pom.properties") }).sorted(by: { $0.name.precedesInBytes($1.name) }) {
            guard let bytes = read(zip, e, virtualPath, max: JavaArchiveCataloger.maxMetadataBytes, &reads),
                  let pom = PomProperties(bytes, path: e.name), !pom.version.isEmpty, !pom.artifactId.isEmpty else { continue }
            byDir[SlashPath.directory(of: "/" + e.name)] = pom
        }
        let poms = byDir.keys.sorted { $0.precedesInBytes($1) }.map { (dir: $0, pom: byDir[$0]!) }

        var main: JavaPackage?
        if let m = files.first(where: { $0.name == "META-INF/MANIFEST.MF" || $0.name == "/META-INF/MANIFEST.MF" }),
           let bytes = read(zip, m, virtualPath, max: JavaArchiveCataloger.maxMetadataBytes, &reads) {
            let manifest = JavaManifest(bytes)
            // New Relic's instrumentation jars name the libraries they weave, not themselves.
            if !manifest.mainHas("Weave-Classes") {
                var name = "", version = ""
                let artifactIDs = Set(poms.map(\.pom.artifactId))
                if let best = poms.first(where: { Self.artifactIDMatchesFilename($0.pom.artifactId, fileInfo.name, artifactIDs) }) {
                    name = best.pom.artifactId
                    version = best.pom.version
                }
                if name.isEmpty { name = Self.selectName(manifest, fileInfo) }
                if version.isEmpty { version = Self.selectVersion(manifest, fileInfo) }
                main = JavaPackage(name: name, version: version, virtualPath: virtualPath, manifest: manifest,
                                   jenkinsPluginByExtension: ["jpi", "hpi"].contains(fileInfo.fileExtension))
            }
        }

        // Every pom.properties is a package, unless it describes the archive itself (then it refines it).
        var aux: [JavaPackage] = []
        if var m = main {
            // The archive's group ID reads its whole manifest: worked out again only when its pom changes.
            var mGroupID = JavaGroupID.of(pom: m.pom, manifest: m.manifest, work: work)
            for (_, pom) in poms {
                if work.count() { break }
                let parentKey = "\(mGroupID):\(m.name):\(m.version)"
                let pomKey = "\(pom.groupId):\(pom.artifactId):\(pom.version)"
                let p = JavaPackage(name: pom.artifactId, version: pom.version,
                                    virtualPath: parentKey == pomKey ? virtualPath : "\(virtualPath):\(pom.groupId):\(pom.artifactId)", pom: pom)
                if Self.sameIdentity(p, m, parentGroupID: mGroupID) {
                    m.name = p.name
                    m.version = p.version
                    if m.pom == nil {
                        m.pom = pom
                        mGroupID = JavaGroupID.of(pom: m.pom, manifest: m.manifest, work: work)
                    }
                } else {
                    aux.append(p)
                }
            }
            main = m
        }
        if let m = main { emit(m, parent: parent) }
        for p in aux { emit(p, parent: main) }

        // Archives inside, sorted by name, each read into memory within the limits.
        let nested = files.filter { JavaArchiveCataloger.isArchiveName("/" + $0.name) }.sorted { $0.name.precedesInBytes($1.name) }
        guard !nested.isEmpty else { return }
        guard depth < limits.maxNestingDepth else {
            warn(virtualPath, "\(nested.count) archive(s) inside not read: nested more than \(limits.maxNestingDepth) deep")
            return
        }
        for e in nested {
            guard let bytes = read(zip, e, virtualPath, max: limits.maxEntryBytes, &reads) else { continue }
            visit(.memory(bytes), virtualPath: "\(virtualPath):\(e.name)", depth: depth + 1, parent: main)
        }
    }

    private mutating func read(_ zip: ZipArchive, _ e: ZipEntry, _ virtualPath: String, max: Int, _ reads: inout EntryReads) -> [UInt8]? {
        if work.isStopped { return nil }
        guard reads.offsetsRead.insert(e.localHeaderOffset).inserted else {
            reads.skipped += 1
            if reads.skipped == 1 { warn(virtualPath, "entry \(e.name) skipped: its data is another entry's (read once only)") }
            return nil
        }
        guard e.compressedSize <= reads.compressedBytesLeft - 30 else {
            reads.skipped += 1
            if reads.skipped == 1 {
                warn(virtualPath, "entry \(e.name) skipped: entries overlap (reading it would read more than the archive's \(zip.contents.count) bytes)")
            }
            return nil
        }
        reads.compressedBytesLeft -= e.compressedSize + 30
        do {
            _ = work.count(30 + e.compressedSize)
            return try zip.read(e, maxBytes: max, limits: limits, budget: &budget)
        } catch {
            warn(virtualPath, "entry skipped: \(error.message)")
            return nil
        }
    }

    private mutating func warn(_ virtualPath: String, _ text: String) { warnings.add(text, about: virtualPath) }

    private mutating func emit(_ p: JavaPackage, parent: JavaPackage?) {
        guard !p.name.trimmedASCIIWhitespace.isEmpty, !p.version.trimmedASCIIWhitespace.isEmpty else { return }
        let group = p.groupID
        let namespace = group.isEmpty ? p.name : group
        var metadata = JavaMetadata(virtualPath: p.virtualPath)
        // syft looks for these two in the purl; made of letters, `.` and `-`, which the purl neither encodes nor
        // uses as separators, they are in it exactly when they are in its namespace, name or version.
        let purlNamesJenkins = [namespace, p.name, p.version].contains { $0.contains("io.jenkins.plugins") || $0.contains("org.jenkins-ci.plugins") }
        if p.jenkinsPluginByExtension || purlNamesJenkins || (p.pom.map(\.groupId).map(Self.isJenkinsGroup) ?? false) {
            metadata.type = "jenkins-plugin"
        }
        if let pom = p.pom, !pom.path.isEmpty { metadata.pomProperties = pom.path }
        if let parent, !parent.name.isEmpty { metadata.parent = "\(parent.name)@\(parent.version)" }
        packages.append(Package(ecosystem: .java, name: p.name, version: p.version, namespace: namespace, location: location, metadata: metadata))
    }

    /// syft's JavaPomProperties.PkgTypeIndicated.
    static func isJenkinsGroup(_ g: String) -> Bool {
        ["io.jenkins.plugins", "org.jenkins.plugins", "org.jenkins-ci.plugins", "io.jenkins-ci.plugins", "com.cloudbees.jenkins.plugins"]
            .contains { g.hasPrefix($0) } || g.contains(".jenkins.plugin")
    }

    /// syft's artifactIDMatchesFilename: exact when some pom.properties is named like the file, else a
    /// prefix or suffix match.
    static func artifactIDMatchesFilename(_ artifactID: String, _ fileName: String, _ all: Set<String>) -> Bool {
        guard !artifactID.isEmpty, !fileName.isEmpty else { return false }
        if all.contains(fileName) { return artifactID == fileName }
        return artifactID.hasPrefix(fileName) || fileName.hasSuffix(artifactID)
    }

    /// syft's packageIdentitiesMatch for a pom.properties package against the archive's own.
    static func sameIdentity(_ p: JavaPackage, _ parent: JavaPackage, parentGroupID: String? = nil) -> Bool {
        if "\(p.groupID)|\(p.name)|\(p.version)" == "\(parentGroupID ?? parent.groupID)|\(parent.name)|\(parent.version)" { return true }
        if p.virtualPath == parent.virtualPath { return true }
        return !(p.pom?.artifactId ?? "").isEmpty && parent.name == p.pom?.artifactId
    }

    /// syft's selectName: the Maven bundle plugin's symbolic name, then the file name, then manifest names.
    static func selectName(_ m: JavaManifest, _ file: JavaArchiveFilename) -> String {
        if m.mainValue("Created-By").contains("Apache Maven Bundle Plugin") {
            let symbolic = m.mainValue("Bundle-SymbolicName")
            if !symbolic.isEmpty {
                let vendorID = m.mainValue("Implementation-Vendor-Id")
                if vendorID.isEmpty || vendorID != symbolic {
                    return String(symbolic.split(separator: ".", omittingEmptySubsequences: false).last!)
                }
            }
        }
        let fromFile = file.nameForPackage
        if !fromFile.isEmpty { return fromFile }
        for key in ["Name", "Bundle-Name", "Short-Name", "Extension-Name", "Implementation-Title"] {
            let v = m.mainValue(key)
            if !v.isEmpty { return v }
        }
        return ""
    }

    /// syft's selectVersion: the file name's version, then manifest version attributes.
    static func selectVersion(_ m: JavaManifest, _ file: JavaArchiveFilename) -> String {
        if !file.version.isEmpty { return file.version }
        for key in ["Implementation-Version", "Specification-Version", "Plugin-Version", "Bundle-Version"] {
            let v = m.anyValue(key)
            if !v.isEmpty { return v }
        }
        return ""
    }
}
