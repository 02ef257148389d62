// The scanner against syft on real images built at test time (a Debian root from mmdebstrap with
// language packages, an rpm image, an apk image, a multi-layer image that removes and upgrades packages),
// over all three transports: every difference must be fixed or listed in Tests/accuracy/compare.py.
import Foundation
import TestSupport
import XCTest

final class AccuracyTests: XCTestCase {
    func testScannerAgreesWithSyftOnEveryFixtureImage() throws {
        let accuracy = repositoryRoot.appendingPathComponent("Tests/accuracy")
        let build = try runProcess(accuracy.appendingPathComponent("build.sh").path, [], timeout: 2400)
        XCTAssertEqual(build.status, 0, "fixture build failed: \(String(build.stderr.suffix(3000)))")
        guard build.status == 0 else { return }
        let agent = agentExecutablePath
        let compare = try runProcess(projectPython, [accuracy.appendingPathComponent("compare.py").path,
                                                     "--scanner", "\(agent) scan --plain-http --format json {ref}", "--transport", "all"],
                                     timeout: 1200)
        let summary = compare.stdout.split(separator: "\n").last { $0.hasPrefix("compare:") }.map(String.init) ?? ""
        XCTAssertEqual(compare.status, 0, String(compare.stdout.suffix(6000)) + String(compare.stderr.suffix(2000)))
        XCTAssertTrue(summary.contains(" 0 unexpected differences"), summary)
        XCTAssertTrue(summary.contains("comparisons"), "nothing was compared: \(String(compare.stdout.suffix(2000)))")
        for image in ["debian-python", "rpm-image", "apk-image", "layered-deb"] {
            XCTAssertTrue(compare.stdout.contains("== \(image)"), "\(image) was not compared")
        }
    }
}
