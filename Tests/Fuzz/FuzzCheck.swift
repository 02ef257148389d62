// Invariant checks for fuzz targets: a failed check prints its message and aborts, which libFuzzer
// reports as a crash (and keeps the input); replay mode dies the same way.
#if canImport(Glibc)
import Glibc
#endif

@inline(__always)
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fuzzFail(message(), file: file, line: line) }
}

func fuzzFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    writeStderr("FUZZ INVARIANT FAILED at \(file):\(line): \(message)\n")
    abort()
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + off, $0.count - off) }
        if n <= 0 { return }
        off += n
    }
}

/// Input bytes as a short printable string for failure messages.
func fuzzDescribe(_ bytes: UnsafeRawBufferPointer, max: Int = 200) -> String {
    var s = ""
    for b in bytes.prefix(max) {
        switch b {
        case 0x0D: s += "\\r"
        case 0x0A: s += "\\n"
        case 0x5C: s += "\\\\"
        case 0x20..<0x7F: s.unicodeScalars.append(Unicode.Scalar(b))
        default: s += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
        }
    }
    if bytes.count > max { s += "...(\(bytes.count) bytes)" }
    return s
}
