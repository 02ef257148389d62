// JavaArchiveCataloger on real jars from Debian packages (expectations from Python's zipfile reading
// their pom.properties) and on hand-made archives (Tests/catalogers/app/jars.py: a Spring Boot fat jar,
// the same behind a launch script, a war nested four deep, zip64, a zip bomb, the JDK's jar tool output);
// syft's file-name rule against Python's `re`; the manifest and pom.properties parsers.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class JavaArchiveTests: XCTestCase {
    let java = JavaArchiveCataloger()

    /// The archives jars.py writes, once per test run.
    static let fixtures: Result<String, Error> = {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cr-agent-jars-\(getpid())").path
        do {
            let r = try runProcess("python3", [repositoryRoot.appendingPathComponent("Tests/catalogers/app/jars.py").path, out], timeout: 300)
            guard r.status == 0 else { throw NSError(domain: "jars", code: 1, userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
            return .success(out)
        } catch {
            return .failure(error)
        }
    }()

    func scan(_ path: String, as imagePath: String? = nil, cataloger: JavaArchiveCataloger? = nil) throws -> CatalogResult {
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let entry = CatalogEntry(path: imagePath ?? "/app/" + (path as NSString).lastPathComponent, size: bytes.count, mode: 0o644)
        return (cataloger ?? java).catalog(CatalogFile(entry: entry, layerDigest: "sha256:jar", contents: .memory(bytes)))
    }

    func testInterest() {
        for (path, wanted) in [("/opt/app.jar", true), ("/srv/x.war", true), ("/srv/x.ear", true), ("/var/jenkins/plugins/git.jpi", true),
                               ("/var/jenkins/plugins/git.hpi", true), ("/x/a.nar", true), ("/x/a.lpkg", true), ("/x/a.zap", true),
                               ("/x/a.JAR", false), ("/x/a.zip", false), ("/x/a.jar.sha1", false), ("/x/jar", false)] {
            XCTAssertEqual(java.interest(in: CatalogEntry(path: path, size: 100, mode: 0o644)), wanted ? .whole : .none, path)
        }
    }

    func testJarsFromDebian() throws {
        let root = try debianFixtureRoot()
        let expected = try oracle("jar", root: root)
        XCTAssertGreaterThanOrEqual(expected.count, 10)
        let found = try catalogTree(java, root: root)
        XCTAssertEqual(Set(found.keys), Set(expected.map { $0["path"]! }), "every regular .jar file (links are not files)")
        for row in expected {
            let r = try XCTUnwrap(found[row["path"]!])
            XCTAssertEqual(r.warnings, [], row["path"]!)
            XCTAssertEqual(r.packages.map { "\($0.namespace ?? "")/\($0.name)@\($0.version)" },
                           ["\(row["groupId"]!)/\(row["artifactId"]!)@\(row["version"]!)"], row["path"]!)
            XCTAssertEqual(r.packages.first.map { Purl(package: $0, os: nil).description }, "pkg:maven/\(row["groupId"]!)/\(row["artifactId"]!)@\(row["version"]!)")
            XCTAssertEqual(r.packages.first?.location.path, row["path"])
        }
    }

    func testHandMadeArchives() throws {
        let dir = try Self.fixtures.get()
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))) as? [String: [String]])
        XCTAssertGreaterThanOrEqual(expected.count, 9)
        for (file, packages) in expected {
            let r = try scan("\(dir)/\(file)")
            XCTAssertEqual(Set(r.packages.map { "\($0.name)@\($0.version) \(Purl(package: $0, os: nil))" }), Set(packages), file)
            XCTAssertEqual(r.packages.count, packages.count, file)
            XCTAssertTrue(r.packages.allSatisfy { $0.location == PackageLocation(layerDigest: "sha256:jar", path: "/app/\(file)") }, file)
            switch file {
            case "shop.war":
                XCTAssertEqual(r.warnings.count, 1, "\(r.warnings)")
                XCTAssertTrue(r.warnings.first?.contains("/app/shop.war:WEB-INF/lib/level1-1.0.jar:lib/level2-2.0.jar:lib/level3-3.0.jar: 1 archive(s) inside not read: nested more than 3 deep") ?? false, "\(r.warnings)")
            case "bomb-1.0.jar":
                XCTAssertEqual(r.warnings.count, 1)
                XCTAssertTrue(r.warnings.first?.contains("zip bomb") ?? false, "\(r.warnings)")
            default:
                XCTAssertEqual(r.warnings, [], file)
            }
        }
        let boot = try scan(dir + "/demo-0.0.1-SNAPSHOT.jar")
        let spring = try XCTUnwrap(boot.packages.first { $0.name == "spring-core" })
        XCTAssertEqual(spring.metadata["virtualPath"], "/app/demo-0.0.1-SNAPSHOT.jar:BOOT-INF/lib/spring-core-6.1.2.jar")
        XCTAssertEqual(spring.metadata["parent"], "demo@0.0.1-SNAPSHOT")
        XCTAssertEqual(spring.namespace, "org.springframework")
        let netty = try XCTUnwrap(boot.packages.first { $0.name == "netty-buffer" })
        XCTAssertEqual(netty.metadata["virtualPath"], "/app/demo-0.0.1-SNAPSHOT.jar:BOOT-INF/lib/shaded-client-2.0.1.jar:io.netty:netty-buffer")
        XCTAssertEqual(try scan(dir + "/x.hpi").packages.first?.metadata["type"], "jenkins-plugin")
    }

    func testLimits() throws {
        let dir = try Self.fixtures.get()
        var few = ZipLimits()
        few.maxEntries = 1000
        let many = try scan(dir + "/many.jar", cataloger: JavaArchiveCataloger(limits: few))
        XCTAssertEqual(many.warnings, ["/app/many.jar: more than 1000 entries; the rest are not read"])
        XCTAssertEqual(many.packages.map(\.name), ["many"], "the first entries are still read")

        var shallow = ZipLimits()
        shallow.maxNestingDepth = 0
        let top = try scan(dir + "/demo-0.0.1-SNAPSHOT.jar", cataloger: JavaArchiveCataloger(limits: shallow))
        XCTAssertEqual(top.packages.map(\.name), ["demo"])
        XCTAssertEqual(top.warnings, ["/app/demo-0.0.1-SNAPSHOT.jar: 4 archive(s) inside not read: nested more than 0 deep"])

        var small = ZipLimits()
        small.maxEntryBytes = 200
        let capped = try scan(dir + "/demo-0.0.1-SNAPSHOT.jar", cataloger: JavaArchiveCataloger(limits: small))
        XCTAssertEqual(capped.packages.map(\.name), ["demo"])
        XCTAssertEqual(capped.warnings.count, 4)
        XCTAssertTrue(capped.warnings.allSatisfy { $0.contains("more than the 200-byte limit") }, "\(capped.warnings)")

        var budget = ZipLimits()
        budget.maxTotalInflatedBytes = 2000
        let spent = try scan(dir + "/demo-0.0.1-SNAPSHOT.jar", cataloger: JavaArchiveCataloger(limits: budget))
        XCTAssertTrue(spent.warnings.contains { $0.contains("2000-byte limit for one archive") }, "\(spent.warnings)")
    }

    /// A large jar arrives spooled: the reader must work through `read(offset:count:)` alone.
    func testSpooledArchive() throws {
        let dir = try Self.fixtures.get()
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/many.jar")))
        let spool = try SpoolFile(budget: SpoolBudget(limit: 64 << 20))
        try bytes.withUnsafeBytes { try spool.append($0) }
        let entry = CatalogEntry(path: "/opt/many.jar", size: bytes.count, mode: 0o644)
        let r = java.catalog(CatalogFile(entry: entry, layerDigest: "sha256:s", contents: .spool(spool)))
        XCTAssertEqual(r.packages.map(\.name), ["many"])
        XCTAssertEqual(r.warnings, [])
    }

    /// The zip reader against Python's zipfile on every fixture: same entry names and sizes, same bytes.
    func testZipReaderAgreesWithPythonZipfile() throws {
        let dir = try Self.fixtures.get()
        let root = try debianFixtureRoot()
        let files = ["demo-0.0.1-SNAPSHOT.jar", "launchable-0.0.1-SNAPSHOT.jar", "tool-made-1.2.3.jar", "shop.war", "many.jar"].map { "\(dir)/\($0)" }
            + [root + "/usr/share/java/commons-lang3.jar"]
        let py = """
        import hashlib, json, sys, zipfile
        out = {}
        for p in sys.argv[1:]:
            with zipfile.ZipFile(p) as z:
                out[p] = [[i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest() if i.file_size < 100000 and not i.filename.startswith("c/") else ""] for i in z.infolist()]
        print(json.dumps(out))
        """
        let r = try runProcess("python3", ["-c", py] + files)
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [[Any]]])
        for file in files {
            let zip = try ZipArchive(.memory(Array(Data(contentsOf: URL(fileURLWithPath: file)))), limits: ZipLimits())
            let rows = try XCTUnwrap(expected[file])
            XCTAssertEqual(zip.entries.map(\.name), rows.map { $0[0] as! String }, file)
            XCTAssertEqual(zip.entries.map(\.uncompressedSize), rows.map { $0[1] as! Int }, file)
            var budget = Int.max
            for (entry, row) in zip.entries.prefix(40).map({ $0 }).enumerated().map({ ($0.element, rows[$0.offset]) }) where !(row[2] as! String).isEmpty {
                let bytes = try zip.read(entry, maxBytes: 1 << 20, limits: ZipLimits(), budget: &budget)
                XCTAssertEqual(SHA256.digest(bytes), "sha256:" + (row[2] as! String), "\(file): \(entry.name)")
            }
        }
    }

    func testDamagedArchivesNeverCrash() throws {
        let dir = try Self.fixtures.get()
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/demo-0.0.1-SNAPSHOT.jar")))
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            let r = java.catalog(CatalogFile(entry: CatalogEntry(path: "/a.jar", size: cut, mode: 0o644), layerDigest: "l", contents: .memory(Array(bytes[..<cut]))))
            XCTAssertLessThanOrEqual(r.packages.count, 6)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var b = bytes
            for _ in 0..<Int.random(in: 1...6, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = java.catalog(CatalogFile(entry: CatalogEntry(path: "/a.jar", size: b.count, mode: 0o644), layerDigest: "l", contents: .memory(b)))
        }
        let notZip = java.catalog(CatalogFile(entry: CatalogEntry(path: "/a.jar", size: 5, mode: 0o644), layerDigest: "l", contents: .memory(Array("hello".utf8))))
        XCTAssertEqual(notZip.warnings, ["/a.jar: not read: too small to be a zip archive"])
        let rar = java.catalog(CatalogFile(entry: CatalogEntry(path: "/a.rar", size: 100, mode: 0o644), layerDigest: "l", contents: .memory([UInt8](repeating: 7, count: 100))))
        XCTAssertEqual(rar.warnings, [], "a .rar is often a RAR archive: not worth a warning")
    }

    /// The zip fuzz target's seeds and regressions (Tests/Fuzz/corpus/zip), replayed here because the
    /// Fuzz executable cannot import the Agent code yet.
    func testFuzzCorpusReplays() throws {
        let dir = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/zip").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertGreaterThanOrEqual(files.count, 6)
        for f in files {
            let r = try scan("\(dir)/\(f)", as: "/app/fuzz-1.0.jar")
            XCTAssertLessThanOrEqual(r.warnings.count, 51, f)
        }
        XCTAssertEqual(try scan("\(dir)/library.jar", as: "/app/lib-1.0.jar").packages.map { Purl(package: $0, os: nil).description }, ["pkg:maven/org.ex/lib@1.0"])
        XCTAssertEqual(try scan("\(dir)/library.jar").packages.map(\.name), ["library", "lib"], "named library.jar, its pom.properties (lib) is another package")
        XCTAssertEqual(try scan("\(dir)/data-descriptor.jar", as: "/app/lib-1.0.jar").packages.map(\.name), ["lib"])
    }

    /// syft's nameAndVersionPattern (ungreedy, case-insensitive) and secondaryVersionPattern, run by
    /// Python's `re` with every quantifier made lazy by hand, on a table of file names.
    func testFileNamesAgreeWithRegex() throws {
        let names = ["commons-lang3-3.12.0", "commons-lang3", "spring-core-6.1.2", "guava-33.0.0-jre", "jackson-databind-2.16.1",
                     "my-http2-server-5", "prefix.thing-4", "jetpack-build235-rc5", "ironman-r4-2009", "foo-RC1", "foo-Build7-x",
                     "bar_1.2.3", "bar.2", "baz-1.0.0.Final", "org.eclipse.osgi_3.18.100.v20220817-1601", "netty-all-4.1.100.Final",
                     "a--1.0", "a-", "-1.0", "1.0-foo", "x-y-z", "x-rc", "x-r1a", "x-rc12", "lib-v2-1.0", "snake_case-2.0_beta",
                     "log4j-core-2.17.1", "h2-2.2.224", "tomcat-embed-core-10.1.17", "a.b.c", "a b-1.0", "名前-1.0", "x-1.0+build.5", ""]
        let py = """
        import json, re, sys
        P = re.compile(r'^(?P<name>(?:[A-Za-z][A-Za-z0-9_.]*?(?:\\.[A-Za-z][A-Za-z0-9_.]*?)*?-??)+?)(?:-(?P<version>(\\d.*?|(build\\d+?.*?)|(rc??\\d+?(?:^[A-Za-z].*?)??))))??$', re.I | re.A)
        S = re.compile(r'(?:[._-](?P<version>(\\d.*|(build\\d+.*)|(rc?\\d+(?:^[A-Za-z].*)?))))?$', re.A)
        out = []
        for n in json.load(sys.stdin):
            m = P.match(n)
            name, version = (m.group('name') or '', m.group('version') or '') if m else ('', '')
            if not version:
                s = S.search(name)
                v = (s.group('version') or '') if s else ''
                if v:
                    name, version = name[:len(name) - len(v) - 1], v
            out.append([name, version])
        print(json.dumps(out))
        """
        let r = try runProcess("python3", ["-c", py], stdin: try JSONSerialization.data(withJSONObject: names))
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String]])
        for (n, want) in zip(names, expected) {
            let f = JavaArchiveFilename("/x/\(n).jar")
            XCTAssertEqual([f.name, f.version], want, n)
        }
        XCTAssertEqual(JavaArchiveFilename("/x/org.apache.commons.lang3.jar").nameForPackage, "lang3")
        XCTAssertEqual(JavaArchiveFilename("/x/org.eclipse.core.runtime.jar").nameForPackage, "org.eclipse.core.runtime")
        XCTAssertEqual(JavaArchiveFilename("/x/a.-b.jar").nameForPackage, "a.-b", "a part starting with a dash is no Java identifier")
        XCTAssertEqual(JavaArchiveFilename("/x/a._b.jar").nameForPackage, "_b", "an underscore may start one")
        XCTAssertEqual(JavaArchiveFilename("/x/outer.jar:lib/inner-2.0.HPI").fileExtension, "hpi")
    }

    func testManifestAndPomProperties() {
        let mf = JavaManifest(Array("Manifest-Version: 1.0\r\nImplementation-Title: long na\r\n me here\r\nBundle-SymbolicName: org.x.y;singleton:=true\r\n\r\nName: org/x/\r\nSpecification-Version: 9\r\n Continued\r\n".utf8))
        XCTAssertEqual(mf.mainValue("Implementation-Title"), "long name here")
        XCTAssertEqual(mf.sections.count, 1)
        XCTAssertEqual(mf.anyValue("Specification-Version"), "9Continued")
        XCTAssertEqual(JavaGroupID.of(pom: nil, manifest: mf), "org.x.y", "OSGi directives cut off")
        XCTAssertEqual(JavaGroupID.of(pom: nil, manifest: JavaManifest(Array("Implementation-Vendor: org.b\nGroup-Id: com.z\nMain-Class: net.q.Main\n".utf8))), "com.z",
                       "the smallest candidate of the primary fields")
        XCTAssertEqual(JavaGroupID.of(pom: nil, manifest: JavaManifest(Array("Main-Class: net.q.Main\nImplementation-Vendor: Example Corp\n".utf8))), "net.q.Main")
        XCTAssertEqual(JavaGroupID.of(pom: PomProperties(groupId: "", artifactId: "org.a.b", version: "1"), manifest: nil), "org.a.b")

        let pom = PomProperties(Array("#c\n  # indented comment\ngroupId = g.h\nartifactid: a\nversion=1.0=x\n\n".utf8), path: "p")
        XCTAssertEqual(pom, PomProperties(groupId: "g.h", artifactId: "a", version: "1.0=x", path: "p"))
        XCTAssertNil(PomProperties(Array("groupId=g\nnot a property line\n".utf8), path: "p"))
    }
}
