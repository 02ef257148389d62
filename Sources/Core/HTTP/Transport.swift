// The byte stream under a connection: a plain socket or an OpenSSL session over it.
import CEpoll

enum TransportResult {
    case bytes(Int)
    case wouldBlock(wantsWritable: Bool)
    case closed
    case failed(String)
}

enum Transport {
    case plain
    case tls(UnsafeMutableRawPointer, handshakeDone: Bool)

    func read(fd: Int32, into buf: UnsafeMutableRawBufferPointer) -> TransportResult {
        let n: Int
        switch self {
        case .plain: n = cep_read(fd, buf.baseAddress, buf.count)
        case .tls(let ssl, _): n = cep_tls_read(ssl, buf.baseAddress, buf.count)
        }
        return Transport.verdict(n)
    }

    func write(fd: Int32, _ buf: UnsafeRawBufferPointer) -> TransportResult {
        let n: Int
        switch self {
        case .plain: n = cep_write(fd, buf.baseAddress, buf.count)
        case .tls(let ssl, _): n = cep_tls_write(ssl, buf.baseAddress, buf.count)
        }
        return Transport.verdict(n)
    }

    static func verdict(_ n: Int) -> TransportResult {
        if n > 0 { return .bytes(n) }
        if n == 0 { return .closed }
        switch n {
        case CEP_AGAIN, CEP_WANT_READ: return .wouldBlock(wantsWritable: false)
        case CEP_WANT_WRITE: return .wouldBlock(wantsWritable: true)
        case CEP_TLS_ERROR: return .failed(TLSServerContext.lastError())
        default: return .failed(String(errno: Int32(truncatingIfNeeded: n)))
        }
    }
}

/// An OpenSSL server context loaded from PEM files (TLS 1.2 and later).
// @unchecked: the SSL_CTX is immutable after loading, and OpenSSL makes SSL_new on it thread-safe.
public final class TLSServerContext: @unchecked Sendable {
    let ctx: UnsafeMutableRawPointer

    public init(certificatePath: String, keyPath: String) throws(ConfigurationError) {
        var err = [CChar](repeating: 0, count: 512)
        guard let c = cep_tls_server_ctx(certificatePath, keyPath, &err, err.count) else {
            throw ConfigurationError(variable: "HTTPS_CERT", message: String(cChars: err))
        }
        ctx = c
    }

    deinit { cep_tls_ctx_free(ctx) }

    func session(fd: Int32) -> UnsafeMutableRawPointer? { cep_tls_new(ctx, fd) }

    static func lastError() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        cep_tls_error_string(&buf, buf.count)
        let s = String(cChars: buf)
        return s.isEmpty ? "TLS error" : s
    }
}
