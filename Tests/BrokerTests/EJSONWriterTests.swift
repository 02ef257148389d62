// The bytes the sockets send with (Core's JSON writer with U+2028/U+2029 escaped, which EJSON.encode
// also uses) against an independent spelling of the same text: the plain serializer, then each
// U+2028/U+2029 scalar replaced. Every escape, number and nesting, on fixed values and many random ones.
@testable import BrokerKit
import Core
import XCTest

final class EJSONWriterTests: XCTestCase {
    private func written(_ v: JSON) -> String {
        var out: [UInt8] = []
        v.write(to: &out, escapingLineSeparators: true)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), EJSON.encode(v))
        return String(decoding: out, as: UTF8.self)
    }

    /// What Primus sends (spark.js `_write`, "Hack 1"): JSON text with U+2028/U+2029 as escapes.
    private func expected(_ v: JSON) -> String {
        var out = ""
        for u in v.serialized.unicodeScalars {
            switch u.value {
            case 0x2028: out += "\\u2028"
            case 0x2029: out += "\\u2029"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    func testFixedValuesMatchTheEncoder() {
        let values: [JSON] = [
            .null, .bool(true), .bool(false), .int(0), .int(-1), .int(Int.max), .int(Int.min), .int(1_234_567),
            .double(1.5), .double(-0.25), .double(.infinity),
            .string(""), .string("plain"), .string("q\"b\\s/n\nr\rt\t\u{1}\u{1f}\u{7f}"), .string("é漢字🙂"),
            .string("a\u{2028}b\u{2029}c"), .string("\u{2028}"), .string("\u{e2}"), .string("end\u{2029}"),
            .array([]), .object([]),
            .object([("type", .int(0)), ("data", .array([.string("chunk"), .string("id"), .object([("$binary", .string("AAE="))]),
                                                         .bool(true), .object([("status", .int(200)), ("headers", .object([("k\u{2028}", .string("v\"\n"))]))])]))]),
        ]
        for v in values { XCTAssertEqual(written(v), expected(v), "\(v)") }
    }

    func testRandomValuesMatchTheEncoder() {
        var g = SystemRandomNumberGenerator()
        let pieces = ["a", "\"", "\\", "\n", "\u{0}", "\u{1b}", "\u{2028}", "\u{2029}", "é", "🙂", "\u{e2}\u{80}", " ", "$binary"]
        func string() -> String { (0..<Int(g.next() % 8)).map { _ in pieces[Int(g.next() % UInt64(pieces.count))] }.joined() }
        func value(_ depth: Int) -> JSON {
            switch g.next() % (depth > 3 ? 4 : 6) {
            case 0: return .int(Int(truncatingIfNeeded: g.next()) >> Int(g.next() % 64))
            case 1: return .string(string())
            case 2: return .bool(g.next() % 2 == 0)
            case 3: return .null
            case 4: return .array((0..<Int(g.next() % 4)).map { _ in value(depth + 1) })
            default: return .object((0..<Int(g.next() % 4)).map { _ in (string(), value(depth + 1)) })
            }
        }
        for _ in 0..<2000 {
            let v = value(0)
            XCTAssertEqual(written(v), expected(v))
        }
    }
}
