// Purls: the purl-spec's own build tests in both spellings, syft's purl tests per ecosystem, and decoding by
// packageurl-python.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class ReportPurlTests: XCTestCase {
    /// Every "build" case for our types in package-url/purl-spec (commit 16f3d0e, tests/spec/specification-test.json
    /// and tests/types/{apk,cargo,composer,deb,gem,golang,maven,npm,nuget,oci,pypi,rpm}-test.json), in the spec's
    /// spelling (the field-by-field default) and in syft's.
    ///
    /// syft's spelling (anchore/packageurl-go v0.2.0) encodes the colon, which the spec says "shall not be
    /// percent-encoded"; so where a case has a colon, syft's string is not the one the spec expects, and the
    /// case instead checks that both decode to the same components (any purl parser reads them as one
    /// package). `syftSpellings` holds what packageurl-go v0.2.0 itself writes for those cases (got by running
    /// it on the same components).
    func testPurlSpecBuildCases() {
        typealias Q = Purl.Qualifier
        let rows: [(Purl, String)] = [
            (Purl(type: "apk", namespace: "alpine", name: "apk", version: "2.12.9-r3", qualifiers: [Q("arch", "x86")]), "pkg:apk/alpine/apk@2.12.9-r3?arch=x86"),
            (Purl(type: "cargo", name: "structopt", version: "0.3.11"), "pkg:cargo/structopt@0.3.11"),
            (Purl(type: "composer", namespace: "laravel", name: "laravel", version: "5.5.0"), "pkg:composer/laravel/laravel@5.5.0"),
            (Purl(type: "deb", namespace: "debian", name: "attr", version: "1:2.4.47-2", qualifiers: [Q("arch", "source")]), "pkg:deb/debian/attr@1:2.4.47-2?arch=source"),
            (Purl(type: "deb", namespace: "debian", name: "attr", version: "1:2.4.47-2+b1", qualifiers: [Q("arch", "amd64")]), "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64"),
            (Purl(type: "deb", namespace: "debian", name: "curl", version: "7.50.3-1", qualifiers: [Q("distro", "jessie"), Q("arch", "i386")]), "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie"),
            (Purl(type: "gem", name: "jruby-launcher", version: "1.1.2", qualifiers: [Q("platform", "java")]), "pkg:gem/jruby-launcher@1.1.2?platform=java"),
            (Purl(type: "generic", name: "openssl", version: "1.1.10g", qualifiers: [Q("checksum", "sha1:ad9503c3e994a4f,sha256:41bf9088b3a1e6c1ef1d")]),
             "pkg:generic/openssl@1.1.10g?checksum=sha1:ad9503c3e994a4f%2Csha256:41bf9088b3a1e6c1ef1d"),
            (Purl(type: "golang", namespace: "github.com/gorilla", name: "context", version: "234fd47e07d1004f0aed9c", subpath: "api"), "pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c#api"),
            (Purl(type: "golang", namespace: "google.golang.org", name: "genproto", subpath: "googleapis/api/annotations"), "pkg:golang/google.golang.org/genproto#googleapis/api/annotations"),
            (Purl(type: "maven", namespace: "HTTPClient", name: "HTTPClient", version: "0.3-3"), "pkg:maven/HTTPClient/HTTPClient@0.3-3"),
            (Purl(type: "maven", namespace: "groovy", name: "groovy", version: "1.0", qualifiers: [Q("repository_url", "https://maven.google.com")]), "pkg:maven/groovy/groovy@1.0?repository_url=https:%2F%2Fmaven.google.com"),
            (Purl(type: "maven", namespace: "mygroup", name: "myartifact", version: "1.0.0 Final", qualifiers: [Q("mykey", "my value")]), "pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value"),
            (Purl(type: "maven", namespace: "org.apache.xmlgraphics", name: "batik-anim", version: "1.9.1", qualifiers: [Q("repository_url", "repo.spring.io/release"), Q("classifier", "sources")]),
             "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources&repository_url=repo.spring.io%2Frelease"),
            (Purl(type: "maven", namespace: "org.apache.commons", name: "io"), "pkg:maven/org.apache.commons/io"),
            (Purl(type: "npm", namespace: "@angular", name: "animation", version: "12.3.1"), "pkg:npm/%40angular/animation@12.3.1"),
            (Purl(type: "npm", name: "mypackage", version: "12.4.5", qualifiers: [Q("vcs_url", "git://host.com/path/to/repo.git@4345abcd34343")]),
             "pkg:npm/mypackage@12.4.5?vcs_url=git:%2F%2Fhost.com%2Fpath%2Fto%2Frepo.git%404345abcd34343"),
            (Purl(type: "nuget", name: "EnterpriseLibrary.Common", version: "6.0.1304"), "pkg:nuget/EnterpriseLibrary.Common@6.0.1304"),
            (Purl(type: "oci", name: "debian", version: "sha256:244fd47e07d10", qualifiers: [Q("arch", "amd64"), Q("repository_url", "docker.io/library/debian"), Q("tag", "latest")]),
             "pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest"),
            (Purl(type: "pypi", name: "django", version: "1.11.1", qualifiers: [Q("file_name", "Django-1.11.1-py2.py3-none-any.whl")]), "pkg:pypi/django@1.11.1?file_name=Django-1.11.1-py2.py3-none-any.whl"),
            (Purl(type: "pypi", name: "django-package", version: "1.11.1.dev1"), "pkg:pypi/django-package@1.11.1.dev1"),
            (Purl(type: "rpm", namespace: "fedora", name: "centerim", version: "4.22.10-1.el6", qualifiers: [Q("epoch", "1"), Q("distro", "fedora-25"), Q("arch", "i686")]),
             "pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1"),
        ]
        let syftSpellings = [
            "pkg:deb/debian/attr@1:2.4.47-2?arch=source": "pkg:deb/debian/attr@1%3A2.4.47-2?arch=source",
            "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64": "pkg:deb/debian/attr@1%3A2.4.47-2%2Bb1?arch=amd64",
            "pkg:generic/openssl@1.1.10g?checksum=sha1:ad9503c3e994a4f%2Csha256:41bf9088b3a1e6c1ef1d":
                "pkg:generic/openssl@1.1.10g?checksum=sha1%3Aad9503c3e994a4f%2Csha256%3A41bf9088b3a1e6c1ef1d",
            "pkg:maven/groovy/groovy@1.0?repository_url=https:%2F%2Fmaven.google.com": "pkg:maven/groovy/groovy@1.0?repository_url=https%3A%2F%2Fmaven.google.com",
            "pkg:npm/mypackage@12.4.5?vcs_url=git:%2F%2Fhost.com%2Fpath%2Fto%2Frepo.git%404345abcd34343":
                "pkg:npm/mypackage@12.4.5?vcs_url=git%3A%2F%2Fhost.com%2Fpath%2Fto%2Frepo.git%404345abcd34343",
            "pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest":
                "pkg:oci/debian@sha256%3A244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest",
        ]
        for (purl, expected) in rows {
            XCTAssertEqual(purl.spelling, .purlSpec)
            XCTAssertEqual(purl.description, expected)
            XCTAssertTrue(purl.isValid, expected)
            let syft = purl.string(.syft)
            if expected.dropFirst("pkg:".count).contains(":") {
                XCTAssertNotEqual(syft, expected, "syft encodes the colon")
                XCTAssertEqual(Self.components(syft), Self.components(expected), expected)
                XCTAssertEqual(syft, syftSpellings[expected], expected)
            } else {
                XCTAssertEqual(syft, expected)
                XCTAssertNil(syftSpellings[expected])
            }
        }
        XCTAssertEqual(rows.filter { syftSpellings[$0.1] != nil }.count, syftSpellings.count)
        // The spec's expected failures: no type, no name, a qualifier key with a space.
        XCTAssertFalse(Purl(type: "", name: "nginx", version: "0.8.9").isValid)
        XCTAssertFalse(Purl(type: "maven", name: "").isValid)
        XCTAssertFalse(Purl(type: "npm", name: "myartifact", version: "1.0.0", qualifiers: [Q("in production", "true")]).isValid)
        // Empty qualifier values are dropped; keys are lower-cased and sorted.
        XCTAssertEqual(Purl(type: "deb", name: "p", qualifiers: [Q("Z", "1"), Q("arch", "")]).description, "pkg:deb/p?z=1")
        XCTAssertEqual(Purl(type: "deb", name: "p", qualifiers: [Q("Z", "1"), Q("arch", "")], spelling: .syft).description, "pkg:deb/p?z=1")
        // Where the spellings differ besides the colon: syft keeps a name's slashes (encoded) and every subpath
        // segment, written as Go writes a URL fragment (the second string is packageurl-go v0.2.0's own).
        let odd = Purl(type: "generic", namespace: "a//b", name: "/n/", version: "1", subpath: "./x y/../c:d!")
        XCTAssertEqual(odd.description, "pkg:generic/a/b/n@1#x%20y/c:d%21")
        XCTAssertEqual(odd.string(.syft), "pkg:generic/a/b/%2Fn%2F@1#./x%20y/../c:d!")
    }

    /// A purl string's components as the spec's "How to parse" decodes them (percent-decoded; qualifier keys
    /// lower-cased and sorted; empty and `.`/`..` subpath segments dropped), to compare spellings.
    static func components(_ purl: String) -> [String]? {
        func decode<S: StringProtocol>(_ s: S) -> String? {
            var out: [UInt8] = []
            var b = Array(s.utf8)[...]
            while let c = b.first {
                if c == UInt8(ascii: "%") {
                    guard b.count >= 3, let v = UInt8(String(decoding: b.dropFirst().prefix(2), as: UTF8.self), radix: 16) else { return nil }
                    out.append(v)
                    b = b.dropFirst(3)
                } else {
                    out.append(c)
                    b = b.dropFirst()
                }
            }
            return String(validating: out, as: UTF8.self)
        }
        guard purl.hasPrefix("pkg:") else { return nil }
        var rest = Substring(purl.dropFirst(4))
        var subpath = ""
        if let hash = rest.lastIndex(of: "#") {
            let segments = rest[rest.index(after: hash)...].split(separator: "/").compactMap(decode).filter { $0 != "." && $0 != ".." }
            subpath = segments.joined(separator: "/")
            rest = rest[..<hash]
        }
        var qualifiers: [String] = []
        if let q = rest.lastIndex(of: "?") {
            qualifiers = rest[rest.index(after: q)...].split(separator: "&").map { kv in
                let parts = kv.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return parts[0].lowercased() + "=" + (parts.count > 1 ? decode(parts[1]) ?? "?" : "")
            }.sorted()
            rest = rest[..<q]
        }
        while rest.first == "/" { rest = rest.dropFirst() }
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let type = rest[..<slash].lowercased()
        rest = rest[rest.index(after: slash)...]
        var version = ""
        if let at = rest.lastIndex(of: "@") {
            version = decode(rest[rest.index(after: at)...]) ?? "?"
            rest = rest[..<at]
        }
        var segments = rest.split(separator: "/").compactMap(decode)
        let name = segments.popLast() ?? ""
        return [type, segments.joined(separator: "/"), name, version, qualifiers.joined(separator: "&"), subpath]
    }

    private func pkg(_ e: Ecosystem, _ name: String, _ version: String, namespace: String? = nil, _ metadata: [String: String] = [:]) -> Package {
        Package(ecosystem: e, name: name, version: version, namespace: namespace,
                location: PackageLocation(layerDigest: "sha256:00", path: "/x"), metadata: metadata)
    }

    /// anchore/syft (bf82010) syft/pkg/cataloger/debian/package_test.go, alpine/package_test.go,
    /// redhat/package_test.go `Test_packageURL`: same inputs, same purls.
    func testSyftOSPackageCases() {
        let debian11 = OSRelease(id: "debian", versionID: "11", prettyName: "", idLike: ["debian"])
        let ubuntu = OSRelease(id: "ubuntu", versionID: "16.04", prettyName: "", idLike: ["debian"])
        let alpine = OSRelease(id: "alpine", versionID: "3.4.6", prettyName: "")
        let rows: [(Package, OSRelease?, String)] = [
            (pkg(.deb, "p", "v"), debian11, "pkg:deb/debian/p@v?distro=debian-11"),
            (pkg(.deb, "p", "v", ["arch": "a"]), ubuntu, "pkg:deb/ubuntu/p@v?arch=a&distro=ubuntu-16.04"),
            (pkg(.deb, "p", "v", ["source": "s"]), debian11, "pkg:deb/debian/p@v?distro=debian-11&upstream=s"),
            (pkg(.deb, "p", "v", ["source": "s", "sourceVersion": "2.3"]), debian11, "pkg:deb/debian/p@v?distro=debian-11&upstream=s%402.3"),
            // The scanner's dpkg-query defaults (source = name, sourceVersion = version) mean "no Source field".
            (pkg(.deb, "p", "v", ["source": "p", "sourceVersion": "v"]), debian11, "pkg:deb/debian/p@v?distro=debian-11"),
            (pkg(.deb, "p", "v", ["source": "s", "sourceVersion": "v"]), debian11, "pkg:deb/debian/p@v?distro=debian-11&upstream=s"),
            // syft debian/cataloger_test.go: libpam-runtime, Source pam, on Debian 12.
            (pkg(.deb, "libpam-runtime", "1.1.8-3.6", ["arch": "all", "source": "pam"]), OSRelease(id: "debian", versionID: "12", prettyName: ""),
             "pkg:deb/debian/libpam-runtime@1.1.8-3.6?arch=all&distro=debian-12&upstream=pam"),
            (pkg(.apk, "p", "v", ["arch": "a"]), OSRelease(id: "something else", versionID: "3.4.6", prettyName: ""),
             "pkg:apk/something%20else/p@v?arch=a&distro=something%20else-3.4.6"),
            (pkg(.apk, "p", "v", ["arch": "a"]), alpine, "pkg:apk/alpine/p@v?arch=a&distro=alpine-3.4.6"),
            (pkg(.apk, "p", "v"), alpine, "pkg:apk/alpine/p@v?distro=alpine-3.4.6"),
            (pkg(.apk, "g++", "v84", ["arch": "am86"]), alpine, "pkg:apk/alpine/g%2B%2B@v84?arch=am86&distro=alpine-3.4.6"),
            (pkg(.apk, "g plus plus", "v84", ["arch": "am86"]), OSRelease(id: "alpine", versionID: "3.15.0", prettyName: ""),
             "pkg:apk/alpine/g%20plus%20plus@v84?arch=am86&distro=alpine-3.15.0"),
            (pkg(.apk, "p", "v", ["arch": "a", "origin": "origin"]), alpine, "pkg:apk/alpine/p@v?arch=a&distro=alpine-3.4.6&upstream=origin"),
            (pkg(.apk, "p", "v", ["arch": "a", "origin": "p"]), alpine, "pkg:apk/alpine/p@v?arch=a&distro=alpine-3.4.6"),
            (pkg(.apk, "p", "v", ["arch": "a"]), OSRelease(id: "wolfi", versionID: "20221230", prettyName: ""), "pkg:apk/wolfi/p@v?arch=a&distro=wolfi-20221230"),
            (pkg(.rpm, "p", "v-r"), OSRelease(id: "rhel", versionID: "8.4", prettyName: ""), "pkg:rpm/redhat/p@v-r?distro=rhel-8.4"),
            (pkg(.rpm, "p", "1:v-r", ["arch": "a", "epoch": "1"]), OSRelease(id: "centos", versionID: "7", prettyName: ""), "pkg:rpm/centos/p@v-r?arch=a&distro=centos-7&epoch=1"),
            (pkg(.rpm, "p", "1:v-r", ["arch": "a"]), OSRelease(id: "centos", versionID: "7", prettyName: ""), "pkg:rpm/centos/p@v-r?arch=a&distro=centos-7&epoch=1"),
            (pkg(.rpm, "p", "v-r"), nil, "pkg:rpm/p@v-r"),
            (pkg(.rpm, "p", "v-r"), OSRelease(id: "hummingbird", versionID: "1.0", prettyName: ""), "pkg:rpm/redhat/p@v-r?distro=hummingbird-1.0"),
            (pkg(.rpm, "p", "v-r", ["sourceRpm": "sourcerpm"]), OSRelease(id: "rhel", versionID: "8.4", prettyName: ""), "pkg:rpm/redhat/p@v-r?distro=rhel-8.4&upstream=sourcerpm"),
            // syft redhat/cataloger_test.go: basesystem without a distro.
            (pkg(.rpm, "basesystem", "11-13.el9", ["arch": "noarch", "sourceRpm": "basesystem-11-13.el9.src.rpm"]), nil,
             "pkg:rpm/basesystem@11-13.el9?arch=noarch&upstream=basesystem-11-13.el9.src.rpm"),
            // syft debian/cataloger_test.go: the epoch's colon encoded, as syft's packageurl-go writes it.
            (pkg(.deb, "zlib1g", "1:1.3.dfsg-3.1ubuntu2.1", ["arch": "amd64", "source": "zlib"]), nil,
             "pkg:deb/zlib1g@1%3A1.3.dfsg-3.1ubuntu2.1?arch=amd64&upstream=zlib"),
        ]
        for (p, os, expected) in rows {
            XCTAssertEqual(Purl(package: p, os: os).description, expected)
            XCTAssertEqual(Purl.forPackage(p, os: os)?.description, expected)
        }
    }

    /// syft's application purl tests: javascript/package_test.go (@npmcli/arborist), php/package_test.go,
    /// golang/package_test.go and stdlib_package_test.go, java/package_url_test.go, dotnet/package_test.go
    /// (unicode name), rust/package_test.go (no purl without a source), and the cataloger tests'
    /// gem/cargo/pypi/nuget purls.
    func testSyftApplicationCases() {
        let rows: [(Package, String)] = [
            (pkg(.npm, "@npmcli/arborist", "2.6.2", namespace: "@npmcli"), "pkg:npm/%40npmcli/arborist@2.6.2"),
            (pkg(.npm, "arborist", "2.6.2", namespace: "@npmcli"), "pkg:npm/%40npmcli/arborist@2.6.2"),
            (pkg(.npm, "@actions/core", "1.6.0"), "pkg:npm/%40actions/core@1.6.0"),
            (pkg(.npm, "atob", "2.1.2"), "pkg:npm/atob@2.1.2"),
            (pkg(.composer, "ven/name", "1.0.1", namespace: "ven"), "pkg:composer/ven/name@1.0.1"),
            (pkg(.composer, "ven/name/component", "1.0.1"), "pkg:composer/ven/name-component@1.0.1"),
            (pkg(.composer, "name", "1.0.1"), "pkg:composer/name@1.0.1"),
            (pkg(.golang, "github.com/anchore/syft", "v0.1.0"), "pkg:golang/github.com/anchore/syft@v0.1.0"),
            (pkg(.golang, "syft", "v0.1.0", namespace: "github.com/anchore"), "pkg:golang/github.com/anchore/syft@v0.1.0"),
            (pkg(.golang, "go.opencensus.io", "v0.23.0"), "pkg:golang/go.opencensus.io@v0.23.0"),
            (pkg(.golang, "github.com/coreos/go-systemd/v22", "v22.1.0"), "pkg:golang/github.com/coreos/go-systemd/v22@v22.1.0"),
            (pkg(.golang, "google.golang.org/genproto/googleapis/api/annotations", ""), "pkg:golang/google.golang.org/genproto/googleapis/api/annotations"),
            (pkg(.java, "example-java-app-maven", "0.1.0", namespace: "org.anchore"), "pkg:maven/org.anchore/example-java-app-maven@0.1.0"),
            (pkg(.java, "example-java-app-maven", "0.1.0", namespace: "commons"), "pkg:maven/commons/example-java-app-maven@0.1.0"),
            (pkg(.java, "example-java-app-maven", "0.1.0"), "pkg:maven/example-java-app-maven/example-java-app-maven@0.1.0"),
            (pkg(.nuget, "äbFileVersi on", "4.6.25512.01"), "pkg:nuget/%C3%A4bFileVersi%20on@4.6.25512.01"),
            (pkg(.nuget, "Microsoft.Extensions.Options", "9.0.0"), "pkg:nuget/Microsoft.Extensions.Options@9.0.0"),
            (pkg(.gem, "actionmailer", "4.1.1"), "pkg:gem/actionmailer@4.1.1"),
            (pkg(.cargo, "serde_derive", "1.0.215", ["source": "registry+https://github.com/rust-lang/crates.io-index"]), "pkg:cargo/serde_derive@1.0.215"),
            (pkg(.cargo, "telemetry", "0.1.0", ["source": "registry+https://github.com/rust-lang/crates.io-index"]), "pkg:cargo/telemetry@0.1.0"),
            (pkg(.golang, "stdlib", "go1.22.2"), "pkg:golang/stdlib@1.22.2"),
            // A colon and a plus in an application version, as syft's packageurl-go spells them.
            (pkg(.java, "a", "1:2+3"), "pkg:maven/a/a@1%3A2%2B3"),
            (pkg(.python, "pillow", "11.0.0"), "pkg:pypi/pillow@11.0.0"),
            (pkg(.python, "Typing__Extensions.x", "4.9.0"), "pkg:pypi/typing-extensions-x@4.9.0"),
        ]
        for (p, expected) in rows {
            XCTAssertEqual(Purl(package: p, os: nil).description, expected)
            XCTAssertEqual(Purl.forPackage(p, os: nil)?.description, expected)
        }
        // A crate without a source (a workspace member or path dependency) has no purl in syft; the
        // non-optional initializer, which every package gets a purl from, still spells the bare one.
        let local = pkg(.cargo, "telemetry", "0.1.0")
        XCTAssertNil(Purl.forPackage(local, os: nil))
        XCTAssertEqual(Purl(package: local, os: nil).description, "pkg:cargo/telemetry@0.1.0")
    }

    /// An independent parser (packageurl-python, the purl project's reference implementation) decodes our
    /// strings, in both spellings, back into the components we encoded, for awkward inputs: reserved
    /// characters, spaces, non-ASCII, `@`, `/` and `?` inside values.
    func testPackageURLPythonDecodesOurPurls() throws {
        typealias Q = Purl.Qualifier
        let cases = [
            Purl(type: "deb", namespace: "debian", name: "libstdc++6", version: "1:12.2.0-14+deb12u1", qualifiers: [Q("upstream", "gcc-12@12.2.0-14"), Q("arch", "amd64")]),
            Purl(type: "npm", namespace: "@types", name: "node", version: "20.11.5"),
            Purl(type: "maven", namespace: "org.apache.logging.log4j", name: "log4j-core", version: "2.17.1", qualifiers: [Q("type", "jar")]),
            Purl(type: "nuget", name: "äbFileVersi on", version: "4.6 beta#1"),
            Purl(type: "generic", name: "a?b&c=d", version: "x%y", qualifiers: [Q("note", "a&b=c?d#e f")]),
            Purl(type: "oci", name: "app", version: "sha256:0123", qualifiers: [Q("repository_url", "reg.example:5000/team/app"), Q("tag", "1.0")]),
        ]
        var input: [JSON] = []
        for c in cases + cases.map({ var s = $0; s.spelling = .syft; return s }) {
            input.append(.object([
                ("purl", .string(c.description)), ("type", .string(c.type)), ("namespace", .string(c.namespace)), ("name", .string(c.name)),
                ("version", .string(c.version)), ("qualifiers", .object(c.qualifiers.map { ($0.key, .string($0.value)) })),
            ]))
        }
        let script = """
        import json, sys
        from packageurl import PackageURL
        bad = 0
        for c in json.load(sys.stdin):
            p = PackageURL.from_string(c["purl"])
            got = (p.type, p.namespace or "", p.name, p.version or "", p.qualifiers or {})
            want = (c["type"], c["namespace"], c["name"], c["version"], c["qualifiers"])
            if got != want:
                bad += 1
                print("MISMATCH", c["purl"], got, want)
        print("decoded", "ok" if not bad else "with mismatches")
        sys.exit(1 if bad else 0)
        """
        let r = try runProcess(projectPython, ["-c", script], stdin: Data(JSON.array(input).serialized.utf8))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    /// Every SPDX id and exception the reports will write is known to spdx-tools and the CycloneDX schema.
    func testKnownLicenseIDsAreAcceptedByValidators() throws {
        let lines = SPDXLicense.ids.values.sorted() + SPDXLicense.exceptions.values.sorted().map { "WITH " + $0 }
        let r = try runProcess(projectPython, [ReportValidation.script("check_license_ids.py")], stdin: Data(lines.joined(separator: "\n").utf8))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    func testLicenseExpressions() {
        XCTAssertEqual(SPDXLicense.expression("mit"), "MIT")
        XCTAssertEqual(SPDXLicense.expression("MIT or apache-2.0"), "MIT OR Apache-2.0")
        XCTAssertEqual(SPDXLicense.expression("(MIT OR Apache-2.0) AND BSD-3-Clause"), "(MIT OR Apache-2.0) AND BSD-3-Clause")
        XCTAssertEqual(SPDXLicense.expression("GPL-2.0-or-later WITH Classpath-exception-2.0"), "GPL-2.0-or-later WITH Classpath-exception-2.0")
        XCTAssertEqual(SPDXLicense.expression("GPL-2.0+"), "GPL-2.0+")
        for notAnExpression in ["GPL-2+", "BSD", "MIT, Apache-2.0", "MIT OR", "(MIT", "MIT WITH", "Apache License 2.0", ""] {
            XCTAssertNil(SPDXLicense.expression(notAnExpression), notAnExpression)
        }
    }
}
