// One streamed answer going up to the server: `POST <server>/response-data/<token>/<streamingID>` whose
// body is the 4-byte little-endian length of the status/headers JSON, that JSON, then the agent's body
// (downstream-post-stream-to-server.ts). Bytes wait in a bounded buffer: past the high-water mark the
// source is told to pause, and `onDrained` resumes it once libcurl has taken the buffer below the low mark.
import Core

final class ResponseDataUpload {
    static let contentType = ResponseDataEncoder.contentType
    static let highWaterBytes = 256 * 1024
    static let lowWaterBytes = 64 * 1024
    /// Connection failures retried before any byte went out (CONNECTION_MAX_RETRIES, 500 ms apart).
    static let connectRetries = 3

    private let client: HTTPClient
    private let url: String
    private let headers: HTTPHeaders
    private let retryDelayMilliseconds: Int
    /// No byte moving for this long cuts the upload off (BROKER_CLIENT_POST_TIMEOUT).
    private let idleTimeoutMilliseconds: Int
    private var buffer: [UInt8] = []
    private var readOffset = 0
    private var ended = false
    private var failure: String?
    private var task: ClientTask?
    private var waitingForBytes = false
    private var bytesHandedOver = 0
    private var attempts = 0
    private var done = false

    /// Body bytes of the answer (after the frame's preamble) taken so far.
    private(set) var bodyBytesQueued = 0
    /// Told of the buffer's size after each append (the client keeps the peak for /metrics).
    var onBuffered: ((Int) -> Void)?
    /// Told of every change to the bytes this upload holds (+ appended, - handed to libcurl or dropped),
    /// so the client can bound and report what all its uploads hold together.
    var onHeldChange: ((Int) -> Void)?
    /// Called when the buffer drops below the low-water mark after `append` returned false.
    var onDrained: (() -> Void)?
    /// Called once: the server's status, or why the upload failed.
    var onComplete: ((Result<Int, HTTPClientError>) -> Void)?
    private var sourcePaused = false

    /// The frame's preamble: length of `json` as 4 bytes little-endian, then `json`.
    static func preamble(_ json: JSON) -> [UInt8] {
        let bytes = Array(json.serialized.utf8)
        let n = UInt32(bytes.count)
        return [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8((n >> 24) & 0xFF)] + bytes
    }

    init(client: HTTPClient, url: String, headers: HTTPHeaders, preamble json: JSON, retryDelayMilliseconds: Int = 500,
         idleTimeoutMilliseconds: Int = 1_200_000) {
        self.client = client
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.url = url
        self.headers = headers
        self.retryDelayMilliseconds = retryDelayMilliseconds
        buffer = Self.preamble(json)
    }

    /// The preamble was taken into the buffer before anyone listened: tell the listener now.
    func reportInitialHeld() { onHeldChange?(bufferedBytes) }

    var bufferedBytes: Int { buffer.count - readOffset }

    func start() {
        attempts += 1
        var request = ClientRequest(method: "POST", url: url, headers: headers)
        // snyk's upload has a socket inactivity timeout (20 min by default) and no total: a server that
        // stops reading, or an agent that stops sending, must not hold the call for ever.
        request.timeouts = ClientTimeouts(connect: 30_000, total: nil, lowSpeed: ClientTimeouts.stallRule(milliseconds: idleTimeoutMilliseconds))
        request.body = .stream(length: nil) { [weak self] out in self?.produce(into: out) ?? .failed("upload abandoned") }
        task = client.start(request, onHead: { _ in }, onBody: { _ in .continue }, onComplete: { [weak self] result in
            self?.finished(result)
        })
    }

    /// Queues answer bytes; false when the source should pause until `onDrained`.
    @discardableResult
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !done, !ended else { return false }
        buffer.append(contentsOf: bytes)
        onHeldChange?(bytes.count)
        bodyBytesQueued += bytes.count
        onBuffered?(bufferedBytes)
        wake()
        if bufferedBytes > Self.highWaterBytes { sourcePaused = true; return false }
        return true
    }

    func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { _ = append($0) } }

    /// The answer is complete.
    func finish() {
        guard !done else { return }
        ended = true
        wake()
    }

    /// The source failed midway: the upload is cut off so the server cannot take it for a whole answer.
    func fail(_ reason: String) {
        guard !done else { return }
        failure = reason
        wake()
    }

    /// Stops the upload without waiting (the client is shutting down).
    func cancel() { task?.cancel() }

    private func wake() {
        if waitingForBytes { waitingForBytes = false; task?.resumeUpload() }
    }

    private func produce(into out: UnsafeMutableRawBufferPointer) -> ClientBodyProduction {
        if let failure { return .failed(failure) }
        let available = bufferedBytes
        if available == 0 {
            if ended { return .end }
            waitingForBytes = true
            return .notYet
        }
        let n = min(available, out.count)
        buffer.withUnsafeBytes { src in out.baseAddress!.copyMemory(from: src.baseAddress! + readOffset, byteCount: n) }
        readOffset += n
        bytesHandedOver += n
        onHeldChange?(-n)
        if readOffset >= 64 * 1024 && readOffset * 2 >= buffer.count {
            buffer.removeFirst(readOffset)
            readOffset = 0
        }
        if sourcePaused && bufferedBytes < Self.lowWaterBytes {
            sourcePaused = false
            onDrained?()
        }
        return .wrote(n)
    }

    private func finished(_ result: Result<ClientTransferSummary, HTTPClientError>) {
        task = nil
        if case .failure(let error) = result, bytesHandedOver == 0, attempts <= Self.connectRetries,
           BrokerAnswer.classify(error) == .downstreamUnreachable {
            client.reactor.schedule(afterMilliseconds: retryDelayMilliseconds) { [weak self] in self?.start() }
            return
        }
        done = true
        onHeldChange?(-bufferedBytes)
        onHeldChange = nil
        buffer = []
        readOffset = 0
        let callback = onComplete
        onComplete = nil
        onDrained = nil
        callback?(result.map { $0.head.status })
    }
}
