// The broker executable's command line: its version, its help, and a clear refusal of what it does
// not know (exit 2, one line naming the problem).
import Foundation
import TestSupport
import XCTest

final class BrokerCommandTests: XCTestCase {
    func testVersionHelpAndUnknownModes() throws {
        let version = try runProcess(brokerExecutablePath, ["--version"])
        XCTAssertEqual(version.status, 0, version.stderr)
        XCTAssertTrue(version.stdout.hasPrefix("broker "), version.stdout)
        let help = try runProcess(brokerExecutablePath, ["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("broker client") && help.stdout.contains("broker server"), help.stdout)
        for args in [[], ["proxy"], ["--bogus"]] {
            let r = try runProcess(brokerExecutablePath, args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("broker: "), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
        }
    }
}
