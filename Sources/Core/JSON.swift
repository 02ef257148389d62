// A small JSON value with a deterministic serializer (keys keep the order they are given in).

public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    /// Equal when the serializations are the same bytes (so `"\u{e9}"` and `"e\u{301}"` differ, as they do
    /// on the wire, though Swift's String equality holds them equal).
    public static func == (a: JSON, b: JSON) -> Bool { a.serializedBytes == b.serializedBytes }

    public var serialized: String { String(decoding: serializedBytes, as: UTF8.self) }

    /// The compact text as UTF-8 bytes (what `serialized` decodes; written into bytes, not a String,
    /// because appending many small pieces to a String costs several times more).
    public var serializedBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    public func write(to out: inout String) { out += serialized }

    /// The compact text appended to `out`. `escapingLineSeparators` also writes U+2028/U+2029 as
    /// `\u2028`/`\u2029`, as text that JavaScript evaluates must have them (Primus's EJSON messages).
    public func write(to out: inout [UInt8], escapingLineSeparators: Bool = false) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d): out += (d.isFinite ? String(d) : "null").utf8
        case .string(let s): JSON.quote(s, into: &out, escapingLineSeparators: escapingLineSeparators)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, v) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out, escapingLineSeparators: escapingLineSeparators)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.quote(k, into: &out, escapingLineSeparators: escapingLineSeparators)
                out.append(UInt8(ascii: ":"))
                v.write(to: &out, escapingLineSeparators: escapingLineSeparators)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func quote(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        quote(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public static func quote(_ s: String, into out: inout [UInt8], escapingLineSeparators: Bool = false) {
        out.append(UInt8(ascii: "\""))
        // Runs of bytes that need no escape are appended whole.
        var text = s
        text.withUTF8 { bytes in
            var run = 0, i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b == 0xE2 {          // U+2028/U+2029 are E2 80 A8/A9
                    guard escapingLineSeparators, i + 2 < bytes.count, bytes[i + 1] == 0x80,
                          bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9 else { i += 1; continue }
                } else if !(b == 0x22 || b == 0x5C || b < 0x20) {
                    i += 1
                    continue
                }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i])) }
                switch b {
                case 0x22: out += "\\\"".utf8
                case 0x5C: out += "\\\\".utf8
                case 0x0A: out += "\\n".utf8
                case 0x0D: out += "\\r".utf8
                case 0x09: out += "\\t".utf8
                case 0xE2: out += (bytes[i + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8
                default:
                    out += "\\u00".utf8
                    out += [hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]]
                }
                i += b == 0xE2 ? 3 : 1
                run = i
            }
            if run < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...])) }
        }
        out.append(UInt8(ascii: "\""))
    }
}
