// The apk cataloger on an installed database written here in Alpine's format (there is no apk tooling on this
// Debian machine to make one; the records copy the field layout of Alpine 3.19's /lib/apk/db/installed).
@testable import AgentKit
import XCTest

private func catalogApk(_ text: String, path: String = "/lib/apk/db/installed") -> CatalogResult {
    let bytes = Array(text.utf8)
    let file = CatalogFile(entry: CatalogEntry(path: path, size: bytes.count, mode: 0o644), layerDigest: "sha256:a1",
                           contents: .memory(bytes))
    return ApkCataloger().catalog(file)
}

final class ApkCatalogerTests: XCTestCase {
    static let installed = """
    C:Q1t0AdbaUv9eYiCaJ4p0zUqoBbHrU=
    P:musl
    V:1.2.4_git20230717-r4
    A:x86_64
    S:407337
    I:663552
    T:the musl c library (libc) implementation
    U:https://musl.libc.org/
    L:MIT
    o:musl
    m:Timo Teräs <timo.teras@iki.fi>
    t:1705420862
    c:b2ac2ea2b0a4a5d1e8a3b1f1b8e0a5d6a2f6b8d3
    p:so:libc.musl-x86_64.so.1=1
    F:lib
    R:ld-musl-x86_64.so.1
    a:0:0:755
    Z:Q1qKHqpGwS0ZXIP6DGEXwtyeLBR5E=
    R:libc.musl-x86_64.so.1
    a:0:0:777
    Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

    C:Q1Cf8PU2Z5oSAw8hLqOgDlpfHYYTU=
    P:busybox-binsh
    V:1.36.1-r15
    A:x86_64
    S:1537
    I:1
    T:busybox ash /bin/sh
    U:https://busybox.net/
    L:GPL-2.0-only
    o:busybox
    m:Sören Tempel <soeren+alpine@soeren-tempel.net>
    t:1702563236
    c:36e4d2a4f6e6c2a6b7f1f2d0f4b2a5e1d6c3b7a8
    D:busybox=1.36.1-r15
    p:/bin/sh cmd:sh=1.36.1-r15
    r:busybox-initscripts
    F:bin
    R:sh
    a:0:0:777
    Z:Q1pcfTfDNEbNKQc2s1tia7da05M8Q=

    C:Q1noorigin=
    P:no-origin
    V:0.1-r0
    A:noarch
    L:MIT AND (Apache-2.0 OR BSD-3-Clause)
    """

    func testRecordsAndFields() {
        let r = catalogApk(Self.installed)
        XCTAssertEqual(r.warnings, [])
        XCTAssertEqual(r.packages.map { "\($0.name)=\($0.version)" },
                       ["musl=1.2.4_git20230717-r4", "busybox-binsh=1.36.1-r15", "no-origin=0.1-r0"])
        XCTAssertEqual(r.packages[0].metadata, ["arch": "x86_64", "origin": "musl", "license": "MIT"])
        XCTAssertEqual(r.packages[1].metadata, ["arch": "x86_64", "origin": "busybox", "license": "GPL-2.0-only"])
        XCTAssertEqual(r.packages[2].metadata, ["arch": "noarch", "license": "MIT AND (Apache-2.0 OR BSD-3-Clause)"])
        XCTAssertTrue(r.packages.allSatisfy { $0.ecosystem == .apk && $0.location == PackageLocation(layerDigest: "sha256:a1", path: "/lib/apk/db/installed") })
    }

    func testInterest() {
        let c = ApkCataloger()
        func interest(_ path: String) -> CatalogInterest { c.interest(in: CatalogEntry(path: path, size: 10, mode: 0o644)) }
        XCTAssertEqual(interest("/lib/apk/db/installed"), .whole)
        XCTAssertEqual(interest("/usr/lib/apk/db/installed"), .whole)
        XCTAssertEqual(interest("/lib/apk/db/triggers"), .none)
        XCTAssertEqual(interest("/var/lib/apk/db/installed"), .none)
    }

    func testMalformedRecordsBecomeWarnings() {
        let text = "P:one\nV:1.0-r0\nthis is not a field\n\nP:two\nA:x86_64\n\nV:3.0-r0\nP:\n\r\nP:four\r\nV:4.0-r1\r\n\n\n"
        let r = catalogApk(text, path: "/usr/lib/apk/db/installed")
        XCTAssertEqual(r.packages.map { "\($0.name)=\($0.version)" }, ["one=1.0-r0", "four=4.0-r1"])
        XCTAssertEqual(r.warnings, [
            "/usr/lib/apk/db/installed: line 3: not a `K:value` line; skipped",
            "/usr/lib/apk/db/installed: package two (line 5) has no V: (version); skipped",
            "/usr/lib/apk/db/installed: record at line 8 has no P: (name); skipped",
        ])
    }

    func testGarbageAndPrefixesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        for size in [0, 1, 2, 4096, 100_000] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let r = ApkCataloger().catalog(CatalogFile(entry: CatalogEntry(path: "/lib/apk/db/installed", size: size, mode: 0o644),
                                                       layerDigest: "sha256:x", contents: .memory(bytes)))
            XCTAssertLessThanOrEqual(r.warnings.count, 21)
        }
        let text = Array(Self.installed.utf8)
        for cut in 0...text.count { _ = catalogApk(String(decoding: text[0..<cut], as: UTF8.self)) }
    }
}
