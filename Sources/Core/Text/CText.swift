// Text out of C: NUL-terminated character buffers and errno values, decoded one way everywhere.
import CEpoll

extension String {
    /// The text of a C character buffer up to its first NUL (all of it when there is none); bytes that
    /// are not UTF-8 become U+FFFD. For buffers a C call filled (`char buf[N]`).
    public init(cChars buf: some Collection<CChar>) {
        self = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The same for raw bytes (a fixed array inside a C struct, e.g. `dirent.d_name`, seen through
    /// `withUnsafeBytes(of:)`).
    public init(cBytes buf: UnsafeRawBufferPointer) {
        self = String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The system's message for an errno value (its sign ignored), e.g. "No such file or directory".
    public init(errno code: Int32) {
        self = String(cString: cep_strerror(code))
    }
}
