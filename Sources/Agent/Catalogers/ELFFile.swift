// The parts of an ELF file that locate data by virtual address: the header, program headers and
// section headers with their names, read through `FileContents` at the offsets they give (never whole).

/// An ELF executable or shared object, 32- or 64-bit, either byte order.
struct ELFFile {
    struct Segment {
        let type: UInt32
        let flags: UInt32
        let offset: UInt64
        let vaddr: UInt64
        let filesz: UInt64
        let memsz: UInt64
    }

    struct Section {
        let name: String
        let addr: UInt64
        let offset: UInt64
        let size: UInt64
    }

    static let ptLoad: UInt32 = 1
    static let pfX: UInt32 = 1, pfW: UInt32 = 2

    let is64: Bool
    let bigEndian: Bool
    let machine: UInt16
    let segments: [Segment]
    let sections: [Section]
    private let contents: FileContents

    /// Most program and section headers read; real binaries have a few dozen.
    static let maxHeaders = 4096

    /// Bytes of a section name looked at: the names looked up are short, and a name table without NULs must
    /// not be read to its end once per section.
    static let maxSectionNameBytes = 256

    init(_ contents: FileContents, work: CatalogWork = CatalogWork()) throws(ScanError) {
        self.contents = contents
        let ident = try contents.read(offset: 0, count: 64)
        guard ident.count >= 52, ident[0] == 0x7F, ident[1] == 0x45, ident[2] == 0x4C, ident[3] == 0x46 else {
            throw ScanError(.corrupt, "not an ELF file")
        }
        guard ident[4] == 1 || ident[4] == 2 else { throw ScanError(.corrupt, "unknown ELF class \(ident[4])") }
        guard ident[5] == 1 || ident[5] == 2 else { throw ScanError(.corrupt, "unknown ELF data encoding \(ident[5])") }
        is64 = ident[4] == 2
        bigEndian = ident[5] == 2
        let r = ByteReader(bigEndian: bigEndian)
        guard !is64 || ident.count >= 64 else { throw ScanError(.corrupt, "truncated ELF header") }
        machine = r.u16(ident, 18)
        let phoff = is64 ? r.u64(ident, 32) : UInt64(r.u32(ident, 28))
        let shoff = is64 ? r.u64(ident, 40) : UInt64(r.u32(ident, 32))
        let phentsize = Int(r.u16(ident, is64 ? 54 : 42)), phnum = Int(r.u16(ident, is64 ? 56 : 44))
        let shentsize = Int(r.u16(ident, is64 ? 58 : 46)), shnum = Int(r.u16(ident, is64 ? 60 : 48))
        let shstrndx = Int(r.u16(ident, is64 ? 62 : 50))

        var segments: [Segment] = []
        if phnum > 0 {
            guard phnum <= Self.maxHeaders, phentsize >= (is64 ? 56 : 32), phentsize <= 1024 else { throw ScanError(.corrupt, "bad ELF program header table") }
            let table = try Self.table(contents, offset: phoff, count: phnum, size: phentsize)
            for k in 0..<phnum {
                let o = k * phentsize
                if is64 {
                    segments.append(Segment(type: r.u32(table, o), flags: r.u32(table, o + 4), offset: r.u64(table, o + 8),
                                            vaddr: r.u64(table, o + 16), filesz: r.u64(table, o + 32), memsz: r.u64(table, o + 40)))
                } else {
                    segments.append(Segment(type: r.u32(table, o), flags: r.u32(table, o + 24), offset: UInt64(r.u32(table, o + 4)),
                                            vaddr: UInt64(r.u32(table, o + 8)), filesz: UInt64(r.u32(table, o + 16)),
                                            memsz: UInt64(r.u32(table, o + 20))))
                }
            }
        }
        self.segments = segments

        var sections: [Section] = []
        if shnum > 0, shoff > 0 {
            guard shnum <= Self.maxHeaders, shentsize >= (is64 ? 64 : 40), shentsize <= 1024 else { throw ScanError(.corrupt, "bad ELF section header table") }
            let table = try Self.table(contents, offset: shoff, count: shnum, size: shentsize)
            var raw: [(nameOff: UInt32, addr: UInt64, offset: UInt64, size: UInt64, type: UInt32)] = []
            for k in 0..<shnum {
                let o = k * shentsize
                if is64 {
                    raw.append((r.u32(table, o), r.u64(table, o + 16), r.u64(table, o + 24), r.u64(table, o + 32), r.u32(table, o + 4)))
                } else {
                    raw.append((r.u32(table, o), UInt64(r.u32(table, o + 12)), UInt64(r.u32(table, o + 16)), UInt64(r.u32(table, o + 20)), r.u32(table, o + 4)))
                }
            }
            // Section names: the string table section, read once (capped: names are short).
            var names: [UInt8] = []
            if shstrndx < raw.count, raw[shstrndx].size > 0 {
                guard raw[shstrndx].size <= 1 << 20, raw[shstrndx].offset <= UInt64(Int.max) else { throw ScanError(.corrupt, "ELF section-name table too large") }
                names = try contents.read(offset: Int(raw[shstrndx].offset), count: Int(raw[shstrndx].size))
            }
            for s in raw {
                var name = ""
                if Int(s.nameOff) < names.count {
                    let start = Int(s.nameOff)
                    let limit = min(names.count, start + Self.maxSectionNameBytes)
                    let end = names[start..<limit].firstIndex(of: 0) ?? limit
                    _ = work.count(end - start + 1)
                    name = String(decoding: names[start..<end], as: UTF8.self)
                }
                // SHT_NOBITS (8) occupies no file bytes.
                sections.append(Section(name: name, addr: s.addr, offset: s.offset, size: s.type == 8 ? 0 : s.size))
            }
        }
        self.sections = sections
    }

    private static func table(_ contents: FileContents, offset: UInt64, count: Int, size: Int) throws(ScanError) -> [UInt8] {
        guard offset <= UInt64(contents.count) else { throw ScanError(.corrupt, "ELF header table past the end of the file") }
        let bytes = try contents.read(offset: Int(offset), count: count * size)
        guard bytes.count == count * size else { throw ScanError(.corrupt, "truncated ELF header table") }
        return bytes
    }

    /// Up to `size` bytes at virtual address `addr`, from the loadable segment whose file image holds it
    /// (as Go's debug/buildinfo reads them); nil if no segment maps the address.
    func readData(address addr: UInt64, size: Int) throws(ScanError) -> [UInt8]? {
        for p in segments where p.filesz > 0 && p.vaddr <= addr && addr - p.vaddr < p.filesz {
            let n = min(UInt64(size), p.filesz - (addr - p.vaddr))
            let (fileOffset, overflow) = p.offset.addingReportingOverflow(addr - p.vaddr)
            guard !overflow, fileOffset < UInt64(contents.count) else { return nil }
            return try contents.read(offset: Int(fileOffset), count: Int(n))
        }
        return nil
    }

    func section(named name: String) -> Section? { sections.first { $0.name == name } }

    /// The size of the file itself.
    var fileSize: Int { contents.count }
}

/// Fixed-width integers from byte arrays in a chosen byte order; out-of-range reads give 0.
struct ByteReader {
    let bigEndian: Bool

    func u16(_ b: [UInt8], _ o: Int) -> UInt16 {
        guard o >= 0, o + 2 <= b.count else { return 0 }
        return bigEndian ? UInt16(b[o]) << 8 | UInt16(b[o + 1]) : UInt16(b[o + 1]) << 8 | UInt16(b[o])
    }

    func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        guard o >= 0, o + 4 <= b.count else { return 0 }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(b[o + k]) << (bigEndian ? UInt32(24 - 8 * k) : UInt32(8 * k)) }
        return v
    }

    func u64(_ b: [UInt8], _ o: Int) -> UInt64 {
        guard o >= 0, o + 8 <= b.count else { return 0 }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(b[o + k]) << (bigEndian ? UInt64(56 - 8 * k) : UInt64(8 * k)) }
        return v
    }
}
