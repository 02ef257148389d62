// ComposerCataloger on both installed.json shapes (Composer 1: an array; Composer 2: {"packages": [...]}).
@testable import AgentKit
import XCTest

final class ComposerCatalogerTests: XCTestCase {
    let composer = ComposerCataloger()

    static let v1 = """
    [
      {"name": "monolog/monolog", "version": "1.27.1", "version_normalized": "1.27.1.0", "type": "library", "license": ["MIT"]},
      {"name": "psr/log", "version": "1.1.4"},
      {"name": "no-version/pkg"},
      {"version": "1.0"}
    ]
    """
    static let v2 = """
    {
      "packages": [
        {"name": "symfony/console", "version": "v6.4.3", "version_normalized": "6.4.3.0", "license": ["MIT"], "type": "library"},
        {"name": "laravel/framework", "version": "v10.44.0", "license": ["MIT", "BSD-3-Clause"]},
        {"name": "a/b/c", "version": "1.0"},
        {"name": "nonamespace", "version": "2.0"}
      ],
      "dev": true,
      "dev-package-names": []
    }
    """

    func testInterest() {
        XCTAssertEqual(composer.interest(in: CatalogEntry(path: "/var/www/vendor/composer/installed.json", size: 9, mode: 0o644)), .whole)
        XCTAssertEqual(composer.interest(in: CatalogEntry(path: "/opt/tool/installed.json", size: 9, mode: 0o644)), .whole)
        XCTAssertEqual(composer.interest(in: CatalogEntry(path: "/var/www/vendor/composer/installed.php", size: 9, mode: 0o644)), .none)
        XCTAssertEqual(composer.interest(in: CatalogEntry(path: "/var/www/composer.lock", size: 9, mode: 0o644)), .none)
    }

    func testComposerOneArray() {
        let r = catalogOne(composer, path: "/app/vendor/composer/installed.json", Self.v1)
        XCTAssertEqual(r.warnings, [])
        XCTAssertEqual(r.packages.map(\.name), ["monolog/monolog", "psr/log"])
        XCTAssertEqual(r.packages.map(\.version), ["1.27.1", "1.1.4"])
        XCTAssertEqual(r.packages.map(\.namespace), ["monolog", "psr"])
        XCTAssertEqual(Purl(package: r.packages[0], os: nil).description, "pkg:composer/monolog/monolog@1.27.1")
        XCTAssertEqual(r.packages[0].metadata["license"], "MIT")
        XCTAssertEqual(r.packages[0].ecosystem, .composer)
    }

    func testComposerTwoObject() {
        let r = catalogOne(composer, path: "/app/vendor/composer/installed.json", Self.v2)
        XCTAssertEqual(r.warnings, [])
        XCTAssertEqual(r.packages.map(\.name), ["symfony/console", "laravel/framework", "a/b/c", "nonamespace"])
        XCTAssertEqual(r.packages.map(\.version), ["v6.4.3", "v10.44.0", "1.0", "2.0"], "versions as written, v prefix kept")
        XCTAssertEqual(r.packages.map { Purl(package: $0, os: nil).description }, [
            "pkg:composer/symfony/console@v6.4.3", "pkg:composer/laravel/framework@v10.44.0",
            "pkg:composer/a/b-c@1.0", "pkg:composer/nonamespace@2.0",
        ])
        XCTAssertEqual(r.packages[1].metadata["license"], "MIT, BSD-3-Clause")
        XCTAssertNil(r.packages[3].namespace)
    }

    func testMalformed() {
        let inComposer = catalogOne(composer, path: "/app/vendor/composer/installed.json", "{\"packages\": [")
        XCTAssertEqual(inComposer.packages.count, 0)
        XCTAssertEqual(inComposer.warnings.count, 1)
        XCTAssertEqual(catalogOne(composer, path: "/app/vendor/composer/installed.json", "{\"other\": 1}").warnings.count, 1)
        let elsewhere = catalogOne(composer, path: "/opt/tool/installed.json", "not json")
        XCTAssertEqual(elsewhere.packages.count + elsewhere.warnings.count, 0, "another tool's installed.json is not worth a warning")
        XCTAssertEqual(catalogOne(composer, path: "/a/composer/installed.json", "[1, \"x\", null, {\"name\": 3}]").packages.count, 0)
    }
}
