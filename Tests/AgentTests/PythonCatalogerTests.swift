// PythonCataloger on hand-made metadata: which paths, header parsing (continuations, the body after the
// blank line), PEP 503 names, what is skipped.
@testable import AgentKit
import XCTest

final class PythonCatalogerTests: XCTestCase {
    let python = PythonCataloger()

    func testInterest() {
        let rows: [(String, Bool)] = [
            ("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", true),
            ("/venv/lib/python3.12/site-packages/Django-5.0.dist-info/METADATA", true),
            ("/opt/x/FOO-1.0.DIST-INFO/METADATA", true),
            ("/usr/lib/python3/dist-packages/idna-3.3.egg-info/PKG-INFO", true),
            ("/site/foo-1.0-py3.11.egg/EGG-INFO/PKG-INFO", true),
            ("/usr/lib/python3.11/lib-dynload/foo-1.0.egg-info", true),
            ("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD", false),
            ("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA.orig", false),
            ("/app/METADATA", false),
            ("/app/PKG-INFO", false),
            ("/src/foo/PKG-INFO", false),
            ("/usr/lib/python3/dist-packages/idna-3.3.egg-info/top_level.txt", false),
        ]
        for (path, wanted) in rows {
            XCTAssertEqual(python.interest(in: CatalogEntry(path: path, size: 100, mode: 0o644)), wanted ? .whole : .none, path)
        }
    }

    func testMetadataHeaders() {
        let text = """
        Metadata-Version: 2.1
        Name: Typing_Extensions
        Version: 4.12.2
        Summary: Backported and Experimental Type Hints
        License: PSF-2.0
          with a continuation
        Classifier: A
        Classifier: B

        Name: not-this-one
        Version: 9.9.9 (this is the description body)
        """
        let p = catalogOne(python, path: "/s/typing_extensions-4.12.2.dist-info/METADATA", text).packages[0]
        XCTAssertEqual(p.ecosystem, .python)
        XCTAssertEqual(p.name, "typing-extensions")
        XCTAssertEqual(p.version, "4.12.2")
        XCTAssertEqual(p.metadata["declaredName"], "Typing_Extensions")
        XCTAssertEqual(Purl(package: p, os: nil).description, "pkg:pypi/typing-extensions@4.12.2")
        XCTAssertEqual(p.metadata["license"], "PSF-2.0\n with a continuation")
        XCTAssertNil(p.namespace)
    }

    func testNamesAndWhatIsSkipped() {
        let rows: [(String, String?, String?)] = [
            ("Name: zope.interface\nVersion: 6.0\n", "zope-interface", "6.0"),
            ("Name: A__b-.-C\nVersion: 1\n", "a-b-c", "1"),
            ("Name: ruamel.yaml.clib\r\nVersion: 0.2.8\r\n", "ruamel-yaml-clib", "0.2.8"),
            ("\n\nName: leading-blank-lines\nVersion: 1\n", "leading-blank-lines", "1"),
            ("Name: x\nVersion: 1\nLicense-Expression: MIT\nLicense: ignored\n", "x", "1"),
            ("Name: Python\nVersion: 2.7.18\n", nil, nil),      // the interpreter's own egg-info (syft skips it)
            ("Version: 1.0\n", nil, nil),
            ("Name: no-version\n", nil, nil),
            ("garbage without colons\n", nil, nil),
            ("", nil, nil),
        ]
        for (text, name, version) in rows {
            let r = catalogOne(python, path: "/s/x.egg-info", text)
            XCTAssertEqual(r.packages.first?.name, name, text)
            XCTAssertEqual(r.packages.first?.version, version, text)
        }
        XCTAssertEqual(catalogOne(python, path: "/s/x.egg-info", "Name: x\nVersion: 1\nLicense-Expression: MIT\nLicense: ignored\n")
            .packages.first?.metadata["license"], "MIT", "License-Expression wins over License")
    }

    func testMalformedHeadersNeverCrash() {
        let r = catalogOne(python, path: "/s/x.dist-info/METADATA", "  continuation first\nName: x\nVersion: 1\n")
        XCTAssertEqual(r.packages.map(\.name), ["x"])
        XCTAssertEqual(r.warnings.count, 1)
        let binary = catalogOne(python, path: "/s/x.dist-info/METADATA", (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        XCTAssertLessThanOrEqual(binary.packages.count, 1)
    }
}
