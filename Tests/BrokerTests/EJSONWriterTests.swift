// The byte writer the sockets send with makes exactly EJSON.encode's text: every escape, number and
// nesting, U+2028/U+2029 included, on fixed values and on many random ones.
@testable import BrokerKit
import Core
import XCTest

final class EJSONWriterTests: XCTestCase {
    private func written(_ v: JSON) -> String {
        var out: [UInt8] = []
        EJSONWriter.append(v, to: &out)
        return String(decoding: out, as: UTF8.self)
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
        for v in values { XCTAssertEqual(written(v), EJSON.encode(v), "\(v)") }
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
            XCTAssertEqual(written(v), EJSON.encode(v))
        }
    }
}
