// RubyGemspecCataloger on hand-made gemspecs: the paths syft's installed-gemspec cataloger reads, and its
// line rules (`.freeze`, either quote, the last assignment wins, \uXXXX escapes).
@testable import AgentKit
import XCTest

final class RubyGemspecTests: XCTestCase {
    let gem = RubyGemspecCataloger()

    func testInterest() {
        let rows: [(String, Bool)] = [
            ("/usr/local/bundle/specifications/rails-7.1.3.gemspec", true),
            ("/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", true),
            ("/usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec", true),
            ("/src/app/app.gemspec", false),
            ("/usr/local/bundle/gems/rails-7.1.3/rails.gemspec", false),
            ("/x/specifications/readme.txt", false),
        ]
        for (path, wanted) in rows {
            XCTAssertEqual(gem.interest(in: CatalogEntry(path: path, size: 100, mode: 0o644)), wanted ? .whole : .none, path)
        }
    }

    func testInstalledSpecification() {
        let text = """
        # -*- encoding: utf-8 -*-
        # stub: nokogiri 1.16.2 x86_64-linux lib

        Gem::Specification.new do |s|
          s.name = "nokogiri".freeze
          s.version = "1.16.2"
          s.platform = "x86_64-linux".freeze
          s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
          s.authors = ["Mike Dalessio".freeze, "Aaron Patterson".freeze]
          s.licenses = ["MIT".freeze, "Apache-2.0".freeze]
          s.rubygems_version = "3.4.19".freeze
          s.installed_by_version = "3.4.19" if s.respond_to? :installed_by_version
          s.specification_version = 4
          s.add_runtime_dependency(%q<racc>.freeze, ["~> 1.4"])
        end
        """
        let r = catalogOne(gem, path: "/usr/local/bundle/specifications/nokogiri-1.16.2-x86_64-linux.gemspec", text)
        XCTAssertEqual(r.warnings, [])
        let p = r.packages[0]
        XCTAssertEqual(p.ecosystem, .gem)
        XCTAssertEqual(p.name, "nokogiri")
        XCTAssertEqual(p.version, "1.16.2")
        XCTAssertEqual(Purl(package: p, os: nil).description, "pkg:gem/nokogiri@1.16.2")
        XCTAssertEqual(p.metadata["license"], "MIT, Apache-2.0")
    }

    func testLineRules() {
        let rows: [(String, String?, String?)] = [
            ("s.name = 'single'\ns.version = '1.0'", "single", "1.0"),
            ("spec.name    =   \"spaced\"\nspec.version=\"2\"", "spaced", "2"),
            ("s.name = \"first\"\ns.name = \"second\"\ns.version = \"3\"", "second", "3"),
            ("s.name = \"caf\\u00E9\"\ns.version = \"1\"", "café", "1"),
            ("s.name = %q{percent}\ns.version = \"1\"", nil, nil),
            ("s.name = \"only-name\"", nil, nil),
            ("s.version = \"1.0\"", nil, nil),
            ("s.name = \"\"\ns.version = \"1\"", nil, nil),
            ("s.name = \"unterminated\ns.version = \"1\"", nil, nil),
        ]
        for (text, name, version) in rows {
            let r = catalogOne(gem, path: "/g/specifications/x.gemspec", text)
            XCTAssertEqual(r.packages.first?.name, name, text)
            XCTAssertEqual(r.packages.first?.version, version, text)
        }
    }
}
