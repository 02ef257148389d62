// Trimming ASCII characters from both ends of a string: the one implementation every module uses.

extension StringProtocol {
    /// The string without its leading and trailing UTF-8 bytes for which `drop` is true. `drop` should
    /// accept ASCII bytes only: a byte of a multi-byte character is never ASCII, so such characters
    /// are kept whole. Works on bytes, so `"\r\n"` (one Character) is trimmed when both bytes are.
    public func trimming(where drop: (UInt8) -> Bool) -> String {
        let u = utf8
        guard let lo = u.firstIndex(where: { !drop($0) }) else { return "" }
        var hi = u.index(after: lo)        // just past the last byte kept
        var i = hi
        while i < u.endIndex {
            let next = u.index(after: i)
            if !drop(u[i]) { hi = next }
            i = next
        }
        if lo == u.startIndex && hi == u.endIndex, let whole = self as? String { return whole }
        return String(decoding: u[lo..<hi], as: UTF8.self)
    }

    /// The string without leading and trailing characters from `set`, which holds ASCII characters
    /// only (`" \t"`, `" \t\r\n"`).
    public func trimmed(_ set: String) -> String {
        assert(set.utf8.allSatisfy { $0 < 0x80 }, "trimmed(_:) takes ASCII characters only")
        return trimming { set.utf8.contains($0) }
    }

    /// The string without leading and trailing ASCII whitespace (space, tab, LF, VT, FF, CR), as Go's
    /// `strings.TrimSpace` trims ASCII.
    public var trimmedASCIIWhitespace: String { trimming { $0 == 0x20 || (0x09...0x0D).contains($0) } }
}
