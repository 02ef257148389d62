// The router's matching, including the case-insensitive mode that follows snyk's accept filters
// (path-to-regexp 1.x: any case, one optional trailing slash on an exact path, `*` spanning slashes).
import XCTest
@testable import Core

final class RouterTests: XCTestCase {
    private func router(caseInsensitive: Bool) -> Router {
        var r = Router(caseInsensitive: caseInsensitive)
        r.add("GET", "/list") { _ in }
        r.add("GET", "/list/*") { _ in }
        r.add("GET", "/list-paginated/*") { _ in }
        r.add("POST", "/scan") { _ in }
        return r
    }

    private func matched(_ r: Router, _ method: String, _ path: String) -> String? {
        if case .found(let route) = r.match(method: method, path: Substring(path)) { return route.pattern }
        return nil
    }

    func testCaseInsensitiveMatchingFollowsTheAcceptFilter() {
        let r = router(caseInsensitive: true)
        XCTAssertEqual(matched(r, "GET", "/LIST"), "/list")
        XCTAssertEqual(matched(r, "GET", "/list/"), "/list", "both match `/list/`, as in path-to-regexp; the first route wins")
        XCTAssertEqual(matched(r, "GET", "/list-paginated/"), "/list-paginated/*")
        XCTAssertEqual(matched(r, "GET", "/List/Project/Repo"), "/list/*")
        XCTAssertEqual(matched(r, "POST", "/Scan/"), "/scan")
        XCTAssertNil(matched(r, "POST", "/scan//"), "only one trailing slash is optional")
        XCTAssertNil(matched(r, "GET", "/list-paginated"), "`/list-paginated/*` does not match the bare path")
        XCTAssertNil(matched(r, "GET", "/listx"))
        if case .found(let route) = r.match(method: "GET", path: "/LIST/Project/Repo") {
            XCTAssertEqual(route.remainder(of: "/LIST/Project/Repo"), "Project/Repo", "the remainder keeps its case")
        } else { XCTFail("no match") }
        if case .methodNotAllowed(let allowed) = r.match(method: "GET", path: "/SCAN") {
            XCTAssertEqual(allowed, ["POST"])
        } else { XCTFail("GET /SCAN should be 405") }
    }

    func testDefaultMatchingIsExact() {
        let r = router(caseInsensitive: false)
        XCTAssertEqual(matched(r, "GET", "/list"), "/list")
        XCTAssertNil(matched(r, "GET", "/LIST"))
        XCTAssertNil(matched(r, "POST", "/scan/"))
        XCTAssertEqual(matched(r, "GET", "/list/a"), "/list/*")
    }
}
