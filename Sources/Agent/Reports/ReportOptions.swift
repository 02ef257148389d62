// Options every report format shares: who wrote it, when, and how reproducibly (SOURCE_DATE_EPOCH).
import Core
import Glibc

/// Settings for rendering a report. Build one from the environment with `init(environment:)`; every
/// render function is then a pure function of the inventory and these options (apart from the random
/// serial number an SBOM gets when the options are not reproducible).
public struct ReportOptions: Sendable {
    /// The tool named in SBOM metadata.
    public var toolName = "cr-agent"
    public var toolVersion = ProductVersion.current
    /// The document's creation time, in seconds since the Unix epoch.
    public var created: Int
    /// True when `created` came from SOURCE_DATE_EPOCH: serial numbers and namespaces are then derived
    /// from the document's contents instead of drawn at random, so equal inputs give equal bytes.
    public var reproducible: Bool
    /// Indent JSON output. nil: each format's default (SBOMs indented, the snyk result compact).
    public var prettyJSON: Bool?
    /// Table: the widest a line may be; the LOCATION column is shortened to fit. nil: no limit.
    public var tableWidth: Int?
    /// Where SPDX document namespaces live (a URI without `#`).
    public var spdxNamespaceBase = "https://cr-agent.invalid/spdx"

    public init(created: Int, reproducible: Bool) {
        self.created = created
        self.reproducible = reproducible
    }

    /// Reads SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/): when set, it is
    /// the creation time and identifiers become reproducible; otherwise the time is now.
    public init(environment: Environment) throws(ConfigurationError) {
        if let raw = environment["SOURCE_DATE_EPOCH"] {
            guard let epoch = Int(raw.trimmed(" \t\r")), epoch >= 0, epoch < 253_402_300_800 else {
                throw ConfigurationError(variable: "SOURCE_DATE_EPOCH",
                                         message: "expected seconds since 1970-01-01 as a non-negative integer, got \"\(raw)\"")
            }
            self.init(created: epoch, reproducible: true)
        } else {
            self.init(created: Int(time(nil)), reproducible: false)
        }
    }

    /// `created` as RFC 3339 UTC (`2024-01-31T12:00:00Z`).
    public var createdTimestamp: String { ReportTime.rfc3339(created) }
}

enum ReportTime {
    /// Seconds since the epoch as `YYYY-MM-DDThh:mm:ssZ` (proleptic Gregorian, UTC).
    static func rfc3339(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secs = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-\(two(month))-\(two(day))T"
            + "\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
    }
}

enum DocumentID {
    /// A UUID string: derived from `seed` (RFC 9562 version 8, SHA-256 based) when given, else random (version 4).
    static func uuid(seed: [UInt8]?) -> String {
        guard let seed else { return UUIDString.random() }
        let h = SHA256()
        h.update(seed)
        var b = Array(hexBytes(h.finalizeHex()).prefix(16))
        b[6] = (b[6] & 0x0F) | 0x80     // version 8
        b[8] = (b[8] & 0x3F) | 0x80     // RFC 9562 variant
        return UUIDString.format(b)
    }

    /// The first 16 hex digits of SHA-256 over `text`: a short, stable identifier.
    static func shortHash(_ text: String) -> String {
        let h = SHA256()
        h.update(Array(text.utf8))
        return String(h.finalizeHex().prefix(16))
    }

    private static func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : c - 48 }
        while let hi = it.next(), let lo = it.next() { out.append(nibble(hi) << 4 | nibble(lo)) }
        return out
    }
}
