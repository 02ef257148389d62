// The two pieces of the filter that copy JavaScript behaviour, checked against JavaScript itself (node):
// the normal-form test against node's path.posix.normalize, and BoundedRegex against V8's RegExp on the
// expressions path-to-regexp produces and on rule-style regexes, over fixed and generated inputs.
import XCTest
import Foundation
import TestSupport
@testable import BrokerKit

final class FilterOracleTests: XCTestCase {
    func node() throws -> String {
        guard let path = try? which("node") else { throw XCTSkip("node is not installed (Debian package nodejs): the JavaScript oracle cannot run") }
        return path
    }

    /// Runs `script` under node with `input` as JSON on stdin; its stdout parsed as JSON.
    func runNode(_ script: String, _ input: Any) throws -> Any {
        let data = try JSONSerialization.data(withJSONObject: input)
        let r = try runProcess(try node(), ["-e", script], timeout: 60, stdin: data)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    /// Deterministic pseudo-random strings over `alphabet` (a fixed LCG, so a failure is reproducible).
    func generated(_ count: Int, alphabet: [String], maxLength: Int, seed: UInt64) -> [String] {
        var state = seed
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        return (0..<count).map { _ in (0..<(next() % (maxLength + 1))).map { _ in alphabet[next() % alphabet.count] }.joined() }
    }

    func testNormalFormIsNodes() throws {
        var inputs = ["", "/", "//", "/.", "/..", "/./", "/../", ".", "..", "./", "a", "a/", "a/..", "a/../..", "/list", "/list/",
                      "/list//", "/list/.", "/list/..", "/list/../x", "/list?x=../y", "/list?x=/../y", "/list?u=http://h", "/a#/../b",
                      "/list/%2e%2e", "/a/b/../../..", "/a/./b/", "///a", "/a/b/c/", "../a", "/.hidden", "/..hidden/", "/a/...", "/a/.../"]
        inputs += generated(400, alphabet: ["/", ".", "a", "?", "#", "%2F", "b"], maxLength: 9, seed: 7)
        let expected = try runNode("const p=require('path');let s='';process.stdin.on('data',d=>s+=d).on('end',()=>" +
                                   "console.log(JSON.stringify(JSON.parse(s).map(x=>p.posix.normalize(x)))))", inputs) as? [String]
        XCTAssertEqual(expected?.count, inputs.count)
        for (input, want) in zip(inputs, expected ?? []) {
            XCTAssertEqual(PathNormalisation.nodeNormalize(input), want, input.debugDescription)
        }
    }

    func testBoundedRegexAgreesWithJavaScript() throws {
        let paths = ["/list", "/list/*", "/", "/repos/:owner/:repo", "/a/:b?", "/a/:b*", "/a/:b+", "/files/:name.:ext", "/num/:n(\\d+)",
                     "/a/*/c", "/x\\:y", "/v(\\d+)/items", "/:a-:b"]
        var patterns: [(source: String, flags: String)] = try paths.map { (try PathPattern($0).regexSource, "i") }
        patterns += [("^(a+)+$", ""), ("a|ab|abc", ""), ("^\\s*x{2,3}\\s*$", ""), ("[^a-c]+z", ""), ("\\bword\\b", ""),
                     ("^[A-Z][\\w.-]*$", "i"), ("colou?r", ""), ("^(?:ab|cd)*e?$", ""), ("\\d{3}-\\d{4}", ""), ("^$", ""),
                     (".*{\\s*reviewThreads\\(first:\\s*\\d+\\)\\s*{.*", ""), ("a{,2}", ""), ("[\\]x]", ""), ("x*?y", ""), ("^\\/k$", "i"), ("^\\/list$", "i"), ("^\\/ω\\/Ω$", "i"), ("[a-z]+", "i"), ("^[a-z]$", "i"), ("^[A-Z]$", "i")]
        var inputs = ["", "/", "/list", "/list/", "/LIST", "/list/a/b", "/list//", "/repos/a/b", "/repos/a/b/", "/repos/a", "/a", "/a/",
                      "/a/b", "/a/b/c", "/files/r.pdf", "/files/r", "/num/12", "/num/1a", "/a/x/c", "/a//c", "/x:y", "/v2/items",
                      "/q-r", "aaaa", "aaab", "abc", " xx ", "xxxx", "ddz", "a word here", "wordy", "Abc.d-e", "color", "colour",
                      "ababcde", "555-1234", "{ reviewThreads(first: 10) { nodes", "a{,2}", "]", "xxxy", "é/É", "/İ", "/\u{212A}", "/LI\u{17F}T", "/Ω/ω", "\u{17F}", "\u{212A}", "k", "S"]
        inputs += generated(150, alphabet: ["/", "a", "b", "c", "x", "y", ".", "-", ":", "1", " ", "A", "z", "{", "}"], maxLength: 10, seed: 11)
        let table = try runNode("let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);" +
                                "console.log(JSON.stringify(j.p.map(([src,f])=>{const r=new RegExp(src,f);return j.i.map(x=>r.test(x))})))})",
                                ["p": patterns.map { [$0.source, $0.flags] }, "i": inputs]) as? [[Bool]]
        XCTAssertEqual(table?.count, patterns.count)
        // Refused: what JavaScript refuses too, and what this engine does not support (lookbehind, backreferences).
        for bad in ["a**", "a{2}{3}", "(", "a)", "[b-a]", "*a", "(?<=a)b", "\\1(a)"] {
            XCTAssertThrowsError(try BoundedRegex(bad), bad)
        }
        for (pattern, answers) in zip(patterns, table ?? []) {
            let re = try BoundedRegex(pattern.source, caseInsensitive: pattern.flags == "i")
            for (input, want) in zip(inputs, answers) {
                XCTAssertEqual(re.test(input), want, "/\(pattern.source)/\(pattern.flags) on \(input.debugDescription)")
            }
        }
    }
}
