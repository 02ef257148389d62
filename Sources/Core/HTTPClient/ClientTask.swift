// One outbound request as it runs: response head parsing, body flow control, redirects, completion.
import CEpoll

/// A running request, returned by `HTTPClient.start` and `fetch`. Use it only on the client's
/// reactor thread.
public final class ClientTask {
    weak var client: HTTPClient?
    /// The request of the current hop (a followed redirect replaces it).
    public private(set) var request: ClientRequest
    var onHead: (ClientResponseHead) -> Void = { _ in }
    var onBody: (UnsafeRawBufferPointer) -> ClientBodyDisposition = { _ in .continue }
    var onComplete: (Result<ClientTransferSummary, HTTPClientError>) -> Void = { _ in }

    /// The current hop's easy handle and what it points into; see ClientEasyHandle.swift.
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CEP_CURL_ERROR_SIZE))
    let connectHook = UnsafeMutablePointer<cep_curl_connect_hook>.allocate(capacity: 1)
    var uploadOffset = 0
    /// Addresses the connect filter refused, and how many it allowed, on the current hop.
    private var refusedConnects: [(address: ConnectAddress, reason: String)] = []
    private var allowedConnects = 0

    private var statusLine: (version: String, status: Int, reason: String)?
    private var headerFields: [(String, String)] = []
    private var head: ClientResponseHead?
    private var holdingForRedirect = false
    private var headDelivered = false

    private var held: [[UInt8]] = []
    private var heldStart = 0
    private var heldBytes = 0
    private var consumerPaused = false
    var curlRecvPaused = false
    var curlSendPaused = false
    private var bodyBytes = 0
    private var redirectsFollowed = 0
    private var connectionsOpened = 0
    private var curlDone = false
    private var abortError: HTTPClientError?
    /// True once the completion handler has run.
    public private(set) var isFinished = false

    init(client: HTTPClient, request: ClientRequest) {
        self.client = client
        self.request = request
        errorBuffer[0] = 0
        connectHook.initialize(to: cep_curl_connect_hook(allow: nil, userdata: nil))
    }

    deinit {
        errorBuffer.deallocate()
        connectHook.deallocate()
    }

    var requestLine: String { "\(request.method) \(request.url)" }

    // MARK: public controls

    /// Stops the request; the completion handler gets `.cancelled` (unless it already ran).
    public func cancel() { abort(HTTPClientError(.cancelled, "cancelled by the caller", request: requestLine)) }

    /// Delivers body chunks again after the consumer returned `.pause` (a call made before that
    /// return, from inside `onBody`, has nothing to resume).
    public func resumeBody() {
        guard !isFinished, consumerPaused else { return }
        consumerPaused = false
        onReactorTurn { $0.drain() }
    }

    /// Asks the body producer again after it returned `.notYet`.
    public func resumeUpload() {
        guard !isFinished, curlSendPaused else { return }
        curlSendPaused = false
        client?.applyPauseState(self)
    }

    // MARK: internal flow

    /// Runs `body` now, or on the next reactor turn when we are inside a libcurl callback, where
    /// libcurl forbids multi calls (CURLM_RECURSIVE_API_CALL).
    private func onReactorTurn(_ body: @escaping (ClientTask) -> Void) {
        guard let client else { return }
        if client.insideCurl {
            client.reactor.schedule(afterMilliseconds: 0) { [weak self] in if let self { body(self) } }
        } else {
            body(self)
        }
    }

    func abort(_ error: HTTPClientError) {
        guard !isFinished, abortError == nil else { return }
        abortError = error
        onReactorTurn { task in
            guard !task.isFinished else { return }
            task.client?.detach(task)
            task.finish(.failure(error))
        }
    }

    /// Called when the client launches a new hop (the first request or a redirect).
    func resetForHop() {
        statusLine = nil; headerFields = []; head = nil
        holdingForRedirect = false; headDelivered = false
        dropHeld()
        uploadOffset = 0; curlRecvPaused = false; curlSendPaused = false; curlDone = false
        errorBuffer[0] = 0
        refusedConnects = []; allowedConnects = 0
    }

    /// The connect hook: asks the request's filter about an address libcurl is about to connect to.
    func mayConnect(to address: ConnectAddress) -> Bool {
        guard let filter = request.connectFilter else { return true }
        if let reason = filter(address) {
            refusedConnects.append((address, reason))
            return false
        }
        allowedConnects += 1
        return true
    }

    /// libcurl finished the current hop (already detached from the multi by the caller).
    func transferDone(code: CURLcode, redirectTarget: String?, connections: Int) {
        curlDone = true
        connectionsOpened = connections
        if let abortError { finish(.failure(abortError)); return }
        guard code == CURLE_OK else {
            finish(.failure(transferError(code)))
            return
        }
        guard let head else {
            finish(.failure(HTTPClientError(.transport, "the server sent no response head", request: requestLine)))
            return
        }
        if holdingForRedirect {
            holdingForRedirect = false
            let redirect = redirectTarget.map { Redirect(hop: redirectsFollowed + 1, response: head, request: request, target: $0) }
            if let redirect, let next = request.redirects.decide(redirect) {
                redirectsFollowed += 1
                request = next
                client?.launch(self)
                return
            }
            deliverHead()
        }
        drain()
    }

    /// A failed hop's error: `.refused` when the connect filter turned down every address it was shown.
    private func transferError(_ code: CURLcode) -> HTTPClientError {
        let curlError = HTTPClientError.curl(code, errorBuffer: String(cString: errorBuffer), request: requestLine)
        guard !refusedConnects.isEmpty else { return curlError }
        var seen = Set<String>()
        let refused = refusedConnects.filter { seen.insert($0.address.ip).inserted }
            .map { "\($0.address.ip) (\($0.reason))" }.joined(separator: ", ")
        if allowedConnects == 0 {
            return HTTPClientError(.refused, "refused to connect to \(refused)", request: requestLine)   // our policy, not curl's error
        }
        return HTTPClientError(.transport, "\(curlError.message); refused to connect to \(refused)",
                               request: requestLine, curlCode: Int(code.rawValue))
    }

    private func finish(_ result: Result<ClientTransferSummary, HTTPClientError>) {
        guard !isFinished else { return }
        isFinished = true
        withExtendedLifetime(self) { completeNow(result) }
    }

    private func completeNow(_ result: Result<ClientTransferSummary, HTTPClientError>) {
        dropHeld()
        client?.taskFinished(self)
        let callback = onComplete
        onHead = { _ in }; onBody = { _ in .continue }; onComplete = { _ in }
        callback(result)
    }

    // MARK: response head (CURLOPT_HEADERFUNCTION)

    /// One line of the head, parsed on its bytes: a String is made only for each name and value.
    func headerLine(_ bytes: UnsafeRawBufferPointer) -> Int {
        if head != nil || abortError != nil { return bytes.count }   // trailers, or being torn down
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        if end == 0 {
            endOfHead()
        } else if end >= 5, bytes[0] == 0x48, bytes[1] == 0x54, bytes[2] == 0x54, bytes[3] == 0x50, bytes[4] == 0x2F {   // "HTTP/"
            statusLine = Self.parseStatusLine(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
            headerFields = []
        } else if bytes[0] == 0x20 || bytes[0] == 0x09, let last = headerFields.popLast() {
            headerFields.append((last.0, last.1 + " " + Self.trimmedText(bytes, 0, end)))   // obsolete line folding
        } else if let colon = bytes[..<end].firstIndex(of: 0x3A) {
            headerFields.append((String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<colon]), as: UTF8.self),
                                 Self.trimmedText(bytes, colon + 1, end)))
        }
        return bytes.count
    }

    /// `HTTP/1.1 200 OK` as (version, status, reason); runs of spaces separate the first two parts.
    private static func parseStatusLine(_ line: UnsafeRawBufferPointer) -> (version: String, status: Int, reason: String) {
        var i = 0
        while i < line.count && line[i] != 0x20 { i += 1 }
        let version = String(decoding: UnsafeRawBufferPointer(rebasing: line[..<i]), as: UTF8.self)
        while i < line.count && line[i] == 0x20 { i += 1 }
        let codeStart = i
        while i < line.count && line[i] != 0x20 { i += 1 }
        var status = 0
        if i - codeStart <= 9 {
            for c in line[codeStart..<i] {
                guard c >= 0x30 && c <= 0x39 else { status = 0; break }
                status = status * 10 + Int(c - 0x30)
            }
        }
        while i < line.count && line[i] == 0x20 { i += 1 }
        return (version, status, String(decoding: UnsafeRawBufferPointer(rebasing: line[i...]), as: UTF8.self))
    }

    /// The text of `bytes[from..<to]` without spaces and tabs at its ends.
    private static func trimmedText(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> String {
        var lo = from, hi = to
        while lo < hi, bytes[lo] == 0x20 || bytes[lo] == 0x09 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 { hi -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lo..<hi]), as: UTF8.self)
    }

    private func endOfHead() {
        guard let status = statusLine else { return }
        statusLine = nil
        if status.status < 200 { headerFields = []; return }   // 1xx interim response
        let headers = HTTPHeaders(headerFields)
        head = ClientResponseHead(status: status.status, reason: status.reason, version: status.version,
                                  headers: headers, url: request.url)
        let isRedirect = (status.status == 301 || status.status == 302 || status.status == 303 || status.status == 307 || status.status == 308) && headers["Location"] != nil
        if isRedirect && redirectsFollowed < request.redirects.maxRedirects {
            holdingForRedirect = true   // decided when the hop ends: CURLINFO_REDIRECT_URL is set only then
        } else {
            deliverHead()
        }
    }

    private func deliverHead() {
        guard !headDelivered, let head else { return }
        headDelivered = true
        onHead(head)
    }

    // MARK: response body (CURLOPT_WRITEFUNCTION)

    func bodyData(_ chunk: UnsafeRawBufferPointer) -> Int {
        if abortError != nil || isFinished { return 0 }   // makes libcurl fail the transfer at once
        if holdingForRedirect {
            if heldBytes + chunk.count <= request.bodyBufferLimit { hold(chunk); return chunk.count }
            holdingForRedirect = false   // too large to hold while undecided: return this 3xx as is
            deliverHead()
            drain()
        }
        deliverHead()
        if !consumerPaused && heldStart == held.count {
            bodyBytes += chunk.count
            if onBody(chunk) == .pause { consumerPaused = true }
            return chunk.count
        }
        if heldBytes >= request.bodyBufferLimit {
            // libcurl keeps this chunk and hands the same bytes over again once unpaused.
            curlRecvPaused = true
            client?.stats.receivePauses += 1
            return Int(CEP_CURL_WRITEFUNC_PAUSE)
        }
        hold(chunk)
        return chunk.count
    }

    private func hold(_ chunk: UnsafeRawBufferPointer) {
        held.append(Array(chunk))
        adjustHeld(chunk.count)
    }

    private func adjustHeld(_ delta: Int) {
        heldBytes += delta
        guard let client else { return }
        client.stats.bufferedBodyBytes += delta
        client.stats.maxBufferedBodyBytes = max(client.stats.maxBufferedBodyBytes, client.stats.bufferedBodyBytes)
    }

    private func dropHeld() {
        adjustHeld(-heldBytes)
        held.removeAll()
        heldStart = 0
    }

    /// Feeds held chunks to the consumer until it pauses, unpauses libcurl once the backlog is down to
    /// half the limit, and completes the request when libcurl is done and nothing is held.
    private func drain() {
        while !consumerPaused, heldStart < held.count, !isFinished, abortError == nil {
            let chunk = held[heldStart]
            held[heldStart] = []
            heldStart += 1
            adjustHeld(-chunk.count)
            bodyBytes += chunk.count
            if chunk.withUnsafeBytes(onBody) == .pause { consumerPaused = true }
        }
        if heldStart == held.count {
            held.removeAll(keepingCapacity: true); heldStart = 0
        } else if heldStart > 64 && heldStart * 2 > held.count {
            held.removeFirst(heldStart); heldStart = 0
        }
        if curlRecvPaused && heldBytes <= request.bodyBufferLimit / 2 {
            curlRecvPaused = false
            client?.applyPauseState(self)
        }
        if curlDone && held.isEmpty && abortError == nil, let head {
            finish(.success(ClientTransferSummary(head: head, bodyBytes: bodyBytes, redirectsFollowed: redirectsFollowed,
                                                  connectionsOpened: connectionsOpened)))
        }
    }

    // MARK: request body (CURLOPT_READFUNCTION / CURLOPT_SEEKFUNCTION)

    func readBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if abortError != nil { return Int(CEP_CURL_READFUNC_ABORT) }
        switch request.body {
        case .bytes(let bytes)?:
            let n = min(buffer.count, bytes.count - uploadOffset)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[uploadOffset..<uploadOffset + n])) }
            uploadOffset += n
            return n
        case .stream(_, let producer)?:
            switch producer(buffer) {
            case .wrote(let n):
                precondition(n > 0 && n <= buffer.count, "a body producer must write 1...buffer.count bytes")
                return n
            case .end:
                return 0
            case .notYet:
                curlSendPaused = true
                return Int(CEP_CURL_READFUNC_PAUSE)
            case .failed(let message):
                abortError = HTTPClientError(.bodyProducerFailed, "request body: \(message)", request: requestLine)
                return Int(CEP_CURL_READFUNC_ABORT)
            }
        case nil:
            return 0
        }
    }

    func seekBody(to offset: Int, origin: Int32) -> Int32 {
        guard case .bytes(let bytes)? = request.body, origin == SEEK_SET, offset >= 0, offset <= bytes.count else {
            return Int32(CEP_CURL_SEEKFUNC_CANTSEEK)
        }
        uploadOffset = offset
        return Int32(CEP_CURL_SEEKFUNC_OK)
    }
}
