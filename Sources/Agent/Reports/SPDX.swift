// SPDX 2.3 JSON: the image as the described package, which CONTAINS every package and the OS.
import Core

/// Writes an SPDX 2.3 document in syft's shape (syft/format/common/spdxhelpers): packages with
/// NOASSERTION where nothing is known, a PACKAGE-MANAGER purl reference, the image package as
/// `SPDXRef-DocumentRoot-Image-<name>`; licenses that are not SPDX expressions over known ids become
/// `LicenseRef-*` with their text in `hasExtractedLicensingInfos`.
public enum SPDXReport {
    public static let spdxVersion = "SPDX-2.3"

    public static func render(_ inventory: ImageInventory, options: ReportOptions) -> [UInt8] {
        document(inventory, options: options).bytes(pretty: options.prettyJSON ?? true)
    }

    public static func document(_ inv: ImageInventory, options: ReportOptions) -> JSON {
        let n = ImageName(inv.reference)
        let imageName = n.name.isEmpty ? inv.reference : n.name
        var ids = Set<String>()
        func uniqueID(_ raw: String) -> String {
            let base = "SPDXRef-" + sanitize(raw)
            var id = base, i = 2
            while !ids.insert(id).inserted { id = "\(base)-\(i)"; i += 1 }
            return id
        }
        var licenseRefs: [String: String] = [:]   // raw text -> LicenseRef id
        var refTexts: [(String, String)] = []
        func declared(_ raw: String?) -> String {
            guard let raw, !raw.isEmpty else { return "NOASSERTION" }
            if let e = SPDXLicense.expression(raw) { return e }
            if let id = licenseRefs[raw] { return id }
            let base = "LicenseRef-" + licenseRefName(raw)
            var id = base, i = 2
            while refTexts.contains(where: { $0.0 == id }) { id = "\(base)-\(i)"; i += 1 }
            licenseRefs[raw] = id
            refTexts.append((id, raw))
            return id
        }

        let rootID = uniqueID("DocumentRoot-Image-" + imageName)
        var packages: [JSON] = []
        var contained: [String] = []
        for p in inv.sortedPackages {
            let id = uniqueID("Package-\(p.syftType)-\(p.qualifiedName)-\(p.reportID)")
            contained.append(id)
            var o = JSONObject()
            o.set("name", p.qualifiedName)
            o.set("SPDXID", id)
            o.set("versionInfo", p.version)
            o.set("supplier", "NOASSERTION")
            o.set("downloadLocation", "NOASSERTION")
            o.set("filesAnalyzed", .bool(false))
            var source = "acquired package info from \(sourceKind(p)): \(p.location.path)"
            if let layer = inv.diffID(forLayer: p.location.layerDigest) ?? (p.location.layerDigest.isEmpty ? nil : p.location.layerDigest) {
                source += " (layer \(layer))"
            }
            o.set("sourceInfo", source)
            o.set("licenseConcluded", "NOASSERTION")
            o.set("licenseDeclared", declared(p.metadata[MetadataKey.license]))
            o.set("copyrightText", "NOASSERTION")
            o.set("externalRefs", .array([externalRef(Purl(package: p, os: inv.os).description)]))
            packages.append(o.json)
        }
        if let os = inv.os, !os.id.isEmpty {
            let id = uniqueID("OperatingSystem-\(os.id)-\(os.versionID)")
            contained.append(id)
            var o = JSONObject()
            o.set("name", os.id)
            o.set("SPDXID", id)
            o.set("versionInfo", os.versionID.isEmpty ? nil : os.versionID)
            o.set("supplier", "NOASSERTION")
            o.set("downloadLocation", "NOASSERTION")
            o.set("filesAnalyzed", .bool(false))
            o.set("licenseConcluded", "NOASSERTION")
            o.set("licenseDeclared", "NOASSERTION")
            o.set("copyrightText", "NOASSERTION")
            o.set("description", os.prettyName.isEmpty ? nil : os.prettyName)
            o.set("primaryPackagePurpose", "OPERATING-SYSTEM")
            packages.append(o.json)
        }
        var root = JSONObject()
        root.set("name", imageName)
        root.set("SPDXID", rootID)
        root.set("versionInfo", inv.manifestDigest ?? inv.imageID)
        root.set("supplier", "NOASSERTION")
        root.set("downloadLocation", "NOASSERTION")
        root.set("filesAnalyzed", .bool(false))
        if let d = inv.manifestDigest, d.hasPrefix("sha256:") {
            root.set("checksums", .array([.object([("algorithm", .string("SHA256")), ("checksumValue", .string(String(d.dropFirst(7))))])]))
        }
        root.set("licenseConcluded", "NOASSERTION")
        root.set("licenseDeclared", "NOASSERTION")
        root.set("copyrightText", "NOASSERTION")
        if let purl = n.ociPurl(manifestDigest: inv.manifestDigest, architecture: inv.platform.architecture) {
            root.set("externalRefs", .array([externalRef(purl.description)]))
        }
        root.set("primaryPackagePurpose", "CONTAINER")
        packages.append(root.json)

        let relationships: [JSON] = contained.map { relationship(rootID, $0, "CONTAINS") } + [relationship("SPDXRef-DOCUMENT", rootID, "DESCRIBES")]
        var body: [(String, JSON)] = [("packages", .array(packages)), ("relationships", .array(relationships))]
        if !refTexts.isEmpty {
            body.append(("hasExtractedLicensingInfos", .array(refTexts.map {
                .object([("licenseId", .string($0.0)), ("extractedText", .string($0.1)), ("name", .string($0.1))])
            })))
        }
        let creation: JSON = .object([
            ("creators", .array([.string("Tool: \(options.toolName)-\(options.toolVersion)")])),
            ("created", .string(options.createdTimestamp)),
        ])
        let seed = options.reproducible
            ? Array(("spdx\n\(options.created)\n\(imageName)\n" + JSON.object([("creationInfo", creation)] + body).serialized).utf8) : nil
        let namespace = "\(options.spdxNamespaceBase)/image/\(sanitize(imageName))-\(DocumentID.uuid(seed: seed))"
        return .object([
            ("spdxVersion", .string(spdxVersion)),
            ("dataLicense", .string("CC0-1.0")),
            ("SPDXID", .string("SPDXRef-DOCUMENT")),
            ("name", .string(imageName)),
            ("documentNamespace", .string(namespace)),
            ("creationInfo", creation),
        ] + body)
    }

    /// SPDX ids and LicenseRefs allow letters, digits, `.` and `-`; everything else becomes `-`.
    static func sanitize(_ s: String) -> String {
        String(s.unicodeScalars.map { u -> Character in
            u.isASCII && (u.properties.isAlphabetic || ("0"..."9").contains(u) || u == "." || u == "-") ? Character(u) : "-"
        })
    }

    /// A LicenseRef idstring for free text: sanitized, runs of `-` collapsed, no `-` at either end.
    static func licenseRefName(_ raw: String) -> String {
        let parts = sanitize(raw).split(separator: "-", omittingEmptySubsequences: true)
        return parts.isEmpty ? "unknown" : parts.joined(separator: "-")
    }

    static func externalRef(_ purl: String) -> JSON {
        .object([("referenceCategory", .string("PACKAGE-MANAGER")), ("referenceType", .string("purl")), ("referenceLocator", .string(purl))])
    }

    static func relationship(_ a: String, _ b: String, _ type: String) -> JSON {
        .object([("spdxElementId", .string(a)), ("relatedSpdxElement", .string(b)), ("relationshipType", .string(type))])
    }

    /// What the package was read from, in syft's words where it has them.
    static func sourceKind(_ p: Package) -> String { p.ecosystem.kind.sourceKind }
}
