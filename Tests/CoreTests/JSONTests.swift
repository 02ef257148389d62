// JSON parsing of outside bytes, and the serializer round trip.
import Core
import XCTest

final class JSONTests: XCTestCase {
    func testParsesTheShapesRegistriesSend() throws {
        let v = try JSON.parse(#"{"token":"abc","expires_in":300,"issued_at":"2026-11-30T00:00:00Z","x":[1,-2.5e3,true,null,"\u00e9\ud83d\ude00\n"]}"#)
        XCTAssertEqual(v["token"]?.string, "abc")
        XCTAssertEqual(v["expires_in"]?.int, 300)
        XCTAssertEqual(v["x"]?.array?.count, 5)
        XCTAssertEqual(v["x"]?.array?[1], .double(-2500))
        XCTAssertEqual(v["x"]?.array?[4].string, "é😀\n")
        XCTAssertEqual(try JSON.parse(v.serialized), v)
    }

    func testRejectsMalformedInputWithAnOffset() {
        for bad in ["", "{", "{\"a\"}", "[1,]", "01", "1.", "\"\\x\"", "\"\u{1}\"", "tru", "{} x", "\"\\ud800\"", "-", "1e"] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        XCTAssertThrowsError(try JSON.parse(deep)) { XCTAssertTrue("\($0)".contains("nesting")) }
    }
}
