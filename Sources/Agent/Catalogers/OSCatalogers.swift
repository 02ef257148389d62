// OS package-database catalogers (dpkg, apk, rpm), registered in one place; see docs/packages.md.

public enum OSCatalogers {
    public static var all: [any Cataloger] { [DpkgCataloger(), ApkCataloger(), RpmCataloger()] }
}

/// A cataloger's warnings about one file. Each line starts with the file's path; past `limit` lines only a
/// count is kept, so a garbage file cannot flood the report.
public struct PackageDBWarnings: Sendable {
    public let path: String
    public let limit: Int
    public private(set) var lines: [String] = []
    private var dropped = 0

    public init(path: String, limit: Int = 20) {
        self.path = path
        self.limit = limit
    }

    public mutating func add(_ message: String) {
        if lines.count < limit { lines.append("\(path): \(message)") } else { dropped += 1 }
    }

    public var all: [String] { dropped > 0 ? lines + ["\(path): \(dropped) more warnings like these"] : lines }
}

extension CatalogFile {
    /// The whole file, when it is at most `maxBytes` (`what` names it in the warning otherwise); nil with a
    /// warning when it is too large or cannot be read.
    func wholeBytes(max maxBytes: Int, what: String, warnings: inout PackageDBWarnings) -> [UInt8]? {
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
