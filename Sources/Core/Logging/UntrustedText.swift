// Text that came from an image, a registry or a client: cut to a size before it is kept or logged, and
// made harmless (no control characters, no bidi overrides) before it reaches a terminal.

public enum UntrustedText {
    /// `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary, ending in
    /// "…(N bytes)" when cut, so the reader knows how much is missing. Allocates only what it keeps.
    public static func truncated(_ text: String, maxBytes: Int) -> String {
        let count = text.utf8.count
        guard count > maxBytes else { return text }
        let note = "…(\(count) bytes)"
        return prefix(text, maxBytes: max(0, maxBytes - note.utf8.count)) + note
    }

    /// The longest start of `text` of at most `maxBytes` UTF-8 bytes that ends at a character boundary.
    public static func prefix(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: max(0, maxBytes))
        // Back up to the start of a character (UTF-8 continuation bytes are 0b10xxxxxx).
        while end > text.utf8.startIndex && text.utf8[end] & 0xC0 == 0x80 { end = text.utf8.index(before: end) }
        return String(text.utf8[..<end])!
    }

    /// `text` with every C0/C1 control character, DEL and Unicode bidi override replaced by `?`, so an
    /// image cannot move the cursor, clear the screen, retitle the terminal or reorder what is shown.
    /// Newlines and tabs go too: a caller that prints several lines joins the safe pieces itself.
    public static func terminalSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars { out.append(isUnsafe(s) ? "?" : s) }
        return String(out)
    }

    static func isUnsafe(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            || v == 0x200E || v == 0x200F || v == 0x061C
    }
}
