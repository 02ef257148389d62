// CycloneDX 1.5 JSON: the image as metadata component, one library component per package, the OS.
import Core

/// Writes a CycloneDX 1.5 BOM in syft's conventions (syft/format/common/cyclonedxhelpers): components
/// carry `syft:package:*` and `syft:location:N:*` properties so syft and grype can read them back, the
/// bom-ref is the purl with a `package-id` qualifier, and the OS is an `operating-system` component.
public enum CycloneDXReport {
    public static let specVersion = "1.5"

    public static func render(_ inventory: ImageInventory, options: ReportOptions) -> [UInt8] {
        document(inventory, options: options).bytes(pretty: options.prettyJSON ?? true)
    }

    public static func document(_ inv: ImageInventory, options: ReportOptions) -> JSON {
        let components = inv.sortedPackages.map { component($0, inv) } + osComponent(inv.os)
        var metadata = JSONObject()
        metadata.set("timestamp", options.createdTimestamp)
        metadata.set("tools", .object([("components", .array([.object([
            ("type", .string("application")), ("name", .string(options.toolName)), ("version", .string(options.toolVersion)),
        ])]))]))
        metadata.set("component", imageComponent(inv))
        var props: [(String, String)] = [("cr-agent:image:platform", inv.platform.description)]
        props += inv.config.labels.sorted { $0.key.precedesInBytes($1.key) }.map { ("syft:image:labels:\($0.key)", $0.value) }
        metadata.set("properties", properties(props))
        // The serial number is derived from everything else when the document must be reproducible.
        let body: [(String, JSON)] = [("metadata", metadata.json), ("components", .array(components))]
        let seed = options.reproducible ? Array(("cyclonedx\n\(options.created)\n" + JSON.object(body).serialized).utf8) : nil
        return .object([
            ("$schema", .string("http://cyclonedx.org/schema/bom-1.5.schema.json")),
            ("bomFormat", .string("CycloneDX")),
            ("specVersion", .string(specVersion)),
            ("serialNumber", .string("urn:uuid:" + DocumentID.uuid(seed: seed))),
            ("version", .int(1)),
        ] + body)
    }

    static func component(_ p: Package, _ inv: ImageInventory) -> JSON {
        let purl = Purl(package: p, os: inv.os)
        var ref = purl
        ref.qualifiers.append(.init("package-id", p.reportID))
        var o = JSONObject()
        o.set("bom-ref", ref.description)
        o.set("type", "library")
        o.set("group", p.ecosystem.kind.sbomGroup(p))
        o.set("name", p.qualifiedName)
        o.set("version", p.version)
        if let raw = p.metadata[MetadataKey.license], !raw.isEmpty {
            if let e = SPDXLicense.expression(raw) {
                o.set("licenses", .array([SPDXLicense.isSingleID(e) ? .object([("license", .object([("id", .string(e))]))])
                                                                  : .object([("expression", .string(e))])]))
            } else {
                o.set("licenses", .array([.object([("license", .object([("name", .string(raw))]))])]))
            }
        }
        o.set("purl", purl.description)
        var props: [(String, String)] = []
        if let lang = p.syftLanguage { props.append(("syft:package:language", lang)) }
        props.append(("syft:package:type", p.syftType))
        if let layer = inv.diffID(forLayer: p.location.layerDigest) { props.append(("syft:location:0:layerID", layer)) }
        props.append(("syft:location:0:path", p.location.path))
        props += p.metadata.filter { !Package.reportedElsewhere.contains($0.key) && !$0.value.isEmpty }
            .sorted { $0.key.precedesInBytes($1.key) }.map { ("cr-agent:metadata:\($0.key)", $0.value) }
        o.set("properties", properties(props))
        return o.json
    }

    /// The image: `container`, named without tag or digest, versioned by the manifest digest (else the
    /// image ID), with the purl-spec `oci` purl when the manifest digest is known; its bom-ref is the image ID.
    static func imageComponent(_ inv: ImageInventory) -> JSON {
        let n = ImageName(inv.reference)
        let purl = n.ociPurl(manifestDigest: inv.manifestDigest, architecture: inv.platform.architecture)
        var o = JSONObject()
        o.set("bom-ref", inv.imageID.isEmpty ? "image" : inv.imageID)   // syft reads it back as the image ID
        o.set("type", "container")
        o.set("name", n.name.isEmpty ? inv.reference : n.name)
        o.set("version", inv.manifestDigest ?? inv.imageID)
        o.set("purl", purl?.description)
        return o.json
    }

    /// syft's `toOSComponent`: `os:<id>@<version>`, the pretty name as description, a SWID tag.
    static func osComponent(_ os: OSRelease?) -> [JSON] {
        guard let os, !os.id.isEmpty else { return [] }
        let version = os.versionID.isEmpty ? nil : os.versionID
        var swid = JSONObject()
        swid.set("tagId", os.id)
        swid.set("name", os.id)
        swid.set("version", version)
        var o = JSONObject()
        o.set("bom-ref", version.map { "os:\(os.id)@\($0)" } ?? "os:\(os.id)")
        o.set("type", "operating-system")
        o.set("name", os.id)
        o.set("version", version)
        o.set("description", os.prettyName.isEmpty ? nil : os.prettyName)
        o.set("swid", swid.json)
        var props: [(String, String)] = [("syft:distro:id", os.id)]
        props += os.idLike.enumerated().map { ("syft:distro:idLike:\($0.offset)", $0.element) }
        if !os.prettyName.isEmpty { props.append(("syft:distro:prettyName", os.prettyName)) }
        if let version { props.append(("syft:distro:versionID", version)) }
        if let c = os.codename, !c.isEmpty { props.append(("syft:distro:versionCodename", c)) }
        o.set("properties", properties(props.sorted { $0.0.precedesInBytes($1.0) }))
        return [o.json]
    }

    static func properties(_ props: [(String, String)]) -> JSON? {
        props.isEmpty ? nil : .array(props.map { .object([("name", .string($0.0)), ("value", .string($0.1))]) })
    }
}
