// Byte-level reader of apk's installed database: blank-line-separated records of `K:value` lines.
#if canImport(Glibc)
import Glibc
#endif

/// The fields of one installed-database record that the apk cataloger reads.
public struct ApkRecord: Sendable, Equatable {
    /// `P:` package name.
    public var name: String?
    /// `V:` full version (`1.2.3-r4`).
    public var version: String?
    /// `A:` architecture.
    public var arch: String?
    /// `o:` origin (the source package).
    public var origin: String?
    /// `L:` license expression.
    public var license: String?
    /// The line (1-based) where the record starts, for warnings.
    public var line: Int

    public init(line: Int) { self.line = line }
}

public enum ApkInstalledParser {
    /// Most records read from one file; the rest are dropped with a warning.
    public static let maxRecords = 500_000

    /// Splits the database into records. Lines are separated by LF (a CR before it is dropped); a blank line
    /// ends a record; every other line is one letter, a colon and a value. Other lines are reported and skipped.
    public static func parse(_ bytes: [UInt8], work: CatalogWork = CatalogWork(), warnings: inout CatalogWarnings) -> [ApkRecord] {
        bytes.withUnsafeBufferPointer { parse($0, work: work, warnings: &warnings) }
    }

    static func parse(_ buf: UnsafeBufferPointer<UInt8>, work: CatalogWork = CatalogWork(), warnings: inout CatalogWarnings) -> [ApkRecord] {
        var records: [ApkRecord] = []
        var current: ApkRecord?

        func finish() {
            if let r = current {
                if records.count < maxRecords {
                    records.append(r)
                } else if records.count == maxRecords {
                    warnings.add("more than \(maxRecords) records; the rest are skipped")
                }
            }
            current = nil
        }

        DatabaseLines.forEach(buf, work: work) { i, end, lineNumber in
            if end == i {
                finish()
                return
            }
            guard end - i >= 2, buf[i + 1] == 0x3A else {
                warnings.add("line \(lineNumber): not a `K:value` line; skipped")
                return
            }
            if current == nil { current = ApkRecord(line: lineNumber) }
            let value = { String(decoding: UnsafeBufferPointer(rebasing: buf[(i + 2)..<end]), as: UTF8.self) }
            switch buf[i] {
            case 0x50: current?.name = value()      // P
            case 0x56: current?.version = value()   // V
            case 0x41: current?.arch = value()      // A
            case 0x6F: current?.origin = value()    // o
            case 0x4C: current?.license = value()   // L
            default: break
            }
        }
        finish()
        return records
    }
}
