// The one error type of the outbound HTTP client: what failed, curl's own words and code name.
import CEpoll

/// Why an outbound request did not complete.
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// libcurl failed the transfer (connect, TLS, timeout, protocol, ...); see `curlCode`.
        case transport
        /// `ClientTask.cancel()` was called, or the client shut down.
        case cancelled
        /// `HTTPClient.fetch` saw more body bytes than its cap.
        case bodyTooLarge
        /// The request body producer returned `.failed`.
        case bodyProducerFailed
        /// The client could not be set up (e.g. the CA_CERT file is unreadable).
        case configuration
        /// The request's `connectFilter` refused every address the host resolved to; nothing was sent.
        case refused
    }

    public let kind: Kind
    /// What happened, in libcurl's words for transport errors.
    public let message: String
    /// The CURLcode for `.transport` errors.
    public let curlCode: Int?
    /// The CURLcode's identifier, e.g. `CURLE_OPERATION_TIMEDOUT`.
    public let curlCodeName: String?
    /// "METHOD url" of the request (the hop that failed, after redirects).
    public let request: String

    public init(_ kind: Kind, _ message: String, request: String = "", curlCode: Int? = nil) {
        self.kind = kind
        self.message = message
        self.request = request
        self.curlCode = curlCode
        self.curlCodeName = curlCode.map { String(cString: cep_curl_code_name(Int32($0))) }
    }

    public var description: String {
        let what = request.isEmpty ? "HTTP request" : request
        return "\(what) failed: \(message)" + (curlCodeName.map { " (\($0))" } ?? "")
    }

    /// A transport error from a CURLcode and the handle's error buffer (empty when curl left none).
    static func curl(_ code: CURLcode, errorBuffer: String, request: String) -> HTTPClientError {
        let text = errorBuffer.isEmpty ? String(cString: curl_easy_strerror(code)) : errorBuffer
        return HTTPClientError(.transport, text, request: request, curlCode: Int(code.rawValue))
    }
}
