// Image configs kept by digest, so that rescanning an image whose layers are cached asks the registry for
// its manifest only. The client checks what a store answers against the digest before using it.
public protocol ConfigStore: AnyObject, Sendable {
    /// The bytes kept for `digest`, at most `maxBytes` of them, if any.
    func config(_ digest: String, maxBytes: Int) -> [UInt8]?
    /// Keeps `config`, whose digest the registry client has checked.
    func keep(config: [UInt8], digest: String)
}
