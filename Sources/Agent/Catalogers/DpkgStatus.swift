// Byte-level reader of dpkg's status format (RFC-822-like stanzas with continuation lines) and of dpkg's
// install states; no regex, no splitting of the whole file into strings.
#if canImport(Glibc)
import Glibc
#endif

/// The fields of one status stanza that the dpkg cataloger reads. Values are trimmed; the fields read are
/// single-line, so continuation lines (Description, Conffiles, ...) are skipped.
public struct DpkgStanza: Sendable, Equatable {
    public var package: String?
    public var version: String?
    public var architecture: String?
    public var source: String?
    public var status: String?
    public var maintainer: String?
    public var installedSize: String?
    /// The line (1-based) where the stanza starts, for warnings.
    public var line: Int

    public init(line: Int) { self.line = line }
}

public enum DpkgStatusParser {
    /// Most stanzas read from one file; the rest are dropped with a warning.
    public static let maxStanzas = 500_000

    private enum Field: Int, CaseIterable {
        case package, version, architecture, source, status, maintainer, installedSize

        /// Field names in lower case (deb822 field names are case-insensitive).
        var name: [UInt8] {
            switch self {
            case .package: return Array("package".utf8)
            case .version: return Array("version".utf8)
            case .architecture: return Array("architecture".utf8)
            case .source: return Array("source".utf8)
            case .status: return Array("status".utf8)
            case .maintainer: return Array("maintainer".utf8)
            case .installedSize: return Array("installed-size".utf8)
            }
        }
    }

    private static let fieldNames: [(Field, [UInt8])] = Field.allCases.map { ($0, $0.name) }

    /// Splits a status file into stanzas. Lines are separated by LF (a CR before it is dropped); a blank or
    /// whitespace-only line ends a stanza; a line starting with space or tab continues the field above; any
    /// other line is `Name: value`. Malformed lines are reported in `warnings` and skipped.
    public static func parse(_ bytes: [UInt8], work: CatalogWork = CatalogWork(), warnings: inout CatalogWarnings) -> [DpkgStanza] {
        bytes.withUnsafeBufferPointer { parse($0, work: work, warnings: &warnings) }
    }

    static func parse(_ buf: UnsafeBufferPointer<UInt8>, work: CatalogWork = CatalogWork(), warnings: inout CatalogWarnings) -> [DpkgStanza] {
        var stanzas: [DpkgStanza] = []
        var current: DpkgStanza?
        var seen: UInt32 = 0
        var inField = false

        func finish() {
            if let s = current {
                if stanzas.count < maxStanzas {
                    stanzas.append(s)
                } else if stanzas.count == maxStanzas {
                    warnings.add("more than \(maxStanzas) stanzas; the rest are skipped")
                }
            }
            current = nil
            seen = 0
        }

        DatabaseLines.forEach(buf, work: work) { i, end, lineNumber in
            if isBlank(buf, i, end) {
                finish()
                inField = false
                return
            }
            let first = buf[i]
            if first == 0x20 || first == 0x09 {
                if !inField { warnings.add("line \(lineNumber): continuation line outside a field; skipped") }
                return
            }
            var colon = i
            while colon < end, buf[colon] != 0x3A { colon += 1 }
            if colon == end || colon == i {
                warnings.add("line \(lineNumber): not a `Name: value` field; skipped")
                // Lines that follow belong to this broken field; do not report each of them too.
                inField = true
                return
            }
            if current == nil { current = DpkgStanza(line: lineNumber) }
            inField = true
            guard let field = field(buf, i, colon) else { return }
            if seen & (1 << field.rawValue) != 0 {
                warnings.add("line \(lineNumber): field \(String(decoding: UnsafeBufferPointer(rebasing: buf[i..<colon]), as: UTF8.self)) repeated in one stanza; the first is kept")
                return
            }
            seen |= 1 << field.rawValue
            let value = trimmed(buf, colon + 1, end)
            switch field {
            case .package: current?.package = value
            case .version: current?.version = value
            case .architecture: current?.architecture = value
            case .source: current?.source = value
            case .status: current?.status = value
            case .maintainer: current?.maintainer = value
            case .installedSize: current?.installedSize = value
            }
        }
        finish()
        return stanzas
    }

    private static func isBlank(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var k = start
        while k < end {
            let b = buf[k]
            if b != 0x20 && b != 0x09 { return false }
            k += 1
        }
        return true
    }

    private static func field(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Field? {
        let length = end - start
        outer: for (field, name) in fieldNames where name.count == length {
            for k in 0..<length {
                var b = buf[start + k]
                if b >= 0x41 && b <= 0x5A { b |= 0x20 }
                if b != name[k] { continue outer }
            }
            return field
        }
        return nil
    }

    private static func trimmed(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        var s = start, e = end
        while s < e, buf[s] == 0x20 || buf[s] == 0x09 { s += 1 }
        while e > s, buf[e - 1] == 0x20 || buf[e - 1] == 0x09 { e -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: buf[s..<e]), as: UTF8.self)
    }

    /// `Source: name` or `Source: name (version)`; the version is nil when absent or empty.
    public static func splitSource(_ source: String) -> (name: String, version: String?) {
        let u = Array(source.utf8)
        var k = 0
        while k < u.count, u[k] != 0x20, u[k] != 0x09, u[k] != 0x28 { k += 1 }
        let name = String(decoding: u[0..<k], as: UTF8.self)
        var s = k, e = u.count
        while s < e, u[s] == 0x20 || u[s] == 0x09 { s += 1 }
        guard s < e, u[s] == 0x28, u[e - 1] == 0x29, e - s >= 2 else { return (name, nil) }
        s += 1
        e -= 1
        while s < e, u[s] == 0x20 || u[s] == 0x09 { s += 1 }
        while e > s, u[e - 1] == 0x20 || u[e - 1] == 0x09 { e -= 1 }
        return (name, s < e ? String(decoding: u[s..<e], as: UTF8.self) : nil)
    }
}

/// dpkg's `Status: want flag status` field.
public enum DpkgInstallState {
    static let wants: Set<String> = ["unknown", "install", "hold", "deinstall", "purge"]
    static let flags: Set<String> = ["ok", "reinstreq"]
    static let states: Set<String> = ["not-installed", "config-files", "half-installed", "unpacked",
                                      "half-configured", "triggers-awaited", "triggers-pending", "installed"]

    /// Whether a package with this Status counts as installed: any want, flag `ok`, state `installed` (what
    /// `dpkg-query` abbreviates as `?i ` — `ii`, `hi`, `ri`, `pi`, `ui`). Nil when the field is not three known
    /// words.
    public static func isInstalled(_ status: String) -> Bool? {
        let words = status.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count == 3, wants.contains(String(words[0])), flags.contains(String(words[1])),
              states.contains(String(words[2])) else { return nil }
        return words[1] == "ok" && words[2] == "installed"
    }
}
