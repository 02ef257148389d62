// Go build information embedded by the linker: the `\xff Go buildinf:` blob found as Go's debug/buildinfo
// finds it (the `.go.buildinfo` section, else the first writable data segment), the toolchain version, and
// the module lines (`path`, `mod`, `dep`, `=>`, `build`) parsed as runtime/debug.ParseBuildInfo parses them.

/// One module of a Go build: `mod` or `dep`, with its `=>` replacement.
struct GoModule: Equatable {
    var path = "", version = "", sum = ""
    var replace: [GoModule] = []   // zero or one; an array keeps the type finite

    var isEmpty: Bool { path.isEmpty && version.isEmpty && sum.isEmpty && replace.isEmpty }
}

struct GoBuildInfo {
    /// e.g. `go1.22.1` (possibly with ` X:experiment` after a space).
    var goVersion = ""
    var path = ""
    var main = GoModule()
    var deps: [GoModule] = []
    var settings: [(key: String, value: String)] = []

    func setting(_ key: String) -> String? { settings.first { $0.key == key }?.value }

    static let magic: [UInt8] = [0xFF] + Array(" Go buildinf:".utf8)

    /// The most bytes of a module-info string read through the older pointer format.
    static let maxStringBytes = 4 << 20

    /// Reads the build info of an ELF binary; nil if it is not a Go binary (no blob or no version).
    static func read(_ elf: ELFFile) throws(ScanError) -> GoBuildInfo? {
        var start: UInt64 = 0
        if let s = elf.section(named: ".go.buildinfo") {
            start = s.addr
        } else if let p = elf.segments.first(where: { $0.type == ELFFile.ptLoad && $0.flags & (ELFFile.pfX | ELFFile.pfW) == ELFFile.pfW }) {
            start = p.vaddr
        }
        guard let data = try elf.readData(address: start, size: 64 * 1024) else { return nil }
        guard let at = findBlob(data) else { return nil }
        let blob = Array(data[at...])
        let ptrSize = Int(blob[14])
        // Bytes, not Strings, until the sentinels are off: they are not UTF-8.
        var version: [UInt8] = [], mod: [UInt8] = []
        if blob[15] & 2 != 0 {
            var rest = blob[32...]
            version = decodeString(&rest)
            mod = decodeString(&rest)
        } else {
            let r = ByteReader(bigEndian: blob[15] != 0)
            func ptr(_ b: [UInt8], _ o: Int) -> UInt64 { ptrSize == 4 ? UInt64(r.u32(b, o)) : r.u64(b, o) }
            func string(at addr: UInt64) throws(ScanError) -> [UInt8] {
                let width = ptrSize == 4 ? 4 : 8
                guard let hdr = try elf.readData(address: addr, size: 2 * width), hdr.count == 2 * width else { return [] }
                let dataAddr = ptr(hdr, 0), len = ptr(hdr, width)
                guard len <= UInt64(maxStringBytes), let bytes = try elf.readData(address: dataAddr, size: Int(len)),
                      bytes.count == Int(len) else { return [] }
                return bytes
            }
            version = try string(at: ptr(blob, 16))
            mod = try string(at: ptr(blob, 16 + (ptrSize == 4 ? 4 : 8)))
        }
        guard !version.isEmpty else { return nil }
        // Strip the 16-byte sentinels around the module info (cmd/go's infoStart and infoEnd).
        let m = mod
        let inner = m.count >= 33 && m[m.count - 17] == 0x0A ? String(decoding: m[16..<(m.count - 16)], as: UTF8.self) : ""
        var info = try parse(inner)
        info.goVersion = String(decoding: version, as: UTF8.self)
        return info
    }

    /// The offset of the first 16-byte-aligned magic with a full 32-byte header after it.
    static func findBlob(_ data: [UInt8]) -> Int? {
        var i = 0
        while i + 32 <= data.count {
            if data[i] == 0xFF, Array(data[i..<(i + magic.count)]) == magic { return i }
            i += 16
        }
        return nil
    }

    /// A uvarint length and that many bytes; empty (and the rest emptied) if it does not fit, as in Go
    /// (which also wants at least one byte after the string).
    static func decodeString(_ data: inout ArraySlice<UInt8>) -> [UInt8] {
        var u: UInt64 = 0, shift: UInt64 = 0, n = 0
        for b in data {
            n += 1
            guard n <= 10 else { data = []; return [] }
            u |= UInt64(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
        }
        guard n > 0, n <= data.count, data[data.startIndex + n - 1] < 0x80, u < UInt64(data.count - n) else { data = []; return [] }
        let s = data.startIndex + n
        let out = Array(data[s..<(s + Int(u))])
        data = data[(s + Int(u))...]
        return out
    }

    /// runtime/debug.ParseBuildInfo: the same lines, the same errors (a malformed line fails the whole info).
    static func parse(_ text: String) throws(ScanError) -> GoBuildInfo {
        var info = GoBuildInfo()
        var rest = Substring(text)
        var lineNum = 1
        var last: WritableKeyPath<GoBuildInfo, GoModule>?
        func fail(_ why: String) -> ScanError { ScanError(.corrupt, "Go build info line \(lineNum): \(why)") }
        func module(_ cols: [Substring]) throws(ScanError) -> GoModule {
            guard cols.count == 2 || cols.count == 3 else { throw fail("expected 2 or 3 columns; got \(cols.count)") }
            return GoModule(path: String(cols[0]), version: String(cols[1]), sum: cols.count == 3 ? String(cols[2]) : "")
        }
        // Like Go, a last line without its newline is ignored.
        while let nl = rest.firstIndex(of: "\n") {
            let line = rest[..<nl]
            rest = rest[rest.index(after: nl)...]
            if line.hasPrefix("path\t") {
                info.path = String(line.dropFirst(5))
            } else if line.hasPrefix("mod\t") {
                info.main = try module(line.dropFirst(4).split(separator: "\t", omittingEmptySubsequences: false))
                last = \GoBuildInfo.main
            } else if line.hasPrefix("dep\t") {
                info.deps.append(try module(line.dropFirst(4).split(separator: "\t", omittingEmptySubsequences: false)))
                last = \GoBuildInfo.deps[info.deps.count - 1]
            } else if line.hasPrefix("=>\t") {
                let cols = line.dropFirst(3).split(separator: "\t", omittingEmptySubsequences: false)
                guard cols.count == 3 else { throw fail("expected 3 columns for replacement; got \(cols.count)") }
                guard let target = last else { throw fail("replacement with no module on previous line") }
                info[keyPath: target].replace = [GoModule(path: String(cols[0]), version: String(cols[1]), sum: String(cols[2]))]
                last = nil
            } else if line.hasPrefix("build\t") {
                info.settings.append(try setting(String(line.dropFirst(6)), fail: fail))
            }
            lineNum += 1
        }
        return info
    }

    private static func setting(_ kv: String, fail: (String) -> ScanError) throws(ScanError) -> (key: String, value: String) {
        guard let first = kv.first else { throw fail("build line missing '='") }
        var key: String, raw: Substring
        switch first {
        case "=":
            throw fail("build line with missing key")
        case "`", "\"":
            guard let (k, used) = GoQuoted.prefix(Substring(kv)) else { throw fail("invalid quoted key in build line") }
            let after = Array(kv.utf8).dropFirst(used)
            guard let eq = after.first else { throw fail("build line missing '=' after quoted key") }
            guard eq == UInt8(ascii: "=") else { throw fail("unexpected character after quoted key") }
            key = k
            raw = Substring(String(decoding: after.dropFirst(), as: UTF8.self))
        default:
            guard let eq = kv.firstIndex(of: "=") else { throw fail("build line missing '=' after key") }
            key = String(kv[..<eq])
            raw = kv[kv.index(after: eq)...]
            if key.isEmpty || key.contains(where: { "= \t\r\n\"`".contains($0) }) { throw fail("unquoted key must be quoted") }
        }
        var value = ""
        if let c = raw.first {
            if c == "`" || c == "\"" {
                guard let (v, used) = GoQuoted.prefix(raw), used == raw.utf8.count else { throw fail("invalid quoted value in build line") }
                value = v
            } else {
                if raw.contains(where: { " \t\r\n\"`".contains($0) }) { throw fail("unquoted value must be quoted") }
                value = String(raw)
            }
        }
        return (key, value)
    }
}

/// Go string literals (strconv.Unquote), as `go build` quotes build settings.
enum GoQuoted {
    /// The unquoted value of the literal at the start of `s`, and how many UTF-8 bytes it spans.
    static func prefix(_ s: Substring) -> (String, Int)? {
        let b = Array(s.utf8)
        guard let q = b.first, q == 0x22 || q == 0x60 else { return nil }
        if q == 0x60 {
            guard let end = b.dropFirst().firstIndex(of: 0x60) else { return nil }
            let body = b[1..<end].filter { $0 != 0x0D }
            return (String(decoding: body, as: UTF8.self), end + 1)
        }
        var out: [UInt8] = []
        var i = 1
        while i < b.count {
            let c = b[i]
            if c == 0x22 { return (String(decoding: out, as: UTF8.self), i + 1) }
            if c == 0x0A { return nil }
            guard c == 0x5C else { out.append(c); i += 1; continue }
            guard i + 1 < b.count else { return nil }
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case 0x5C, 0x22: out.append(e)
            case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                let n = e == UInt8(ascii: "x") ? 2 : e == UInt8(ascii: "u") ? 4 : 8
                guard i + n <= b.count, let v = UInt32(String(decoding: b[i..<(i + n)], as: UTF8.self), radix: 16) else { return nil }
                if e == UInt8(ascii: "x") {
                    out.append(UInt8(v))
                } else {
                    guard let u = Unicode.Scalar(v) else { return nil }
                    out.append(contentsOf: String(Character(u)).utf8)
                }
                i += n
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard i + 2 <= b.count, let v = UInt32(String(decoding: b[(i - 1)..<(i + 2)], as: UTF8.self), radix: 8), v <= 255 else { return nil }
                out.append(UInt8(v))
                i += 2
            default:
                return nil
            }
        }
        return nil
    }
}
