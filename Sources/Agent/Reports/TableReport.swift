// A table for people: what was scanned, then NAME / VERSION / TYPE / LOCATION, aligned.
import Core

/// Writes the image's identity (reference, digest, ID, OS, platform, package count), a blank line, and
/// one row per package sorted by name (ignoring case), version, type and location, columns padded to their widest cell
/// (like syft's table, plus where each package was found). With `options.tableWidth` the LOCATION
/// column is shortened from the left (`…/tail`) so no line is wider. Warnings follow the table.
public enum TableReport {
    public static func render(_ inventory: ImageInventory, options: ReportOptions) -> [UInt8] {
        Array(text(inventory, width: options.tableWidth).utf8)
    }

    /// Every string from the image or the registry (names, versions, paths, warnings) is shown through
    /// `UntrustedText.terminalSafe`: a table is read on a terminal, which must not act on what it prints.
    public static func text(_ inv: ImageInventory, width: Int? = nil) -> String {
        let safe = UntrustedText.terminalSafe
        var header: [(String, String)] = [("Image:", inv.reference)]
        if let d = inv.manifestDigest { header.append(("Digest:", d)) }
        header.append(("Image ID:", inv.imageID))
        header.append(("OS:", inv.os.map { $0.prettyName.isEmpty ? "\($0.id) \($0.versionID)" : $0.prettyName } ?? "unknown"))
        header.append(("Platform:", inv.platform.description))
        header.append(("Packages:", String(inv.packages.count)))
        let labelWidth = header.map { $0.0.count }.max() ?? 0
        var out = header.map { pad($0.0, labelWidth) + "  " + safe($0.1) }.joined(separator: "\n") + "\n\n"

        // People read names case-insensitively; ties fall back to the byte-wise report order.
        let packages = inv.sortedPackages.enumerated().sorted { a, b in
            let (x, y) = (a.element.qualifiedName.lowercased(), b.element.qualifiedName.lowercased())
            return x != y ? x.precedesInBytes(y) : a.offset < b.offset
        }.map(\.element)
        if packages.isEmpty {
            out += "No packages found in this image.\n"
        } else {
            var rows = [["NAME", "VERSION", "TYPE", "LOCATION"]]
            rows += packages.map { [safe($0.qualifiedName), safe($0.version), $0.syftType, safe($0.location.path)] }
            var widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
            let fixed = widths.reduce(0, +) + 3 * 2
            if let width, width > fixed {
                let room = width - fixed
                rows = rows.map { r in [r[0], r[1], r[2], shortened(r[3], to: room)] }
            }
            widths.append(0)
            for r in rows {
                out += (0..<3).map { pad(r[$0], widths[$0]) + "  " }.joined() + r[3] + "\n"
            }
        }
        if !inv.warnings.isEmpty {
            out += "\n" + inv.warnings.map { "Warning: \(safe($0))\n" }.joined()
        }
        return out
    }

    static func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }

    /// `s`, or `…` and its last characters, in at most `room` characters.
    static func shortened(_ s: String, to room: Int) -> String {
        guard s.count > room else { return s }
        guard room > 1 else { return String(s.suffix(max(0, room))) }
        return "…" + s.suffix(room - 1)
    }
}
