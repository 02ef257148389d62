import XCTest
@testable import Core

final class ReactorTests: XCTestCase {
    func testTimersFireInDeadlineOrderAndCancelledOnesDoNot() throws {
        let r = try Reactor()
        var fired: [Int] = []
        r.schedule(afterMilliseconds: 30) { fired.append(3); r.stop() }
        r.schedule(afterMilliseconds: 10) { fired.append(1) }
        let c = r.schedule(afterMilliseconds: 20) { fired.append(2) }
        r.cancel(c)
        r.run()
        XCTAssertEqual(fired, [1, 3])
    }
}
