// Every report format byte-for-byte against committed golden files, from one fixed inventory.
@testable import AgentKit
import Core
import Foundation
import XCTest

/// Fixed inventories for report tests: a Debian image with packages of every ecosystem.
enum ReportFixtures {
    static let osLayer = "sha256:" + String(repeating: "1", count: 64)
    static let appLayer = "sha256:" + String(repeating: "2", count: 64)
    static let osDiff = "sha256:" + String(repeating: "a", count: 64)
    static let appDiff = "sha256:" + String(repeating: "b", count: 64)
    /// SOURCE_DATE_EPOCH for golden files: 2023-11-14T22:13:20Z.
    static let epoch = "1700000000"

    static func options(_ extra: [String: String] = [:]) throws -> ReportOptions {
        try ReportOptions(environment: Environment(["SOURCE_DATE_EPOCH": epoch].merging(extra) { $1 }))
    }

    static let configJSON = """
    {"architecture":"amd64","os":"linux","created":"2024-01-15T10:00:00Z",\
    "config":{"User":"app","ExposedPorts":{"8080/tcp":{}},"Env":["PATH=/usr/local/bin:/usr/bin:/bin","NODE_ENV=production"],\
    "Entrypoint":null,"Cmd":["node","server.js"],"WorkingDir":"/app",\
    "Labels":{"org.opencontainers.image.source":"https://example.invalid/app","maintainer":"team@example.invalid"}},\
    "rootfs":{"type":"layers","diff_ids":["\(osDiff)","\(appDiff)"]},\
    "history":[{"created":"2024-01-10T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "},\
    {"created":"2024-01-10T00:00:01Z","created_by":"/bin/sh -c #(nop)  CMD [\\"bash\\"]","empty_layer":true},\
    {"created":"2024-01-15T10:00:00Z","created_by":"COPY . /app # buildkit","comment":"buildkit.dockerfile.v0"}]}
    """

    static func config(_ json: String = configJSON) throws -> ImageConfig {
        let raw = Array(json.utf8)
        return try ImageConfig(digest: SHA256.digest(raw), raw: raw, registry: "registry.example:5000")
    }

    static func pkg(_ e: Ecosystem, _ name: String, _ version: String, namespace: String? = nil, _ path: String,
                    layer: String = appLayer, _ metadata: [String: String] = [:]) -> Package {
        Package(ecosystem: e, name: name, version: version, namespace: namespace,
                location: PackageLocation(layerDigest: layer, path: path), metadata: metadata)
    }

    static let packages: [Package] = [
        pkg(.deb, "libc6", "2.36-9+deb12u4", "/var/lib/dpkg/status", layer: osLayer,
            ["arch": "amd64", "source": "glibc", "sourceVersion": "2.36-9+deb12u4"]),
        pkg(.deb, "bash", "5.2.15-2+b2", "/var/lib/dpkg/status", layer: osLayer,
            ["arch": "amd64", "source": "bash", "sourceVersion": "5.2.15-2", "license": "GPL-3+"]),
        pkg(.deb, "zlib1g", "1:1.2.13.dfsg-1", "/var/lib/dpkg/status", layer: osLayer,
            ["arch": "amd64", "source": "zlib", "sourceVersion": "1:1.2.13.dfsg-1", "license": "Zlib"]),
        pkg(.deb, "base-files", "12.4+deb12u5", "/var/lib/dpkg/status", layer: osLayer,
            ["arch": "amd64", "source": "base-files", "sourceVersion": "12.4+deb12u5", "purl": "ignored"]),
        pkg(.npm, "app", "1.0.0", "/app/package.json", ["private": "true"]),
        pkg(.npm, "express", "4.18.2", "/app/node_modules/express/package.json", ["license": "MIT"]),
        pkg(.npm, "@types/node", "20.11.5", namespace: "@types", "/app/node_modules/@types/node/package.json", ["license": "MIT"]),
        pkg(.python, "flask", "3.0.0", "/usr/local/lib/python3.12/site-packages/flask-3.0.0.dist-info/METADATA", ["license": "BSD-3-Clause"]),
        pkg(.python, "typing_extensions", "4.9.0", "/usr/local/lib/python3.12/site-packages/typing_extensions-4.9.0.dist-info/METADATA",
            ["license": "PSF-2.0"]),
        pkg(.java, "log4j-core", "2.17.1", namespace: "org.apache.logging.log4j", "/opt/app/lib/log4j-core-2.17.1.jar", ["license": "Apache-2.0"]),
        pkg(.golang, "github.com/spf13/cobra", "v1.8.0", "/usr/local/bin/tool"),
        pkg(.golang, "stdlib", "go1.22.0", "/usr/local/bin/tool"),
        pkg(.gem, "rake", "13.1.0", "/usr/local/bundle/specifications/rake-13.1.0.gemspec", ["license": "MIT"]),
        pkg(.composer, "monolog/monolog", "3.5.0", namespace: "monolog", "/var/www/vendor/composer/installed.json", ["license": "MIT"]),
        pkg(.nuget, "Newtonsoft.Json", "13.0.3", "/app/app.deps.json", ["type": "package"]),
        pkg(.cargo, "serde", "1.0.195", "/usr/local/cargo/Cargo.lock",
            ["license": "MIT OR Apache-2.0", "source": "registry+https://github.com/rust-lang/crates.io-index"]),
    ]

    static func inventory(packages: [Package] = packages, os: OSRelease? = debian12, reference: String = "registry.example:5000/team/app:1.4.2",
                          warnings: [String] = ["/app/broken/package.json: package.json skipped: invalid JSON at byte 3"]) throws -> ImageInventory {
        ImageInventory(reference: reference, manifestDigest: "sha256:" + String(repeating: "c", count: 64),
                       imageID: "sha256:" + String(repeating: "d", count: 64), platform: Platform(os: "linux", architecture: "amd64"),
                       os: os, packages: packages, layerDigests: [osLayer, appLayer], diffIDs: [osDiff, appDiff],
                       config: try config(), imageSizeBytes: 31_457_280, warnings: warnings)
    }

    static let debian12 = OSRelease(id: "debian", versionID: "12", prettyName: "Debian GNU/Linux 12 (bookworm)", codename: "bookworm")
}

final class ReportGoldenTests: XCTestCase {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares `bytes` with Golden/<name>; `UPDATE_GOLDEN=1` rewrites the file instead.
    func assertGolden(_ bytes: [UInt8], _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = Self.goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.goldenDirectory, withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
            return
        }
        let expected = try [UInt8](Data(contentsOf: url))
        if bytes != expected {
            let got = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let want = String(decoding: expected, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let i = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
            XCTFail("\(name) differs at line \(i + 1):\n got: \(i < got.count ? got[i] : "<end>")\nwant: \(i < want.count ? want[i] : "<end>")",
                    file: file, line: line)
        }
    }

    func testGoldenFiles() throws {
        let inv = try ReportFixtures.inventory()
        let options = try ReportFixtures.options()
        try assertGolden(ReportFormat.snyk.render(inv, options: options), "scan-result.snyk.json")
        var pretty = options
        pretty.prettyJSON = true
        try assertGolden(ReportFormat.snyk.render(inv, options: pretty), "scan-result.snyk.pretty.json")
        try assertGolden(ReportFormat.cyclonedxJSON.render(inv, options: options), "sbom.cdx.json")
        try assertGolden(ReportFormat.spdxJSON.render(inv, options: options), "sbom.spdx.json")
        try assertGolden(ReportFormat.table.render(inv, options: options), "table.txt")
        var narrow = options
        narrow.tableWidth = 72
        try assertGolden(ReportFormat.table.render(inv, options: narrow), "table-72.txt")
    }

    /// The same inputs give the same bytes; package order in the inventory does not matter.
    func testDeterministicAndOrderIndependent() throws {
        let options = try ReportFixtures.options()
        let a = try ReportFixtures.inventory()
        let b = try ReportFixtures.inventory(packages: ReportFixtures.packages.reversed())
        for format in ReportFormat.allCases {
            XCTAssertEqual(format.render(a, options: options), format.render(b, options: options), format.rawValue)
        }
    }

    /// Without SOURCE_DATE_EPOCH serial numbers and namespaces are random and the time is now; with a
    /// different epoch they change too (they are derived from the whole document).
    func testSerialNumbersAndTimes() throws {
        let inv = try ReportFixtures.inventory()
        let live = try ReportOptions(environment: Environment([:]))
        XCTAssertFalse(live.reproducible)
        func serial(_ o: ReportOptions) -> String { CycloneDXReport.document(inv, options: o)["serialNumber"]!.string! }
        func namespace(_ o: ReportOptions) -> String { SPDXReport.document(inv, options: o)["documentNamespace"]!.string! }
        XCTAssertNotEqual(serial(live), serial(live))
        XCTAssertNotEqual(namespace(live), namespace(live))
        let fixed = try ReportFixtures.options(), other = try ReportFixtures.options(["SOURCE_DATE_EPOCH": "1700000001"])
        XCTAssertEqual(serial(fixed), serial(fixed))
        XCTAssertNotEqual(serial(fixed), serial(other))
        XCTAssertNotEqual(namespace(fixed), namespace(other))
        XCTAssertTrue(serial(fixed).range(of: "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", options: .regularExpression) != nil)
        XCTAssertTrue(serial(live).range(of: "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", options: .regularExpression) != nil)
        XCTAssertEqual(fixed.createdTimestamp, "2023-11-14T22:13:20Z")
        XCTAssertThrowsError(try ReportOptions(environment: Environment(["SOURCE_DATE_EPOCH": "yesterday"]))) { error in
            XCTAssertEqual((error as? ConfigurationError)?.variable, "SOURCE_DATE_EPOCH")
        }
    }

    func testTimestamps() {
        let rows: [(Int, String)] = [(0, "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"), (1_700_000_000, "2023-11-14T22:13:20Z"),
                                     (4_107_542_399, "2100-02-28T23:59:59Z"), (253_402_300_799, "9999-12-31T23:59:59Z")]
        for (s, want) in rows { XCTAssertEqual(ReportTime.rfc3339(s), want) }
    }
}
