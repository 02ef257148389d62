// When to try again: exponential backoff with jitter, honouring Retry-After, bounded in attempts.
import Core
import Glibc

struct RetrySchedule {
    let maxAttempts: Int
    let baseDelayMs: Int
    let maxDelayMs: Int

    /// Retry-After values (seconds, or an HTTP-date that far ahead) accepted; beyond is an error.
    static let retryAfterRange = 0...86_400

    static func isRetryable(status: Int) -> Bool { [408, 429, 500, 502, 503, 504].contains(status) }

    enum RetryAfter: Equatable {
        /// No header, or one in neither form (then the backoff alone applies).
        case absent
        case seconds(Int)
        /// A number or date outside `retryAfterRange`, as written.
        case outOfRange(String)
    }

    /// Reads `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an IMF-fixdate, into `retryAfterRange`.
    static func parseRetryAfter(_ raw: String?, now: Int = Int(time(nil))) -> RetryAfter {
        guard let raw else { return .absent }
        let v = raw.trimmed(" \t")
        if !v.isEmpty && v.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Digits only: anything longer than 9 digits is out of range before it could overflow.
            guard v.utf8.count <= 9, let n = Int(v), retryAfterRange.contains(n) else { return .outOfRange(v) }
            return .seconds(n)
        }
        guard let date = httpDate(v) else { return .absent }
        let (ahead, overflow) = date.subtractingReportingOverflow(now)
        if overflow || ahead > retryAfterRange.upperBound { return .outOfRange(v) }
        return .seconds(max(0, ahead))
    }

    /// Seconds since 1970 of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`; nil when it is not one.
    static func httpDate(_ s: String) -> Int? {
        let parts = s.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", parts[0].hasSuffix(",") else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts[1].count == 2, let day = Int(parts[1]), (1...31).contains(day),
              let monthIndex = months.firstIndex(of: String(parts[2])),
              parts[3].count == 4, let year = Int(parts[3]), (1970...9999).contains(year) else { return nil }
        let hms = parts[4].split(separator: ":")
        guard hms.count == 3, hms.allSatisfy({ $0.count == 2 }), let h = Int(hms[0]), let m = Int(hms[1]), let sec = Int(hms[2]),
              (0...23).contains(h), (0...59).contains(m), (0...60).contains(sec) else { return nil }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
        let month = monthIndex + 1
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + h * 3600 + m * 60 + sec
    }

    /// Delay before attempt `attempt + 1` (attempt counts from 1), or nil when attempts are used up.
    /// A Retry-After of `retryAfterSeconds` is honoured up to `maxDelayMs`.
    func delayMs(afterAttempt attempt: Int, retryAfterSeconds: Int?) -> Int? {
        guard attempt < maxAttempts else { return nil }
        let exp = min(maxDelayMs, baseDelayMs << min(max(attempt - 1, 0), 20))
        let jittered = exp / 2 + Int.random(in: 0...max(exp / 2, 1))
        if let ra = retryAfterSeconds, Self.retryAfterRange.contains(ra) {
            return min(maxDelayMs, max(ra * 1000, jittered))
        }
        return jittered
    }

    /// The same with the header as written; one out of range waits the longest delay.
    func delayMs(afterAttempt attempt: Int, retryAfter: String?) -> Int? {
        switch Self.parseRetryAfter(retryAfter) {
        case .absent: return delayMs(afterAttempt: attempt, retryAfterSeconds: nil)
        case .seconds(let n): return delayMs(afterAttempt: attempt, retryAfterSeconds: n)
        case .outOfRange: return attempt < maxAttempts ? maxDelayMs : nil
        }
    }
}
