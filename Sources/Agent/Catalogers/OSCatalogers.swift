// OS package-database catalogers (dpkg, apk, rpm) and what they share; see docs/packages.md.

import Glibc

public enum OSCatalogers {
    /// The OS package managers' catalogers (`Catalogers.ecosystems` lists them).
    public static var all: [any Cataloger] { Catalogers.ecosystems.filter(\.isOSPackageManager).flatMap { $0.kind.catalogers } }
}

/// The lines of a package database: separated by LF, a CR before the LF dropped, numbered from 1.
enum DatabaseLines {
    /// Calls `body(start, end, lineNumber)` for each line; `buf[start..<end]` is the line without its ending.
    /// Stops early (the lines so far read) once `work` reports the scan stopped.
    static func forEach(_ buf: UnsafeBufferPointer<UInt8>, work: CatalogWork, _ body: (Int, Int, Int) -> Void) {
        guard let base = buf.baseAddress else { return }
        let n = buf.count
        var i = 0, lineNumber = 0
        while i < n {
            lineNumber += 1
            let lineEnd = memchr(base + i, 0x0A, n - i).map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? n
            if work.count(lineEnd - i + 1) { return }
            var end = lineEnd
            if end > i, buf[end - 1] == 0x0D { end -= 1 }
            body(i, end, lineNumber)
            i = lineEnd + 1
        }
    }
}

extension CatalogFile {
    /// The whole file, when it is at most `maxBytes` (`what` names it in the warning otherwise); nil with a
    /// warning when it is too large or cannot be read.
    func wholeBytes(max maxBytes: Int, what: String, warnings: inout CatalogWarnings) -> [UInt8]? {
        guard contents.count <= maxBytes else {
            warnings.add("\(contents.count) bytes is more than \(what) may have (\(maxBytes)); skipped")
            return nil
        }
        do { return try contents.all() } catch {
            warnings.add("cannot read: \(error)")
            return nil
        }
    }
}
