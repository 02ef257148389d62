// Which compression a layer uses: what its media type declares, and what its first bytes say.

/// The compressions a container layer may have.
public enum LayerCompression: String, Sendable, Equatable {
    case gzip, zstd
    /// A plain tar stream.
    case uncompressed

    /// How a warning names it ("... but is zstd", "... but is an uncompressed tar").
    public var phrase: String { self == .uncompressed ? "an uncompressed tar" : rawValue }
}

/// Reads a layer's compression from its media type and from its first bytes (which decide).
public enum CompressionSniffer {
    /// The most leading bytes `sniff` looks at.
    public static let prefixBytes = 10

    /// What the first bytes of a layer are.
    public enum Verdict: Sendable, Equatable {
        case compression(LayerCompression)
        /// A compression no container runtime accepts for layers (xz, bzip2), by name.
        case unsupported(String)
    }

    /// The compression `mediaType` declares (any OCI or Docker layer type, parameters ignored); nil for
    /// media types that are not layer types this scanner knows.
    public static func declared(byMediaType mediaType: String) -> LayerCompression? {
        var t = Substring(mediaType.lowercased())
        if let semicolon = t.firstIndex(of: ";") { t = t[..<semicolon] }
        while t.last == " " { t.removeLast() }
        if t.hasSuffix("+gzip") || t.hasSuffix(".tar.gzip") || t.hasSuffix(".tar.gz") { return .gzip }
        if t.hasSuffix("+zstd") || t.hasSuffix(".tar.zstd") { return .zstd }
        if t.hasSuffix(".tar") { return .uncompressed }
        return nil
    }

    /// Judges the leading bytes of a stream. Magic numbers decide: gzip `1f 8b`, zstd `28 b5 2f fd` (or a
    /// skippable frame `5? 2a 4d 18`), else plain tar (whose "ustar" at offset 257 is optional: old tars
    /// lack it). Returns nil while `prefix` is too short to tell and more bytes may come (`atEnd` false).
    public static func sniff(_ prefix: UnsafeRawBufferPointer, atEnd: Bool) -> Verdict? {
        var undecided = false
        for (magic, verdict) in magics {
            switch match(prefix, magic) {
            case .yes: return verdict
            case .maybe: undecided = true
            case .no: break
            }
        }
        return undecided && !atEnd ? nil : .compression(.uncompressed)
    }

    private enum Match { case yes, no, maybe }

    /// A magic number as (value, mask) pairs: a byte matches when `byte & mask == value`.
    private typealias Magic = [(UInt8, UInt8)]

    private static func exact(_ bytes: [UInt8]) -> Magic { bytes.map { ($0, 0xFF) } }

    private static let magics: [(Magic, Verdict)] = [
        (exact([0x1F, 0x8B]), .compression(.gzip)),
        (exact([0x28, 0xB5, 0x2F, 0xFD]), .compression(.zstd)),
        ([(0x50, 0xF0)] + exact([0x2A, 0x4D, 0x18]), .compression(.zstd)),    // skippable frame 0x184D2A5?
        (exact([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]), .unsupported("xz")),
        // "BZh", a level digit, then the first block's magic (pi) or the end-of-stream magic (sqrt(pi)):
        // "BZh" alone could begin a plain tar's first file name.
        (exact([0x42, 0x5A, 0x68]) + [(0x30, 0xF0)] + exact([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]), .unsupported("bzip2")),
        (exact([0x42, 0x5A, 0x68]) + [(0x30, 0xF0)] + exact([0x17, 0x72, 0x45, 0x38, 0x50, 0x90]), .unsupported("bzip2")),
    ]

    private static func match(_ prefix: UnsafeRawBufferPointer, _ magic: Magic) -> Match {
        for (i, (value, mask)) in magic.enumerated() {
            guard i < prefix.count else { return .maybe }
            if prefix[i] & mask != value { return .no }
        }
        return .yes
    }
}
