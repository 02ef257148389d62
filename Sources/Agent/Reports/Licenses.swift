// License strings from package metadata as SPDX expressions, when every id in them is a known SPDX id.

enum SPDXLicense {
    /// The SPDX expression for `raw` (ids in their canonical case, operators upper-case), or nil when
    /// `raw` is not an expression over the ids below. The list is the common subset of the SPDX license
    /// list that both spdx-tools and the CycloneDX 1.5 schema accept (Tests/reports/check_license_ids.py);
    /// anything else is written as a name (CycloneDX) or a LicenseRef (SPDX) rather than guessed.
    static func expression(_ raw: String) -> String? {
        var tokens: [String] = []
        var word = ""
        for c in raw {
            if c == "(" || c == ")" || c.isWhitespace {
                if !word.isEmpty { tokens.append(word); word = "" }
                if !c.isWhitespace { tokens.append(String(c)) }
            } else {
                word.append(c)
            }
        }
        if !word.isEmpty { tokens.append(word) }
        var parser = Parser(tokens: tokens)
        guard !tokens.isEmpty, parser.expression(), parser.index == tokens.count else { return nil }
        var out = ""
        for t in parser.output {
            if !out.isEmpty, out.last != "(", t != ")" { out += " " }
            out += t
        }
        return out
    }

    /// Whether `expression` is a single license id (no operators).
    static func isSingleID(_ expression: String) -> Bool { !expression.contains(" ") && !expression.contains("(") }

    private struct Parser {
        let tokens: [String]
        var index = 0
        var output: [String] = []

        mutating func expression() -> Bool {
            guard term() else { return false }
            while index < tokens.count, let op = ["AND", "OR"].first(where: { $0 == tokens[index].uppercased() }) {
                output.append(op)
                index += 1
                guard term() else { return false }
            }
            return true
        }

        mutating func term() -> Bool {
            guard index < tokens.count else { return false }
            if tokens[index] == "(" {
                output.append("(")
                index += 1
                guard expression(), index < tokens.count, tokens[index] == ")" else { return false }
                output.append(")")
                index += 1
                return true
            }
            guard let id = SPDXLicense.ids[tokens[index].lowercased()] else { return false }
            output.append(id)
            index += 1
            if index < tokens.count, tokens[index].uppercased() == "WITH" {
                guard index + 1 < tokens.count, let e = SPDXLicense.exceptions[tokens[index + 1].lowercased()] else { return false }
                output += ["WITH", e]
                index += 2
            }
            return true
        }
    }

    /// Lower-cased id -> canonical id.
    static let ids: [String: String] = Dictionary(uniqueKeysWithValues: [
        "0BSD", "AFL-2.1", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0", "APSL-2.0",
        "Artistic-1.0", "Artistic-1.0-Perl", "Artistic-2.0", "Beerware", "BlueOak-1.0.0", "BSD-1-Clause", "BSD-2-Clause",
        "BSD-2-Clause-Patent", "BSD-3-Clause", "BSD-3-Clause-Clear", "BSD-4-Clause", "BSD-Source-Code", "BSL-1.0",
        "bzip2-1.0.6", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "CDDL-1.1",
        "CPL-1.0", "curl", "ECL-2.0", "EPL-1.0", "EPL-2.0", "EUPL-1.1", "EUPL-1.2", "FSFAP", "FSFUL", "FSFULLR", "FTL",
        "GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3-only", "GFDL-1.3-or-later", "GPL-1.0-only", "GPL-1.0-or-later",
        "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "HPND", "ICU", "IJG", "Info-ZIP", "IPA",
        "ISC", "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only",
        "LGPL-3.0-or-later", "Libpng", "libtiff", "LPPL-1.3c", "MIT", "MIT-0", "MIT-CMU", "MPL-1.0", "MPL-1.1", "MPL-2.0",
        "MS-PL", "NCSA", "OFL-1.1", "OLDAP-2.8", "OpenSSL", "PHP-3.0", "PHP-3.01", "PostgreSQL", "PSF-2.0", "Python-2.0",
        "Python-2.0.1", "Ruby", "SGI-B-2.0", "Sleepycat", "SSPL-1.0", "TCL", "Unicode-3.0", "Unicode-DFS-2016",
        "Unlicense", "UPL-1.0", "Vim", "W3C", "WTFPL", "X11", "XFree86-1.1", "Zlib", "zlib-acknowledgement", "ZPL-2.1",
        "GPL-2.0", "GPL-2.0+", "GPL-3.0", "GPL-3.0+", "LGPL-2.0", "LGPL-2.0+", "LGPL-2.1", "LGPL-2.1+", "LGPL-3.0",
        "LGPL-3.0+", "AGPL-3.0", "GFDL-1.2", "GFDL-1.3", "GPL-1.0", "GPL-1.0+"
    ].map { ($0.lowercased(), $0) })

    static let exceptions: [String: String] = Dictionary(uniqueKeysWithValues: [
        "Autoconf-exception-2.0", "Autoconf-exception-3.0", "Bison-exception-2.2", "Classpath-exception-2.0",
        "FLTK-exception", "GCC-exception-2.0", "GCC-exception-3.1", "LLVM-exception", "OpenJDK-assembly-exception-1.0",
        "openvpn-openssl-exception", "Qt-LGPL-exception-1.1", "Universal-FOSS-exception-1.0", "WxWindows-exception-3.1",
        "Font-exception-2.0", "Linux-syscall-note"
    ].map { ($0.lowercased(), $0) })
}
