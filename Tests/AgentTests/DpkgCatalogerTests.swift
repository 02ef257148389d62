// The dpkg cataloger against this machine's real Debian status file (dpkg-query is the oracle), and against
// hand-made stanzas for each rule: install states, Source forms, continuation lines, distroless status.d.
@testable import AgentKit
import Foundation
import TestSupport
import XCTest

private func catalogDpkg(_ text: String, path: String = "/var/lib/dpkg/status") -> CatalogResult {
    let bytes = Array(text.utf8)
    let file = CatalogFile(entry: CatalogEntry(path: path, size: bytes.count, mode: 0o644), layerDigest: "sha256:l1",
                           contents: .memory(bytes))
    return DpkgCataloger().catalog(file)
}

final class DpkgCatalogerTests: XCTestCase {
    /// This machine is Debian 12: its status file has hundreds of packages in several states. dpkg-query reads
    /// a private copy (so a concurrent apt-get cannot change it between the two reads) and is the oracle:
    /// installed = `?i ` in ${db:Status-Abbrev}; versions, architectures and source fields must match exactly.
    func testMachineStatusFileMatchesDpkgQuery() throws {
        let admin = try makeTemporaryDirectory("dpkg-admin")
        defer { try? FileManager.default.removeItem(at: admin) }
        let status = try Data(contentsOf: URL(fileURLWithPath: "/var/lib/dpkg/status"))
        try status.write(to: admin.appendingPathComponent("status"))
        try FileManager.default.createDirectory(at: admin.appendingPathComponent("updates"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: admin.appendingPathComponent("info"), withIntermediateDirectories: true)

        let format = "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}|${source:Package}|${source:Version}\\n"
        let q = try runProcess("dpkg-query", ["--admindir=\(admin.path)", "-W", "-f=\(format)"])
        XCTAssertEqual(q.status, 0, q.stderr)
        var expected = Set<String>()
        var notInstalled = 0
        for line in q.stdout.split(separator: "\n") {
            let abbrev = Array(line.prefix(3))
            let rest = line.dropFirst(4)
            if abbrev.count == 3, abbrev[1] == "i", abbrev[2] == " " { expected.insert(String(rest)) } else { notInstalled += 1 }
        }

        let result = DpkgCataloger().catalog(CatalogFile(
            entry: CatalogEntry(path: "/var/lib/dpkg/status", size: status.count, mode: 0o644), layerDigest: "sha256:host",
            contents: .memory(Array(status))))
        let got = Set(result.packages.map {
            "\($0.name)|\($0.version)|\($0.metadata["arch"] ?? "")|\($0.metadata["source"] ?? "")|\($0.metadata["sourceVersion"] ?? "")"
        })
        XCTAssertGreaterThan(expected.count, 100)
        XCTAssertEqual(result.packages.count, got.count, "duplicate packages")
        XCTAssertEqual(got.subtracting(expected).sorted(), [], "reported but not installed per dpkg-query")
        XCTAssertEqual(expected.subtracting(got).sorted(), [], "installed per dpkg-query but missing")
        XCTAssertEqual(result.warnings, [])
        XCTAssertTrue(result.packages.allSatisfy { $0.ecosystem == .deb && $0.location.path == "/var/lib/dpkg/status" })
        print("dpkg: \(got.count) installed packages match dpkg-query (\(notInstalled) other entries excluded)")
    }

    static let states = """
    Package: alpha
    Status: install ok installed
    Priority: optional
    Maintainer: Alpha Team <alpha@example.org>
    Installed-Size: 123
    Architecture: amd64
    Source: alpha-src (1.0-1)
    Version: 1:1.0-1+b1
    Description: the first line
     a continuation line that looks like a field:
     Package: not-a-package
     .
     the end

    Package: beta
    Status: deinstall ok config-files
    Version: 2.0
    Architecture: all

    Package: gamma
    Status: hold ok installed
    Version: 3.0-2
    Architecture: all
    Source: gamma-src

    Package: delta
    Status: install reinstreq installed
    Version: 4.0

    Package: epsilon
    Status: deinstall ok installed
    Version: 5.0
    Architecture: arm64

    Package: zeta
    Status: purge ok not-installed
    Version: 6.0

    Package: eta
    Status: install ok half-configured
    Version: 7.0

    Package: theta
    Status: install ok unpacked
    Version: 8.0

    Package: iota
    Status: install ok triggers-pending
    Version: 9.0

    package: kappa
    STATUS: install ok installed
    version: 10.0
    architecture: i386
    """

    func testInstallStatesAndFields() {
        let r = catalogDpkg(Self.states)
        XCTAssertEqual(r.packages.map(\.name), ["alpha", "gamma", "epsilon", "kappa"])
        XCTAssertEqual(r.warnings, [])
        let alpha = r.packages[0]
        XCTAssertEqual(alpha.ecosystem, .deb)
        XCTAssertEqual(alpha.version, "1:1.0-1+b1")
        XCTAssertEqual(alpha.metadata, ["arch": "amd64", "source": "alpha-src", "sourceVersion": "1.0-1",
                                        "maintainer": "Alpha Team <alpha@example.org>", "installedSize": "123"])
        XCTAssertEqual(alpha.location, PackageLocation(layerDigest: "sha256:l1", path: "/var/lib/dpkg/status"))
        // Source without a version: the source version is the binary's own (dpkg-query's ${source:Version}).
        XCTAssertEqual(r.packages[1].metadata["source"], "gamma-src")
        XCTAssertEqual(r.packages[1].metadata["sourceVersion"], "3.0-2")
        // No Source field: the source is the package itself.
        XCTAssertEqual(r.packages[2].metadata["source"], "epsilon")
        XCTAssertEqual(r.packages[2].metadata["sourceVersion"], "5.0")
        XCTAssertEqual(r.packages[3].metadata["arch"], "i386")
    }

    func testInstallStateTable() {
        let rows: [(String, Bool?)] = [
            ("install ok installed", true), ("hold ok installed", true), ("deinstall ok installed", true),
            ("purge ok installed", true), ("unknown ok installed", true), ("install  ok\tinstalled", true),
            ("install reinstreq installed", false), ("deinstall ok config-files", false),
            ("purge ok not-installed", false), ("install ok half-installed", false), ("install ok unpacked", false),
            ("install ok half-configured", false), ("install ok triggers-awaited", false),
            ("install ok triggers-pending", false),
            ("installed", nil), ("install ok", nil), ("install ok installed extra", nil), ("wish ok installed", nil),
            ("install fine installed", nil), ("install ok gone", nil), ("", nil),
        ]
        for (status, installed) in rows {
            XCTAssertEqual(DpkgInstallState.isInstalled(status), installed, status)
        }
    }

    /// `Source:` values (trimmed, as the parser hands them over): a name, optionally `(version)`.
    func testSourceForms() {
        let rows: [(String, String, String?)] = [
            ("foo", "foo", nil), ("foo (1.2)", "foo", "1.2"), ("foo (1:2.3-4)", "foo", "1:2.3-4"),
            ("foo   ( 1.2 )", "foo", "1.2"), ("foo(1.2)", "foo", "1.2"), ("foo ()", "foo", nil),
            ("foo (1.2", "foo", nil), ("foo bar", "foo", nil), ("", "", nil),
        ]
        for (source, name, version) in rows {
            let r = DpkgStatusParser.splitSource(source)
            XCTAssertEqual(r.name, name, source)
            XCTAssertEqual(r.version, version, source)
        }
    }

    func testMalformedStanzasBecomeWarnings() {
        let text = """
         continuation before any field
        Package: one
        Status: install ok installed
        Version: 1.0
        this line has no colon
        Version: 1.1

        Status: install ok installed
        Version: 2.0

        Package: three
        Version: 3.0

        Package: four
        Status: sideways
        Version: 4.0

        Package: five
        Status: install ok installed

        : no name
        Package: six
        Status: install ok installed
        Version: 6.0
        """
        let r = catalogDpkg(text)
        XCTAssertEqual(r.packages.map { "\($0.name) \($0.version)" }, ["one 1.0", "six 6.0"])
        // Line-level problems come first (found while splitting), then stanza-level ones.
        let expected = [
            "line 1: continuation line outside a field; skipped",
            "line 5: not a `Name: value` field; skipped",
            "line 6: field Version repeated in one stanza; the first is kept",
            "line 21: not a `Name: value` field; skipped",
            "stanza at line 8 has no Package field; skipped",
            "package three (line 11) has no Status field; skipped",
            "package four (line 14) has a malformed Status \"sideways\"; skipped",
            "package five (line 18) has no Version field; skipped",
        ].map { "/var/lib/dpkg/status: \($0)" }
        XCTAssertEqual(r.warnings, expected)
    }

    func testLineEndingsAndBlankLines() {
        // CRLF, whitespace-only separator lines, no final newline, several blank lines in a row.
        let text = "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n \t \r\n\n\nPackage: b\nStatus: install ok installed\nVersion: 2"
        let r = catalogDpkg(text)
        XCTAssertEqual(r.packages.map { "\($0.name)=\($0.version)" }, ["a=1", "b=2"])
        XCTAssertEqual(r.warnings, [])
    }

    /// Distroless images keep one file per package in status.d, usually without Status; some files hold
    /// several stanzas, and `<package>.md5sums` files sit beside them.
    func testDistrolessStatusDirectory() {
        let c = DpkgCataloger()
        func interest(_ path: String) -> CatalogInterest { c.interest(in: CatalogEntry(path: path, size: 10, mode: 0o644)) }
        XCTAssertEqual(interest("/var/lib/dpkg/status"), .whole)
        XCTAssertEqual(interest("/var/lib/dpkg/status.d/libc6"), .whole)
        XCTAssertEqual(interest("/var/lib/dpkg/status.d/libc6.md5sums"), .none)
        XCTAssertEqual(interest("/var/lib/dpkg/status.d/"), .none)
        XCTAssertEqual(interest("/var/lib/dpkg/status.d/sub/x"), .none)
        XCTAssertEqual(interest("/var/lib/dpkg/status-old"), .none)
        XCTAssertEqual(interest("/var/lib/dpkg/available"), .none)
        XCTAssertEqual(interest("/usr/var/lib/dpkg/status"), .none)

        let text = """
        Package: libssl3
        Version: 3.0.11-1~deb12u2
        Architecture: amd64
        Source: openssl
        Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
        Installed-Size: 6200

        Package: openssl-old
        Status: deinstall ok config-files
        Version: 1.1
        """
        let r = catalogDpkg(text, path: "/var/lib/dpkg/status.d/libssl3")
        XCTAssertEqual(r.packages.map(\.name), ["libssl3"])
        XCTAssertEqual(r.packages.first?.metadata["source"], "openssl")
        XCTAssertEqual(r.packages.first?.metadata["sourceVersion"], "3.0.11-1~deb12u2")
        XCTAssertEqual(r.packages.first?.location.path, "/var/lib/dpkg/status.d/libssl3")
        XCTAssertEqual(r.warnings, [])
    }

    /// Garbage never crashes, and the warnings stay bounded.
    func testGarbageIsBounded() {
        var rng = SystemRandomNumberGenerator()
        for size in [0, 1, 7, 4096, 100_000] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let file = CatalogFile(entry: CatalogEntry(path: "/var/lib/dpkg/status", size: size, mode: 0o644),
                                   layerDigest: "sha256:x", contents: .memory(bytes))
            let r = DpkgCataloger().catalog(file)
            XCTAssertLessThanOrEqual(r.warnings.count, 21)
        }
        // Every prefix of a real stanza file: whatever could be read, never a crash.
        let text = Array(Self.states.utf8)
        for cut in stride(from: 0, through: text.count, by: 3) {
            _ = catalogDpkg(String(decoding: text[0..<cut], as: UTF8.self))
        }
    }

    func testLargeStatusFileIsQuick() {
        // 20,000 stanzas (about 8 MB): byte-level parsing keeps this well under a second even in debug builds.
        var text = ""
        for k in 0..<20_000 {
            text += "Package: pkg\(k)\nStatus: install ok installed\nVersion: 1.\(k)\nArchitecture: amd64\n"
            text += "Description: a package\n" + String(repeating: " long description line for package \(k)\n", count: 8) + "\n"
        }
        let start = Date()
        let r = catalogDpkg(text)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(r.packages.count, 20_000)
        print("dpkg: \(text.utf8.count) bytes, \(r.packages.count) packages in \(String(format: "%.3f", seconds)) s")
        XCTAssertLessThan(seconds, 5)
    }
}
