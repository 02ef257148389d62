// When to try again: exponential backoff with jitter, honouring Retry-After, bounded in attempts.

struct RetrySchedule {
    let maxAttempts: Int
    let baseDelayMs: Int
    let maxDelayMs: Int

    static func isRetryable(status: Int) -> Bool { [408, 429, 500, 502, 503, 504].contains(status) }

    /// Delay before attempt `attempt + 1` (attempt counts from 1), or nil when attempts are used up.
    func delayMs(afterAttempt attempt: Int, retryAfter: String?) -> Int? {
        guard attempt < maxAttempts else { return nil }
        let exp = min(maxDelayMs, baseDelayMs << min(attempt - 1, 20))
        let jittered = exp / 2 + Int.random(in: 0...max(exp / 2, 1))
        if let ra = retryAfter.flatMap({ Int($0.trimmed(" ")) }), ra >= 0 {
            return min(maxDelayMs, max(ra * 1000, jittered))
        }
        return jittered
    }
}
