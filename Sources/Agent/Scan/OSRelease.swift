// The image's operating system, from /etc/os-release (or /usr/lib/os-release) and older fallbacks.
import Core

public struct OSRelease: Sendable, Equatable {
    /// `ID` (`debian`, `alpine`, `rhel`, ...).
    public var id: String
    /// `VERSION_ID` (`12`, `3.19.1`, ...).
    public var versionID: String
    /// `PRETTY_NAME`, e.g. `Debian GNU/Linux 12 (bookworm)`.
    public var prettyName: String
    /// `VERSION_CODENAME` when present.
    public var codename: String?
    /// `ID_LIKE` members.
    public var idLike: [String]

    public init(id: String, versionID: String, prettyName: String, codename: String? = nil, idLike: [String] = []) {
        self.id = id
        self.versionID = versionID
        self.prettyName = prettyName
        self.codename = codename
        self.idLike = idLike
    }

    /// Files that identify the OS, by preference (first found in the merged image wins).
    public static let paths = ["/etc/os-release", "/usr/lib/os-release", "/etc/alpine-release", "/etc/debian_version",
                               "/etc/redhat-release", "/etc/centos-release", "/etc/fedora-release", "/etc/system-release"]

    /// Parses the `KEY=value` lines of os-release (values optionally quoted, with shell escapes).
    public static func parseOSRelease(_ text: String) -> OSRelease? {
        var fields: [String: String] = [:]
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimmed(" \t\r")
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq])
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, let f = value.first, (f == "\"" || f == "'"), value.last == f {
                value = String(value.dropFirst().dropLast())
                if f == "\"" { value = value.replacingBackslashEscapes() }
            }
            fields[key] = value
        }
        guard let id = fields["ID"] else { return nil }
        let version = fields["VERSION_ID"] ?? ""
        let pretty = fields["PRETTY_NAME"] ?? [fields["NAME"] ?? id, version].filter { !$0.isEmpty }.joined(separator: " ")
        return OSRelease(id: id.lowercased(), versionID: version, prettyName: pretty, codename: fields["VERSION_CODENAME"],
                         idLike: (fields["ID_LIKE"] ?? "").split(separator: " ").map(String.init))
    }

    /// Reads an OS identity from one of `paths`' files.
    public static func parse(path: String, contents text: String) -> OSRelease? {
        let firstLine = text.split(separator: "\n").first.map { $0.trimmed(" \t\r") } ?? ""
        switch path {
        case "/etc/os-release", "/usr/lib/os-release":
            return parseOSRelease(text)
        case "/etc/alpine-release":
            return firstLine.isEmpty ? nil : OSRelease(id: "alpine", versionID: firstLine, prettyName: "Alpine Linux v\(firstLine)")
        case "/etc/debian_version":
            return firstLine.isEmpty ? nil : OSRelease(id: "debian", versionID: firstLine.split(separator: ".").first.map(String.init) ?? firstLine,
                                                       prettyName: "Debian GNU/Linux \(firstLine)")
        default:
            // "Red Hat Enterprise Linux release 8.9 (Ootpa)", "CentOS Linux release 7.9.2009 (Core)"
            guard !firstLine.isEmpty else { return nil }
            let words = firstLine.split(separator: " ")
            let version = words.first { $0.first?.isNumber ?? false }.map(String.init) ?? ""
            let lower = firstLine.lowercased()
            let id = lower.hasPrefix("red hat") ? "rhel" : lower.hasPrefix("centos") ? "centos" : lower.hasPrefix("fedora") ? "fedora"
                : String(words.first ?? "linux").lowercased()
            return OSRelease(id: id, versionID: version, prettyName: firstLine)
        }
    }
}

extension StringProtocol {
    func replacingBackslashEscapes() -> String {
        var out = ""
        var escaped = false
        for c in self {
            if escaped { out.append(c); escaped = false } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        return out
    }
}
