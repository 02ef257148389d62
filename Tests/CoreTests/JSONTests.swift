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

    /// Strings are taken in runs between escapes: text before, between and after escapes comes back
    /// whole, escape-free strings of any length too, and an error still names the byte it is at.
    func testStringsWithRunsAndEscapes() throws {
        let cases: [(String, String)] = [
            (#""""#, ""), (#""plain""#, "plain"), (#""\n""#, "\n"), (#""ab\ncd\u00e9ef\\""#, "ab\ncdéef\\"),
            (#""\"lead""#, "\"lead"), (#""trail\/""#, "trail/"), (#""é€😀 x""#, "é€😀 x"),
        ]
        for (text, want) in cases { XCTAssertEqual(try JSON.parse(text).string, want, text) }
        let long = String(repeating: "0123456789abcdef", count: 10_000)
        XCTAssertEqual(try JSON.parse("[\"\(long)\"]").array?.first?.string, long)
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab\"\\/\n\t\u{1}é😀 ".unicodeScalars)
        for _ in 0..<300 {
            let s = String(String.UnicodeScalarView((0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
            XCTAssertEqual(try JSON.parse(JSON.string(s).serialized).string, s)
        }
        for (bad, offset) in [("\"abc\u{1}\"", 4), ("\"ab\\n\u{1}\"", 5), ("\"abc", 4), ("\"ab\\q\"", 5)] {
            XCTAssertThrowsError(try JSON.parse(bad), bad) { XCTAssertEqual(($0 as? JSONParseError)?.offset, offset, "\(bad): \($0)") }
        }
    }

    /// `maxValues` counts every value, containers and object members' values included: a text of
    /// exactly the budget parses, one value more is refused with an error naming the limit.
    func testTheValueBudgetCountsEveryValue() throws {
        let nested = #"[1,[2,3],{"a":4,"b":{"c":null}}]"#      // 1 + 1 + (1+2) + (1 + 1 + (1 + 1)) = 9
        XCTAssertEqual(try JSON.parse(Array(nested.utf8), maxValues: 9).serialized, nested)
        XCTAssertThrowsError(try JSON.parse(Array(nested.utf8), maxValues: 8)) { e in
            let error = e as? JSONParseError
            XCTAssertEqual(error?.exceedsValueBudget, true)
            XCTAssertTrue("\(e)".contains("more than 8 values"), "\(e)")
        }
        let flat = "[" + Array(repeating: "1", count: 1000).joined(separator: ",") + "]"
        XCTAssertEqual(try JSON.parse(Array(flat.utf8), maxValues: 1001).array?.count, 1000)
        XCTAssertThrowsError(try JSON.parse(Array(flat.utf8), maxValues: 1000))
        XCTAssertEqual(try JSON.parse(Array("7".utf8), maxValues: 1), .int(7))
        XCTAssertThrowsError(try JSON.parse(Array("{}".utf8), maxValues: 0))
        // Malformed text is still malformed, not over a budget; without one nothing changes.
        XCTAssertThrowsError(try JSON.parse(Array("[1,]".utf8), maxValues: 10)) { XCTAssertEqual(($0 as? JSONParseError)?.exceedsValueBudget, false) }
        XCTAssertEqual(try JSON.parse(flat).array?.count, 1000)
    }
}
