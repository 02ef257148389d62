import XCTest
import Glibc
@testable import Core

final class LoggerLevelTests: XCTestCase {
    /// A line below the level is not built at all: its message and fields are never evaluated.
    func testLinesBelowTheLevelAreNotBuilt() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let logger = Logger(level: .info, fd: fds[1], component: "test")
        var built = 0
        func message(_ text: String) -> String { built += 1; return text }
        func fields() -> [(String, JSON)] { built += 1; return [("n", .int(1))] }
        logger.debug(message("hidden"), fields())
        XCTAssertEqual(built, 0, "a debug line at info level was built")
        logger.info(message("shown"), fields())
        logger.warn(message("warned"))
        XCTAssertEqual(built, 3)
        close(fds[1])
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = read(fds[0], &bytes, bytes.count)
        let text = String(decoding: bytes[..<max(n, 0)], as: UTF8.self)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, text)
        XCTAssertTrue(lines[0].contains(#""msg":"shown""#) && lines[0].contains(#""n":1"#), text)
        XCTAssertTrue(lines[1].contains(#""msg":"warned""#), text)
        XCTAssertFalse(text.contains("hidden"))
    }
}
