// Requests in flight per registry host (REGISTRY_MAX_CONCURRENCY) and the slow-down after a 429, counted
// by the misbehaving stub's pacing scenarios (crowd, throttle), plus the allowance arithmetic on its own.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class HostLimiterTests: MisbehavingRegistryTestCase {
    /// Fetches `name:latest`'s manifest `count` times at once through one client with its own limiter.
    func manifests(_ name: String, count: Int, limit: Int, limiter: HostLimiter) throws -> [Result<ManifestDocument, RegistryError>] {
        var session = RegistrySession(base: stub.url)
        session.options.maxConcurrentPerHost = limit
        session.options.retryBaseDelayMs = 50
        return try session.run { (client, done: @escaping ([Result<ManifestDocument, RegistryError>]) -> Void) in
            client.hostLimiter = limiter
            var results: [Result<ManifestDocument, RegistryError>] = []
            for _ in 0..<count {
                client.manifest(repository: name, reference: "latest") { r in
                    results.append(r)
                    if results.count == count { done(results) }
                }
            }
        }
    }

    /// The stub holds `crowd` requests until `n` are in flight (or the `total`th has arrived).
    func setCrowdHold(_ n: Int, total: Int) throws {
        _ = try runProcess("curl", ["-sS", "-X", "POST", "--data", "\(n) \(total)", "\(stub.url)/_stub/crowd-hold"])
    }

    func testAtMostTheLimitInFlightPerHost() throws {
        for limit in [1, 3] {
            try stub.reset()
            try setCrowdHold(limit, total: 10)
            let limiter = HostLimiter()
            let results = try manifests("crowd", count: 10, limit: limit, limiter: limiter)
            XCTAssertEqual(results.filter { $0.success != nil }.count, 10, "\(results.compactMap(\.failure))")
            let record = try stub.record()
            XCTAssertEqual((record["max_in_flight"] as? [String: Int])?["crowd"], limit,
                           "the stub held requests until \(limit) were in flight; more never arrived at once")
            XCTAssertEqual((record["paced"] as? [Any])?.count, 10)
            XCTAssertEqual(limiter.state(of: HostLimiter.key(url: stub.url))?.maxInFlight, limit)
        }
    }

    func testTheDefaultIsFourAndTheSettingIsRead() throws {
        XCTAssertEqual(RegistryOptions().maxConcurrentPerHost, 4)
        XCTAssertEqual(RegistryOptions(environment: ["REGISTRY_MAX_CONCURRENCY": "9"]).maxConcurrentPerHost, 9)
        XCTAssertThrowsError(try RegistryOptions.validated(environment: ["REGISTRY_MAX_CONCURRENCY": "0"]))
        XCTAssertThrowsError(try RegistryOptions.validated(environment: ["REGISTRY_MAX_CONCURRENCY": "many"]))
        try setCrowdHold(4, total: 8)
        _ = try manifests("crowd", count: 8, limit: RegistryOptions().maxConcurrentPerHost, limiter: HostLimiter())
        XCTAssertEqual((try stub.record()["max_in_flight"] as? [String: Int])?["crowd"], 4)
    }

    /// Six asked for, four go at once; the first is answered 429 `Retry-After: 1`. Nothing more reaches the
    /// host until a second after that answer, and then at most two at once (half of four: the three left
    /// need two answers before the allowance steps up); every request succeeds, the throttled one retried once.
    func testA429HoldsTheHostAndHalvesItsAllowance() throws {
        let limiter = HostLimiter()
        let results = try manifests("throttle", count: 6, limit: 4, limiter: limiter)
        XCTAssertEqual(results.filter { $0.success != nil }.count, 6, "\(results.compactMap(\.failure))")
        let record = try stub.record()
        let paced = try XCTUnwrap(record["paced"] as? [[String: Any]])
        let throttledAt = try XCTUnwrap(record["throttled_at"] as? Double)
        XCTAssertEqual(paced.count, 7, "6 requests and one retry of the throttled one")
        let later = paced.sorted { ($0["t"] as! Double) < ($1["t"] as! Double) }.dropFirst(4)
        XCTAssertEqual(later.count, 3)
        for r in later {
            XCTAssertGreaterThanOrEqual(r["t"] as! Double, throttledAt + 1.0, "sent inside the Retry-After window: \(r)")
            XCTAssertLessThanOrEqual(r["in_flight"] as! Int, 2, "more than half the allowance after a 429: \(r)")
        }
        let state = try XCTUnwrap(limiter.state(of: HostLimiter.key(url: stub.url)))
        XCTAssertEqual(state.throttles, 1)
        XCTAssertEqual(state.inFlight, 0)
        XCTAssertTrue(state.waiting.isEmpty)
        XCTAssertEqual(limiter.totals, HostLimiter.Totals(hosts: 1, inFlight: 0, waiting: 0, throttles: 1))
    }

    /// Halve on each 429 down to one; one step back up per allowance's worth of answers sent after the
    /// latest 429 (those sent before it do not count).
    func testAllowanceHalvesAndRecoversStepByStep() throws {
        let limiter = HostLimiter()
        let reactor = try Reactor()
        var started = 0
        func take() -> HostLimiter.Ticket {
            let (t, now) = limiter.acquire(host: "h", limit: 8, reactor: reactor, start: { started += 1 })!
            XCTAssertTrue(now)
            return t
        }
        var allowance: Int { limiter.state(of: "h")!.allowance }
        let early = take()
        limiter.release(take(), .throttled(retryAfterSeconds: nil))
        XCTAssertEqual(allowance, 4)
        limiter.release(early, .answered)                     // sent before the 429: no credit
        XCTAssertEqual(limiter.state(of: "h")!.credit, 0)
        for _ in 0..<3 { limiter.release(take(), .throttled(retryAfterSeconds: nil)) }
        XCTAssertEqual(allowance, 1)
        limiter.release(take(), .throttled(retryAfterSeconds: nil))
        XCTAssertEqual(allowance, 1, "never below one")
        var steps: [Int] = []
        for _ in 0..<30 {
            limiter.release(take(), .answered)
            if steps.last != allowance { steps.append(allowance) }
        }
        XCTAssertEqual(steps, [2, 3, 4, 5, 6, 7, 8], "one step per allowance's worth of answers, up to the limit")
        XCTAssertEqual(started, 0, "admitted at once, never through the queue")
    }

    /// A queued request whose owner (its registry client) is gone is never started and takes no slot:
    /// nothing would run it or hand the slot back.
    func testAQueuedRequestOfAGoneClientTakesNoSlot() throws {
        let limiter = HostLimiter()
        var started: [String] = []
        let keeper = NSObject()
        let ok = try runOnReactor(seconds: 10) { reactor, finish in
            let (first, now) = limiter.acquire(host: "h", limit: 1, reactor: reactor, start: {})!
            XCTAssertTrue(now)
            var owner: NSObject? = NSObject()
            _ = limiter.acquire(host: "h", limit: 1, reactor: reactor, owner: owner) { started.append("orphan") }!
            var last: HostLimiter.Ticket?
            last = limiter.acquire(host: "h", limit: 1, reactor: reactor, owner: keeper) {
                started.append("kept")
                limiter.release(last!, .answered)
                finish()
            }!.0
            owner = nil
            limiter.release(first, .answered)
        }
        XCTAssertTrue(ok)
        withExtendedLifetime(keeper) {}
        XCTAssertEqual(started, ["kept"])
        XCTAssertEqual(limiter.state(of: "h")?.inFlight, 0)
        XCTAssertEqual(limiter.state(of: "h")?.waiting.count, 0)
    }

    /// The queue is first in, first out, and a request dropped while waiting frees nothing it did not hold.
    func testWaitingRequestsStartInOrder() throws {
        let limiter = HostLimiter()
        var order: [Int] = []
        let ok = try runOnReactor(seconds: 10) { reactor, finish in
            let (first, now) = limiter.acquire(host: "h", limit: 1, reactor: reactor, start: {})!
            XCTAssertTrue(now)
            var tickets: [HostLimiter.Ticket] = []
            for i in 0..<5 {
                let (t, now) = limiter.acquire(host: "h", limit: 1, reactor: reactor) {
                    order.append(i)
                    limiter.release(tickets[i], .answered)
                    if order.count == 4 { finish() }
                }!
                XCTAssertFalse(now)
                tickets.append(t)
            }
            limiter.abandon(tickets[2])
            XCTAssertEqual(limiter.state(of: "h")?.waiting.count, 4)
            limiter.release(first, .answered)
        }
        XCTAssertTrue(ok)
        XCTAssertEqual(order, [0, 1, 3, 4])
        XCTAssertEqual(limiter.state(of: "h")?.inFlight, 0)
    }
}
