// The parts of a slash-separated path (file paths in layers, URL paths), as POSIX dirname/basename.

public enum SlashPath {
    /// The directory part: `/a/b/c` -> `/a/b`, `/c` -> `/`, `c` -> `.` (POSIX `dirname` for paths
    /// without a trailing slash).
    public static func directory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component: `/a/b/c.jar` -> `c.jar`, `c` -> `c`, `/a/` -> `` (empty).
    public static func baseName(of path: String) -> Substring {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return Substring(path) }
        return path[path.index(after: slash)...]
    }
}
