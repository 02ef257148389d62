// A gzip member's header (RFC 1952 §2.3) read byte by byte, checked as zlib checks it: the magic, the
// method, no reserved flag bits, and the header CRC-16 when FHCRC is set. The extra field is skipped by
// its length (its subfields are not interpreted), the name and comment up to their NUL: nothing is kept,
// so a header of any length costs no memory. ISA-L's inflate reads the rest.
import CEpoll

struct GzipMemberHeader {
    /// zlib's words for a fault, and how many bytes into the header it shows (0: where reading stopped).
    struct Fault: Error {
        let message: String
        let at: Int
    }

    private enum Part { case fixed, extraLength, extra, name, comment, headerCRC, done }
    private var part = Part.fixed
    private var flags: UInt8 = 0
    /// Bytes read of the current fixed-size part (the 10-byte start, the 2-byte lengths).
    private var seen = 0
    private var extraLength = 0
    private var twoBytes = 0
    private var crc: UInt = 0

    var isDone: Bool { part == .done }

    /// Reads header bytes from `p` (`n` available), stopping after the header's last byte. Returns how
    /// many it used, or the fault.
    mutating func read(_ p: UnsafeRawPointer, _ n: Int) -> Result<Int, Fault> {
        var i = 0
        while i < n && part != .done {
            let b = p.load(fromByteOffset: i, as: UInt8.self)
            if part == .fixed || (part != .headerCRC && flags & 2 != 0) { crc = cep_crc32(crc, p + i, 1) }
            i += 1
            switch part {
            case .fixed:
                switch seen {
                case 0: if b != 0x1f { return .failure(Fault(message: "incorrect header check", at: 2)) }
                case 1: if b != 0x8b { return .failure(Fault(message: "incorrect header check", at: 2)) }
                case 2: if b != 8 { return .failure(Fault(message: "unknown compression method", at: 3)) }
                case 3:
                    if b & 0xe0 != 0 { return .failure(Fault(message: "unknown header flags set", at: 4)) }
                    flags = b
                default: break
                }
                seen += 1
                if seen == 10 { seen = 0; part = next(after: .fixed) }
            case .extraLength:
                twoBytes |= Int(b) << (8 * seen)
                seen += 1
                if seen == 2 {
                    extraLength = twoBytes
                    seen = 0
                    twoBytes = 0
                    part = extraLength > 0 ? .extra : next(after: .extra)
                }
            case .extra:
                extraLength -= 1
                if extraLength == 0 { part = next(after: .extra) }
            case .name:
                if b == 0 { part = next(after: .name) }
            case .comment:
                if b == 0 { part = next(after: .comment) }
            case .headerCRC:
                twoBytes |= Int(b) << (8 * seen)
                seen += 1
                if seen == 2 {
                    if twoBytes != Int(crc & 0xffff) { return .failure(Fault(message: "header crc mismatch", at: 0)) }
                    part = .done
                }
            case .done:
                break
            }
        }
        return .success(i)
    }

    /// The part that follows `part`, skipping those the flags leave out (FEXTRA 4, FNAME 8, FCOMMENT 16, FHCRC 2).
    private func next(after part: Part) -> Part {
        switch part {
        case .fixed: if flags & 4 != 0 { return .extraLength }; fallthrough
        case .extraLength, .extra: if flags & 8 != 0 { return .name }; fallthrough
        case .name: if flags & 16 != 0 { return .comment }; fallthrough
        case .comment: if flags & 2 != 0 { return .headerCRC }; return .done
        case .headerCRC, .done: return .done
        }
    }
}
