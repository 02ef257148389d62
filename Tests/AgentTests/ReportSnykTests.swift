// The snyk scan result's naming, grouping and facts, case by case against snyk-docker-plugin's rules.
@testable import AgentKit
import Core
import XCTest

final class ReportSnykTests: XCTestCase {
    /// lib/dependency-tree/index.ts buildTree: the root package, including its quirks (any colon splits,
    /// so a registry port becomes the "version"; `.tar` and `@sha256` names have no version).
    func testRootPackageNaming() {
        let rows: [(String, String, String?)] = [
            ("nginx:1.25", "docker-image|nginx", "1.25"),
            ("nginx", "docker-image|nginx", "latest"),
            ("registry.example/team/app:1.4.2", "docker-image|registry.example/team/app", "1.4.2"),
            ("localhost:5000/app", "docker-image|localhost", "5000/app"),
            ("reg.example/app@sha256:abc", "docker-image|reg.example/app", nil),
            ("nginx.tar", "docker-image|nginx.tar", nil),
        ]
        for (ref, name, version) in rows {
            let root = SnykReport.rootPackage(reference: ref)
            XCTAssertEqual(root.name, name, ref)
            XCTAssertEqual(root.version, version, ref)
        }
    }

    func results(_ inv: ImageInventory) -> [JSON] { SnykReport.document(inv)["scanResults"]!.array! }

    func graph(_ result: JSON) -> JSON { result["facts"]!.array!.first { $0["type"]?.string == "depGraph" }!["data"]! }

    func testOSResult() throws {
        let os = results(try ReportFixtures.inventory())[0]
        XCTAssertEqual(os["identity"]!.serialized, #"{"type":"deb","args":{"platform":"linux/amd64"}}"#)
        XCTAssertEqual(os["target"]!.serialized, #"{"image":"docker-image|registry.example:5000/team/app"}"#)
        XCTAssertEqual(os["facts"]!.array!.map { $0["type"]!.string! },
                       ["depGraph", "imageId", "imageLayers", "imageLabels", "containerConfig", "history", "imageCreationTime", "rootFs",
                        "imageOsReleasePrettyName", "imageNames", "ociDistributionMetadata", "platform", "imageSizeBytes"])
        let g = graph(os)
        XCTAssertEqual(g["pkgManager"]!.serialized, #"{"name":"deb","repositories":[{"alias":"debian:12"}]}"#)
        let pkgs = g["pkgs"]!.array!
        XCTAssertEqual(pkgs.map { $0["id"]!.string! }, ["docker-image|registry.example:5000/team/app@1.4.2",
                                                        "base-files@12.4+deb12u5", "bash/bash@5.2.15-2+b2", "glibc/libc6@2.36-9+deb12u4",
                                                        "zlib/zlib1g@1:1.2.13.dfsg-1"])
        XCTAssertEqual(pkgs[3]["info"]!["purl"]!.string, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?distro=debian-bookworm&upstream=glibc")
        XCTAssertEqual(pkgs[2]["info"]!["purl"]!.string, "pkg:deb/debian/bash@5.2.15-2%2Bb2?distro=debian-bookworm&upstream=bash%405.2.15-2")
        let facts = Dictionary(uniqueKeysWithValues: os["facts"]!.array!.map { ($0["type"]!.string!, $0["data"]!) })
        XCTAssertEqual(facts["containerConfig"]!.serialized,
                       #"{"user":"app","exposedPorts":["8080/tcp"],"env":["PATH=/usr/local/bin:/usr/bin:/bin","NODE_ENV=production"],"entrypoint":null,"cmd":["node","server.js"],"workingDir":"/app"}"#)
        XCTAssertEqual(facts["history"]!.array![1].serialized, #"{"created":"2024-01-10T00:00:01Z","createdBy":"/bin/sh -c #(nop)  CMD [\"bash\"]","emptyLayer":true}"#)
        XCTAssertEqual(facts["imageNames"]!.serialized,
                       #"{"names":["registry.example:5000/team/app:1.4.2","registry.example:5000/team/app@sha256:\#(String(repeating: "c", count: 64))"]}"#)
        XCTAssertEqual(facts["ociDistributionMetadata"]!["registryHost"]!.string, "registry.example:5000")
        XCTAssertEqual(facts["ociDistributionMetadata"]!["repository"]!.string, "team/app")
        XCTAssertEqual(facts["imageSizeBytes"]!.int, 31_457_280)
    }

    /// One result per application target, sorted by type and file; npm's own package.json is its root.
    func testApplicationResults() throws {
        let apps = Array(results(try ReportFixtures.inventory()).dropFirst())
        XCTAssertEqual(apps.map { $0["identity"]!.serialized }, [
            #"{"type":"cargo","targetFile":"/usr/local/cargo/Cargo.lock"}"#,
            #"{"type":"composer","targetFile":"/var/www/vendor/composer/installed.json"}"#,
            #"{"type":"gomodules","targetFile":"/usr/local/bin/tool"}"#,
            #"{"type":"maven","targetFile":"/opt/app/lib/log4j-core-2.17.1.jar"}"#,
            #"{"type":"npm","targetFile":"/app/package.json"}"#,
            #"{"type":"nuget","targetFile":"/app/app.deps.json"}"#,
            #"{"type":"pip","targetFile":"/usr/local/lib/python3.12/site-packages"}"#,
            #"{"type":"rubygems","targetFile":"/usr/local/bundle/specifications"}"#,
        ])
        let npm = graph(apps[4])
        XCTAssertEqual(npm["pkgs"]!.array!.map { $0["id"]!.string! }, ["app@1.0.0", "@types/node@20.11.5", "express@4.18.2"])
        XCTAssertEqual(graph(apps[3])["pkgs"]!.array![1]["id"]!.string, "org.apache.logging.log4j:log4j-core@2.17.1")
        XCTAssertEqual(graph(apps[6])["pkgs"]!.array![0]["id"]!.string, "/usr/local/lib/python3.12/site-packages@")
        XCTAssertEqual(apps[0]["facts"]!.array!.map { $0["type"]!.string! }, ["depGraph", "imageId", "imageNames", "ociDistributionMetadata"])
        XCTAssertEqual(apps[4]["facts"]!.array!.map { $0["type"]!.string! }, ["depGraph", "testedFiles", "imageId", "imageNames", "ociDistributionMetadata"])
        XCTAssertEqual(apps[4]["facts"]!.array![1]["data"]!.string, "/app/package.json")
        XCTAssertEqual(apps[5]["facts"]!.array![1]["data"]!.serialized, #"["app.deps.json"]"#)
    }

    /// The plugin reports one OS package manager, the first of apk, deb, rpm with packages; rpm purls
    /// carry the source rpm's name@version-release and the epoch.
    func testOSManagerChoiceAndRPM() throws {
        typealias F = ReportFixtures
        let rhel = OSRelease(id: "rhel", versionID: "9.3", prettyName: "RHEL")
        let rpm = F.pkg(.rpm, "openssl-libs", "1:3.0.7-25.el9_3", "/var/lib/rpm/rpmdb.sqlite",
                        ["arch": "x86_64", "epoch": "1", "sourceRpm": "openssl-3.0.7-25.el9_3.src.rpm"])
        let g = graph(results(try F.inventory(packages: [rpm], os: rhel))[0])
        XCTAssertEqual(g["pkgs"]!.array![1]["info"]!.serialized,
                       #"{"name":"openssl-libs","version":"1:3.0.7-25.el9_3","purl":"pkg:rpm/rhel/openssl-libs@1:3.0.7-25.el9_3?distro=rhel-9.3&epoch=1&upstream=openssl%403.0.7-25.el9_3"}"#)
        let apk = F.pkg(.apk, "libcrypto3", "3.1.4-r5", "/lib/apk/db/installed", ["origin": "openssl"])
        let mixed = graph(results(try F.inventory(packages: [rpm, apk], os: nil))[0])
        XCTAssertEqual(mixed["pkgManager"]!.serialized, #"{"name":"apk","repositories":[{"alias":"unknown:0.0"}]}"#)
        XCTAssertEqual(mixed["pkgs"]!.array!.map { $0["id"]!.string! }.last, "openssl/libcrypto3@3.1.4-r5")
        let none = results(try F.inventory(packages: [], os: OSRelease(id: "ol", versionID: "8.9", prettyName: "Oracle Linux Server 8.9")))
        XCTAssertEqual(none.count, 1)
        XCTAssertEqual(graph(none[0])["pkgManager"]!.serialized, #"{"name":"linux","repositories":[{"alias":"oracle:8"}]}"#)
        XCTAssertEqual(graph(none[0])["graph"]!["nodes"]!.serialized, #"[{"nodeId":"root-node","pkgId":"docker-image|registry.example:5000/team/app@1.4.2","deps":[]}]"#)
    }

    func testTargetFiles() {
        func target(_ e: Ecosystem, _ path: String) -> String { SnykPackages.targetFile(ReportFixtures.pkg(e, "x", "1", path)) }
        XCTAssertEqual(target(.java, "/opt/App.WAR:WEB-INF/lib/nested-1.0.jar"), "/opt/App.WAR")
        XCTAssertEqual(target(.java, "/opt/jars/a.jar"), "/opt/jars/a.jar")
        XCTAssertEqual(target(.java, "/opt/x.jarfile/a.ear!/lib/b.jar"), "/opt/x.jarfile/a.ear")
        XCTAssertEqual(target(.npm, "/usr/lib/node_modules/npm/node_modules/abbrev/package.json"), "/usr/lib/package.json")
        XCTAssertEqual(target(.npm, "/srv/package.json"), "/srv/package.json")
        XCTAssertEqual(target(.python, "/usr/lib/python3/dist-packages/six-1.16.0.egg-info"), "/usr/lib/python3/dist-packages")
        XCTAssertEqual(target(.python, "/x.dist-info/METADATA"), "/")
    }

    func testTableForAnEmptyImage() throws {
        let text = TableReport.text(try ReportFixtures.inventory(packages: [], os: nil, warnings: []))
        XCTAssertTrue(text.hasSuffix("Packages:  0\n\nNo packages found in this image.\n"), text)
        XCTAssertTrue(text.contains("OS:        unknown\n"), text)
    }
}
