// Deadline-bounded waiting for conditions in tests.
import Dispatch
import Foundation
import Synchronization

/// Checks `condition` every few milliseconds until it holds or `seconds` pass; returns whether it held.
@discardableResult
public func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    let pause = DispatchSemaphore(value: 0)
    while Date() < deadline {
        if condition() { return true }
        _ = pause.wait(timeout: .now() + .milliseconds(5))
    }
    return condition()
}

/// Blocks the calling thread for `ms` milliseconds (used to pace a deliberately slow client).
public func pause(milliseconds ms: Int) {
    _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(ms))
}

/// The repository's root folder.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The folder holding the built executables (next to the test bundle).
public var builtProductsDirectory: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
}

/// The `cr-agent` executable the process-level tests run: the one built beside the tests, or the file
/// CR_AGENT_BINARY names (scripts/test.sh runs those suites again on the release build that ships).
public var agentExecutablePath: String {
    ProcessInfo.processInfo.environment["CR_AGENT_BINARY"] ?? builtProductsDirectory.appendingPathComponent("cr-agent").path
}

/// The broker executable under test: BROKER_BINARY (the release build), else the debug build's.
public var brokerExecutablePath: String {
    ProcessInfo.processInfo.environment["BROKER_BINARY"] ?? builtProductsDirectory.appendingPathComponent("broker").path
}

/// A fresh temporary directory, removed by the caller.
public func makeTemporaryDirectory(_ prefix: String = "cr-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A counter shared between a test and handlers running on reactor threads.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    public func increment() { value.add(1, ordering: .relaxed) }
    public var count: Int { value.load(ordering: .relaxed) }
}

/// A tool or fixture a test needs is missing: the test fails (it is never skipped), saying what to run.
public struct MissingPrerequisite: Error, CustomStringConvertible {
    public let description: String
    public init(_ what: String) { description = what }
}
