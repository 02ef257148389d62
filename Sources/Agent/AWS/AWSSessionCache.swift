// The agent's AWS sessions, kept for the whole process: its own temporary identity (web identity,
// container, instance metadata), the STS sessions of the roles it assumes (per identity, role, external
// ID, region and endpoint) and the ECR logins they get. Each is renewed `renewBefore` seconds before it
// expires; a renewal that fails while the old one still has `graceBefore` seconds left keeps using the
// old one (botocore's advisory refresh window does the same), later it fails. Requests that need the
// same entry while it is being fetched wait for that one exchange instead of starting their own. The
// clock is injectable so tests move time instead of waiting.
import Core
import Glibc
import Synchronization

final class AWSSessionCache: Sendable {
    static let shared = AWSSessionCache()

    /// Renew this long before expiry (5 minutes).
    static let renewBefore = 300
    /// Past this close to expiry an old session is no longer used when its renewal fails.
    static let graceBefore = 60
    /// No entry is kept longer than this, whatever expiry an answer names (ECR logins last 12 h).
    static let maxLifetime = 24 * 3600
    /// Entries kept per table at most; past it the soonest to expire go.
    static let maxEntries = 1_000

    struct Stats: Sendable, Equatable {
        /// Answers fetched (each is one STS, ECR or metadata exchange that succeeded).
        var identityFetches = 0
        var roleSessions = 0
        var ecrLogins = 0
        /// Entries served from the cache, and renewals that failed while the old entry was kept.
        var hits = 0
        var keptAfterFailedRenewal = 0
        /// Requests that waited for an exchange already under way instead of starting one.
        var joined = 0
    }

    enum Table: Sendable { case identity, roleSession, ecrLogin }

    private struct Entry: Sendable {
        var value: Value
        var expiresAt: Int
    }

    enum Value: Sendable {
        case credentials(AWSCredentials)
        case login(ECRLogin)
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Keys being fetched now, with the requests waiting for them.
    private let pending = Mutex<[String: [Waiter]]>([:])

    /// A request waiting for another's exchange; its answer is delivered on its own reactor.
    private final class Waiter: @unchecked Sendable {   // `done` runs only on `reactor`, the thread that made it
        let reactor: Reactor
        let done: (Result<Value, RegistryError>) -> Void
        init(reactor: Reactor, done: @escaping (Result<Value, RegistryError>) -> Void) {
            self.reactor = reactor
            self.done = done
        }
    }
    private let counters = Mutex(Stats())
    /// Seconds since 1970.
    let now: @Sendable () -> Int

    init(now: @escaping @Sendable () -> Int = { Int(time(nil)) }) { self.now = now }

    var stats: Stats { counters.withLock { $0 } }

    /// The cached value for `key` while it is fresh; else `fetch` runs and its answer (with its expiry)
    /// is kept. A failed fetch falls back to the old value while it is inside its grace period, with a
    /// warning on `logger`. Values without an expiry, or already past it, are used once and not kept.
    /// `reactor`: where the caller runs (a waiter's answer is delivered there); nil: no sharing.
    func obtain(_ table: Table, key: String, reactor: Reactor?, logger: Logger?,
                fetch: (@escaping (Result<(Value, expiresAt: Int?), RegistryError>) -> Void) -> Void,
                done: @escaping (Result<Value, RegistryError>) -> Void) {
        let fullKey = "\(table):\(key)"
        let t = now()
        let old = entries.withLock { $0[fullKey] }
        if let old, t < old.expiresAt - Self.renewBefore {
            counters.withLock { $0.hits += 1 }
            Self.mask(old.value)
            return done(.success(old.value))
        }
        if let reactor {
            let joined = pending.withLock { p -> Bool in
                if p[fullKey] != nil {
                    p[fullKey]!.append(Waiter(reactor: reactor, done: done))
                    return true
                }
                p[fullKey] = []
                return false
            }
            if joined {
                counters.withLock { $0.joined += 1 }
                return
            }
        }
        let done: (Result<Value, RegistryError>) -> Void = { [self] result in
            let waiters = pending.withLock { $0.removeValue(forKey: fullKey) } ?? []
            done(result)
            for w in waiters { w.reactor.execute { w.done(result) } }
        }
        fetch { [self] result in
            switch result {
            case .success(let (value, expiresAt)):
                counters.withLock { s in
                    switch table {
                    case .identity: s.identityFetches += 1
                    case .roleSession: s.roleSessions += 1
                    case .ecrLogin: s.ecrLogins += 1
                    }
                }
                let at = now()
                if let expiresAt, expiresAt > at {
                    store(fullKey, Entry(value: value, expiresAt: min(expiresAt, at + Self.maxLifetime)))
                } else {
                    entries.withLock { _ = $0.removeValue(forKey: fullKey) }
                }
                done(.success(value))
            case .failure(let e):
                if let old, now() < old.expiresAt - Self.graceBefore {
                    counters.withLock { $0.keptAfterFailedRenewal += 1 }
                    Self.mask(old.value)
                    logger?.warn("renewing an AWS session failed; the current one is used until it expires",
                                 [("what", .string(key)), ("expiresAt", .int(old.expiresAt)), ("error", .string(e.description))])
                    return done(.success(old.value))
                }
                done(.failure(e))
            }
        }
    }

    /// Registers a cached value's secrets for masking again, so that a busy service's newer secrets
    /// (the masking set keeps the latest few hundred) never push out one still in use.
    static func mask(_ value: Value) {
        switch value {
        case .credentials(let c):
            for s in [c.secretAccessKey, c.sessionToken].compactMap({ $0 }) { Redaction.register(secret: s) }
        case .login(let l):
            if let p = l.credentials.password { Redaction.register(secret: p) }
        }
    }

    private func store(_ key: String, _ entry: Entry) {
        entries.withLock { table in
            table[key] = entry
            if table.count > Self.maxEntries, let soonest = table.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key {
                table.removeValue(forKey: soonest)
            }
        }
    }

    /// Forgets everything (tests).
    func reset() {
        entries.withLock { $0.removeAll() }
        counters.withLock { $0 = Stats() }
    }
}
