// Plain lines for people on stdout/stderr (CLI messages), written straight to the descriptors.
import Glibc

public enum Console {
    public static func out(_ text: String) { write(1, text) }
    /// Error and progress lines go through the same redaction as log lines: an error may quote a URL
    /// with credentials, a registry's answer, or a secret the user passed.
    public static func err(_ text: String) { write(2, Redaction.text(text)) }

    private static func write(_ fd: Int32, _ text: String) {
        var s = text
        s.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                off += n
            }
        }
    }
}
