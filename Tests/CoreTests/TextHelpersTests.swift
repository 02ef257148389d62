// The text helpers every module shares (trimming, percent-encoding, slash paths, C text), at their edges.
import Core
import Glibc
import XCTest

final class TrimmingTests: XCTestCase {
    func testTrimsOnlyTheGivenASCIICharactersFromBothEnds() {
        let rows: [(String, String, String)] = [
            // input, set, expected
            ("", " \t", ""),
            ("   ", " \t", ""),
            (" \t a b \t ", " \t", "a b"),               // inner blanks stay
            ("\tx", " ", "\tx"),                         // a tab is not in the set
            ("abc", " \t", "abc"),
            ("é ", " ", "é"),                            // multi-byte characters are kept whole
            (" 日本 ", " ", "日本"),
            ("x\r\n", " \t\r\n", "x"),                   // "\r\n" is one Character but two bytes: both go
            ("x\r\n", " \t\r", "x\r\n"),                 // the LF is not in the set, so nothing after x goes
            ("\"v\"", "\"", "v"),
        ]
        for (input, set, expected) in rows {
            XCTAssertEqual(input.trimmed(set), expected, "\(input.debugDescription) trimmed of \(set.debugDescription)")
            XCTAssertEqual(Substring(input).trimmed(set), expected, "as a Substring: \(input.debugDescription)")
        }
    }

    func testTrimmingBytesByAPredicateAndGoWhitespace() {
        XCTAssertEqual("--a-b--".trimming { $0 == UInt8(ascii: "-") }, "a-b")
        XCTAssertEqual("----".trimming { $0 == UInt8(ascii: "-") }, "")
        XCTAssertEqual(" \t\n\u{0B}\u{0C}\r v1.2 \r\n".trimmedASCIIWhitespace, "v1.2")
        XCTAssertEqual("\u{A0}v\u{A0}".trimmedASCIIWhitespace, "\u{A0}v\u{A0}", "a no-break space is not ASCII whitespace")
        let slice = "[  name  ]".dropFirst().dropLast()
        XCTAssertEqual(slice.trimmed(" "), "name", "a substring's own bounds are respected")
    }
}

final class PercentEncodingTests: XCTestCase {
    func testEncodesAllButUnreservedWithUpperCaseHex() {
        XCTAssertEqual(PercentEncoding.encode(""), "")
        XCTAssertEqual(PercentEncoding.encode("AZaz09-._~"), "AZaz09-._~")
        XCTAssertEqual(PercentEncoding.encode("a b/c:d?e=f&g+h%"), "a%20b%2Fc%3Ad%3Fe%3Df%26g%2Bh%25")
        XCTAssertEqual(PercentEncoding.encode("é😀"), "%C3%A9%F0%9F%98%80")
        XCTAssertEqual(PercentEncoding.encode("\u{0}\u{7F}"), "%00%7F")
        XCTAssertEqual(PercentEncoding.encode("a:b/c", keeping: { PercentEncoding.isUnreserved($0) || $0 == UInt8(ascii: ":") }), "a:b%2Fc")
    }

    func testStrictDecodingRefusesMalformedEscapesAndNonUTF8() {
        XCTAssertEqual(PercentEncoding.decode("plain"), "plain")
        XCTAssertEqual(PercentEncoding.decode("%2F%2f%41%c3%A9"), "//Aé", "either case of hex digit")
        XCTAssertEqual(PercentEncoding.decode("a+b"), "a+b", "a plus stays a plus (form decoding is the caller's)")
        XCTAssertEqual(PercentEncoding.decode("%00"), "\u{0}")
        for bad in ["%", "%4", "a%4", "%zz", "%+f", "%-1", "%%41", "%C3", "%FF", "%C3%28"] {
            XCTAssertNil(PercentEncoding.decode(bad), bad)
        }
        for s in ["", "a b/é😀%", "\u{0}\u{7F}~"] {
            XCTAssertEqual(PercentEncoding.decode(PercentEncoding.encode(s)), s, "round trip of \(s.debugDescription)")
        }
    }

    func testLenientDecodingKeepsWhatItCannotDecode() {
        XCTAssertEqual(PercentEncoding.decodeLeniently("user%40example.com"), "user@example.com")
        XCTAssertEqual(PercentEncoding.decodeLeniently("%zz%4"), "%zz%4", "malformed escapes are kept as written")
        XCTAssertEqual(PercentEncoding.decodeLeniently("100%"), "100%")
        XCTAssertEqual(PercentEncoding.decodeLeniently("%+f"), "%+f", "a sign is not a hex digit")
        XCTAssertEqual(PercentEncoding.decodeLeniently("%FFa"), "\u{FFFD}a", "bytes that are not UTF-8 are replaced")
        XCTAssertEqual(PercentEncoding.decodeLeniently("%%41"), "%A")
    }

    func testHexValues() {
        XCTAssertEqual((0...255).compactMap { PercentEncoding.hexValue(UInt8($0)) }.count, 22)
        XCTAssertEqual(PercentEncoding.hexValue(UInt8(ascii: "f")), 15)
        XCTAssertEqual(PercentEncoding.hexValue(UInt8(ascii: "F")), 15)
        XCTAssertEqual(PercentEncoding.hexValue(UInt8(ascii: "0")), 0)
        XCTAssertNil(PercentEncoding.hexValue(UInt8(ascii: "g")))
    }
}

final class SlashPathTests: XCTestCase {
    func testDirectoryAndBaseNameAsPOSIXHasThem() {
        let rows: [(String, String, String)] = [
            // path, directory, base name
            ("/a/b/c", "/a/b", "c"),
            ("/c", "/", "c"),
            ("/", "/", ""),
            ("c", ".", "c"),
            ("", ".", ""),
            ("a/b", "a", "b"),
            ("/a/b/", "/a/b", ""),                 // a trailing slash is not stripped first
            ("/é/日本.txt", "/é", "日本.txt"),
        ]
        for (path, directory, base) in rows {
            XCTAssertEqual(SlashPath.directory(of: path), directory, path)
            XCTAssertEqual(SlashPath.baseName(of: path), Substring(base), path)
        }
    }
}

final class CTextTests: XCTestCase {
    func testCBuffersStopAtTheFirstNULAndRepairBadUTF8() {
        XCTAssertEqual(String(cChars: [CChar]()), "")
        XCTAssertEqual(String(cChars: [0, 65] as [CChar]), "")
        XCTAssertEqual(String(cChars: [104, 105, 0, 120, 0] as [CChar]), "hi")
        XCTAssertEqual(String(cChars: [111, 107] as [CChar]), "ok", "no NUL: the whole buffer")
        XCTAssertEqual(String(cChars: [-61, -87, 0] as [CChar]), "é", "negative CChars are UTF-8 bytes")
        XCTAssertEqual(String(cChars: [-1, 97, 0] as [CChar]), "\u{FFFD}a")
        XCTAssertEqual(String(cChars: ([120, 121, 0] as [CChar])[1...]), "y", "a slice from its own start")
        var tuple: (UInt8, UInt8, UInt8, UInt8) = (0x64, 0x69, 0x72, 0)
        XCTAssertEqual(withUnsafeBytes(of: &tuple) { String(cBytes: $0) }, "dir")
    }

    func testErrnoText() {
        XCTAssertEqual(String(errno: ENOENT), String(cString: strerror(ENOENT)))
        XCTAssertEqual(String(errno: -ENOENT), String(errno: ENOENT), "the sign of a negated errno is ignored")
        XCTAssertFalse(String(errno: EACCES).isEmpty)
    }
}

final class UUIDStringTests: XCTestCase {
    func testRandomUUIDsAreVersion4InTextForm() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let u = UUIDString.random()
            let b = Array(u.utf8)
            XCTAssertEqual(b.count, 36, u)
            for (i, c) in b.enumerated() {
                if [8, 13, 18, 23].contains(i) { XCTAssertEqual(c, UInt8(ascii: "-"), u) } else { XCTAssertNotNil(PercentEncoding.hexValue(c), u) }
            }
            XCTAssertEqual(b[14], UInt8(ascii: "4"), "version 4: \(u)")
            XCTAssertTrue("89ab".utf8.contains(b[19]), "RFC 9562 variant: \(u)")
            XCTAssertEqual(u, u.lowercased())
            seen.insert(u)
        }
        XCTAssertEqual(seen.count, 1000, "no repeats in 1000 draws")
    }

    func testFormatWritesSixteenBytesAsGiven() {
        XCTAssertEqual(UUIDString.format(Array(0..<16)), "00010203-0405-0607-0809-0a0b0c0d0e0f")
        XCTAssertEqual(UUIDString.format([UInt8](repeating: 0xFF, count: 16)), "ffffffff-ffff-ffff-ffff-ffffffffffff")
    }
}

final class ByteOrderTests: XCTestCase {
    /// UTF-8 byte order, as Go and syft sort: upper case before lower, a prefix first, and a precomposed
    /// "é" (C3 A9) after "z" and after the decomposed "e\u{301}" (65 CC 81), which Swift's `<` holds equal.
    func testOrdersByUTF8Bytes() {
        XCTAssertTrue("Zeta".precedesInBytes("alpha"))
        XCTAssertTrue("lib".precedesInBytes("libc"))
        XCTAssertFalse("libc".precedesInBytes("lib"))
        XCTAssertFalse("same".precedesInBytes("same"))
        XCTAssertTrue("".precedesInBytes("a"))
        XCTAssertFalse("".precedesInBytes(""))
        XCTAssertTrue("z".precedesInBytes("\u{e9}"))
        XCTAssertTrue("e\u{301}".precedesInBytes("\u{e9}"))
        XCTAssertFalse("\u{e9}".precedesInBytes("e\u{301}"))
        XCTAssertTrue("a/b"[...].precedesInBytes("a0"), "'/' (2F) before '0' (30), substrings too")
        let words = (0..<200).map { _ in String((0..<Int.random(in: 0...6)).map { _ in "aAé/0~".randomElement()! }) }
        XCTAssertEqual(words.sorted { $0.precedesInBytes($1) }.map { Array($0.utf8) },
                       words.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
