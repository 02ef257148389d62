// Drives a Reactor on the test's thread until the work calls `finish`, or a deadline passes.
import Core

/// Creates a reactor, hands it to `body` with a `finish` callback, and runs it until `finish` is
/// called or `seconds` pass. Returns false on timeout.
@discardableResult
public func runOnReactor(seconds: Double = 60, _ body: (Reactor, @escaping () -> Void) throws -> Void) throws -> Bool {
    let reactor = try Reactor()
    var finished = false
    try body(reactor) {
        finished = true
        reactor.stop()
    }
    if !finished {
        reactor.schedule(afterMilliseconds: Int(seconds * 1000)) { reactor.stop() }
        reactor.run()
    }
    return finished
}
