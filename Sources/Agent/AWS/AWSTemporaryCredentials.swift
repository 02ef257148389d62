// Temporary AWS credentials with their expiry, and the checks every answer that hands some out goes
// through (STS's XML, the container endpoint's and IMDS's JSON): bounded fields, an `Expiration` that is a
// real time in range. ISO 8601 as AWS writes it: `2026-12-04T16:00:00Z`, with optional fractions or offset.
import Core
import Glibc

struct AWSTemporaryCredentials: Sendable, Equatable {
    var credentials: AWSCredentials
    /// Seconds since 1970; nil when the answer named none (used once, not cached).
    var expiresAt: Int?
}

enum AWSAnswerLimits {
    /// Bytes of a metadata endpoint's answer read at most (AWS's are under 2 KiB).
    static let metadataBody = 64 << 10
    static let accessKeyID = 128
    static let secretAccessKey = 256
    /// STS session tokens run to a few KiB.
    static let sessionToken = 16 << 10
    /// Seconds since 1970 an expiry may name (up to the year 9999).
    static let expiryRange = 0...253_402_300_799
}

/// What is wrong with an answer that hands out credentials.
struct AWSAnswerError: Error { let message: String }

enum AWSTime {
    /// Seconds since 1970 of `yyyy-MM-ddTHH:mm:ss[.fff](Z|±hh:mm)`; nil when it is not that or is out of range.
    static func parseISO8601(_ raw: String) -> Int? {
        let s = Array(raw.utf8)
        guard s.count >= 20, s.count <= 40 else { return nil }
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= s.count else { return nil }
            var v = 0
            for i in from..<(from + n) {
                guard (0x30...0x39).contains(s[i]) else { return nil }
                v = v * 10 + Int(s[i] - 0x30)
            }
            return v
        }
        guard let year = num(0, 4), s[4] == 0x2D, let month = num(5, 2), s[7] == 0x2D, let day = num(8, 2),
              s[10] == 0x54 || s[10] == 0x74, let hour = num(11, 2), s[13] == 0x3A, let minute = num(14, 2),
              s[16] == 0x3A, let second = num(17, 2),
              (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        if i < s.count && s[i] == 0x2E {
            i += 1
            let start = i
            while i < s.count && (0x30...0x39).contains(s[i]) { i += 1 }
            guard i > start else { return nil }
        }
        var offset = 0
        guard i < s.count else { return nil }
        switch s[i] {
        case 0x5A, 0x7A: i += 1
        case 0x2B, 0x2D:
            guard let oh = num(i + 1, 2), i + 3 < s.count, s[i + 3] == 0x3A, let om = num(i + 4, 2), oh < 24, om < 60 else { return nil }
            offset = (oh * 3600 + om * 60) * (s[i] == 0x2B ? 1 : -1)
            i += 6
        default: return nil
        }
        guard i == s.count else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month - 1)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour)
        t.tm_min = Int32(minute)
        t.tm_sec = Int32(second)
        let seconds = Int(timegm(&t)) - offset
        return AWSAnswerLimits.expiryRange.contains(seconds) ? seconds : nil
    }
}

extension AWSTemporaryCredentials {
    /// The credentials in an answer's fields, checked: present, not empty, within their size limits, and
    /// an `Expiration` (when there is one) that parses and lies within the expiry range. `what` names the
    /// answer in the error.
    static func checked(accessKeyID: String?, secret: String?, token: String?, expiration: String?,
                        what: String) -> Result<AWSTemporaryCredentials, AWSAnswerError> {
        guard let key = accessKeyID, !key.isEmpty, let secret, !secret.isEmpty else {
            return .failure(AWSAnswerError(message: "\(what): the answer has no AccessKeyId and SecretAccessKey"))
        }
        guard key.utf8.count <= AWSAnswerLimits.accessKeyID, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(AWSAnswerError(message: "\(what): AccessKeyId is not an access key ID (over \(AWSAnswerLimits.accessKeyID) bytes, or not printable)"))
        }
        guard secret.utf8.count <= AWSAnswerLimits.secretAccessKey else {
            return .failure(AWSAnswerError(message: "\(what): SecretAccessKey is over \(AWSAnswerLimits.secretAccessKey) bytes"))
        }
        if let token {
            guard token.utf8.count <= AWSAnswerLimits.sessionToken, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                return .failure(AWSAnswerError(message: "\(what): the session token is over \(AWSAnswerLimits.sessionToken) bytes or not printable"))
            }
        }
        var expiresAt: Int?
        if let expiration {
            guard let t = AWSTime.parseISO8601(expiration) else {
                return .failure(AWSAnswerError(message: "\(what): Expiration \"\(UntrustedText.truncated(UntrustedText.terminalSafe(expiration), maxBytes: 40))\" is not an ISO 8601 time within the years 1970...9999"))
            }
            expiresAt = t
        }
        return .success(AWSTemporaryCredentials(credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                                                            sessionToken: token.flatMap { $0.isEmpty ? nil : $0 }),
                                                expiresAt: expiresAt))
    }
}
