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

    /// The most bytes read for the version or module-info string (real ones are kilobytes to ~100 KB).
    static let maxStringBytes = 16 << 20
    /// The data searched for the blob is read in chunks of this size (as Go does).
    static let searchChunkBytes = 1 << 20

    /// Reads the build info of an ELF binary; nil if it is not a Go binary (no blob or no version).
    static func read(_ elf: ELFFile, work: CatalogWork = CatalogWork()) throws(ScanError) -> GoBuildInfo? {
        // Go's elfExe.DataStart: the section, else the first writable, non-executable loadable segment.
        var start: UInt64 = 0, size: UInt64 = 0
        if let s = elf.section(named: ".go.buildinfo") {
            (start, size) = (s.addr, s.size)
        } else if let p = elf.segments.first(where: { $0.type == ELFFile.ptLoad && $0.flags & (ELFFile.pfX | ELFFile.pfW) == ELFFile.pfW }) {
            (start, size) = (p.vaddr, p.memsz)
        }
        guard size > 0, let at = try searchMagic(elf, start: start, size: size, work: work) else { return nil }
        guard let header = try elf.readData(address: at, size: 32), header.count == 32 else { return nil }
        var version: [UInt8] = [], mod: [UInt8] = []     // bytes: the module-info sentinels are not UTF-8
        if header[15] & 2 != 0 {
            guard let (v, next) = try decodeString(elf, at: at + 32), let (m, _) = try decodeString(elf, at: next) else { return nil }
            (version, mod) = (v, m)
        } else {
            let ptrSize = Int(header[14])
            guard ptrSize == 4 || ptrSize == 8 else { return nil }
            let r = ByteReader(bigEndian: header[15] & 1 != 0)
            func ptr(_ b: [UInt8], _ o: Int) -> UInt64 { ptrSize == 4 ? UInt64(r.u32(b, o)) : r.u64(b, o) }
            func string(at addr: UInt64) throws(ScanError) -> [UInt8] {
                guard let hdr = try elf.readData(address: addr, size: 2 * ptrSize), hdr.count == 2 * ptrSize else { return [] }
                let dataAddr = ptr(hdr, 0), len = ptr(hdr, ptrSize)
                guard len <= UInt64(maxStringBytes), let bytes = try elf.readData(address: dataAddr, size: Int(len)),
                      bytes.count == Int(len) else { return [] }
                return bytes
            }
            version = try string(at: ptr(header, 16))
            mod = try string(at: ptr(header, 16 + ptrSize))
        }
        guard !version.isEmpty else { return nil }
        // Strip the 16-byte sentinels around the module info (cmd/go's infoStart and infoEnd).
        let inner = mod.count >= 33 && mod[mod.count - 17] == 0x0A ? String(decoding: mod[16..<(mod.count - 16)], as: UTF8.self) : ""
        _ = work.count(inner.utf8.count)
        var info = try parse(inner)
        info.goVersion = String(decoding: version, as: UTF8.self)
        return info
    }

    /// Go's searchMagic: the first 16-byte-aligned magic in [start, start+size) with room for the 32-byte
    /// header, read a chunk at a time. Loadable segments may map the same file bytes at many addresses, so
    /// the search reads at most the file's size (plus one chunk): a sound binary's data is in it once.
    static func searchMagic(_ elf: ELFFile, start: UInt64, size: UInt64, work: CatalogWork = CatalogWork()) throws(ScanError) -> UInt64? {
        let (end, overflow) = start.addingReportingOverflow(size)
        guard !overflow else { return nil }
        let (aligned, wraps) = start.addingReportingOverflow(15)
        guard !wraps else { return nil }
        var at = aligned & ~15
        var bytesLeft = elf.fileSize
        while at < end, bytesLeft > 0 {
            let chunk = Int(min(UInt64(searchChunkBytes), end - at))
            guard let data = try elf.readData(address: at, size: chunk), !data.isEmpty else { return nil }
            if work.count(data.count) { return nil }
            bytesLeft -= data.count
            let remaining = end - at
            if let i = findBlob(data) {
                return remaining - UInt64(i) < 32 ? nil : at + UInt64(i)
            }
            if data.count < chunk { return nil }
            at += UInt64(chunk)
        }
        return nil
    }

    /// The offset of the first 16-byte-aligned magic in `data` (which starts aligned).
    static func findBlob(_ data: [UInt8]) -> Int? {
        var i = 0
        while i + magic.count <= data.count {
            if data[i] == 0xFF, data[i..<(i + magic.count)].elementsEqual(magic) { return i }
            i += 16
        }
        return nil
    }

    /// A uvarint length and that many bytes at `addr`, and the address after them; nil if it does not fit
    /// in the segment (Go: not a Go executable).
    static func decodeString(_ elf: ELFFile, at addr: UInt64) throws(ScanError) -> ([UInt8], UInt64)? {
        guard let b = try elf.readData(address: addr, size: 10), !b.isEmpty else { return nil }
        var u: UInt64 = 0, shift: UInt64 = 0, n = 0
        var done = false
        for byte in b {
            n += 1
            if shift == 63 && byte > 1 { return nil }
            u |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { done = true; break }
            shift += 7
        }
        guard done, u <= UInt64(maxStringBytes) else { return nil }
        let start = addr &+ UInt64(n)
        guard u > 0 else { return ([], start) }
        guard let s = try elf.readData(address: start, size: Int(u)), s.count == Int(u) else { return nil }
        return (s, start &+ u)
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
