// Turns a ClientRequest into a configured libcurl easy handle wired to its ClientTask's callbacks.
import CEpoll

extension ClientTask {
    /// Creates and configures `easy` for the current request; returns the first setup error.
    /// `reused` is a handle of an earlier request (already reset), or nil for a new one.
    func makeHandle(reusing reused: UnsafeMutableRawPointer?, configuration config: HTTPClientConfiguration,
                    caBundle: UnsafeMutableRawPointer?, resolveList: UnsafeMutablePointer<curl_slist>?) -> HTTPClientError? {
        if let reused {
            if configure(reused, config, caBundle, resolveList) == nil { return nil }
            // libcurl refuses some options on a handle that kept state from its last transfer (7.88.1:
            // CURLOPT_BUFFERSIZE while the handle still holds a receive buffer): start on a new one.
            curl_easy_cleanup(reused)
            curl_slist_free_all(headerList)
            easy = nil; headerList = nil; errorBuffer[0] = 0
            client?.stats.handlesRefused += 1
        }
        guard let h = curl_easy_init() else { return HTTPClientError(.transport, "curl_easy_init failed", request: requestLine) }
        return configure(h, config, caBundle, resolveList)
    }

    private func configure(_ h: UnsafeMutableRawPointer, _ config: HTTPClientConfiguration, _ caBundle: UnsafeMutableRawPointer?,
                           _ resolveList: UnsafeMutablePointer<curl_slist>?) -> HTTPClientError? {
        easy = h
        var rc = CURLE_OK
        func set(_ r: CURLcode) { if rc == CURLE_OK { rc = r } }
        let me = Unmanaged.passUnretained(self).toOpaque()

        set(cep_curl_set_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer))
        set(cep_curl_set_str(h, CURLOPT_URL, request.url))
        set(cep_curl_set_str(h, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(cep_curl_set_long(h, CURLOPT_NOSIGNAL, 1))
        set(cep_curl_set_long(h, CURLOPT_FOLLOWLOCATION, 0))
        // HTTP/2 would multiplex transfers whose pauses then stall each other; one connection each is simpler.
        set(cep_curl_set_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        set(cep_curl_set_long(h, CURLOPT_SSL_VERIFYPEER, 1))
        set(cep_curl_set_long(h, CURLOPT_SSL_VERIFYHOST, 2))
        if let caBundle { set(cep_curl_trust_ca_bundle(h, caBundle)) }
        if let pair = config.clientCertificate {
            set(cep_curl_set_str(h, CURLOPT_SSLCERT, pair.certificateFile))
            set(cep_curl_set_str(h, CURLOPT_SSLKEY, pair.keyFile))
        }
        if let resolveList { set(cep_curl_set_ptr(h, CURLOPT_RESOLVE, resolveList)) }
        if request.connectFilter != nil {
            connectHook.pointee = cep_curl_connect_hook(allow: { ud, family, address, length, port in
                let task = Unmanaged<ClientTask>.fromOpaque(ud!).takeUnretainedValue()
                let bytes = address.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
                return task.mayConnect(to: ConnectAddress(family: family, bytes: bytes, port: Int(port))) ? 1 : 0
            }, userdata: me)
            set(cep_curl_on_connect(h, connectHook))
        }
        // Always explicit, so libcurl never reads proxy variables from the environment itself.
        set(cep_curl_set_str(h, CURLOPT_PROXY, request.bypassesProxy ? "" : config.proxies.proxy(for: request.url)))
        set(cep_curl_set_str(h, CURLOPT_NOPROXY, config.proxies.noProxy ?? ""))
        set(cep_curl_set_long(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1))
        set(cep_curl_set_long(h, CURLOPT_BUFFERSIZE, config.receiveBufferSize))
        set(cep_curl_set_long(h, CURLOPT_CONNECTTIMEOUT_MS, request.timeouts.connect ?? 0))
        set(cep_curl_set_long(h, CURLOPT_TIMEOUT_MS, request.timeouts.total ?? 0))
        if let low = request.timeouts.lowSpeed {
            set(cep_curl_set_long(h, CURLOPT_LOW_SPEED_LIMIT, low.bytesPerSecond))
            set(cep_curl_set_long(h, CURLOPT_LOW_SPEED_TIME, low.seconds))
        }
        if let agent = config.userAgent { set(cep_curl_set_str(h, CURLOPT_USERAGENT, agent)) }

        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        if !request.headers.contains("Expect") { lines.append("Expect:") }   // no 100-continue round trip
        for line in lines {
            guard let list = curl_slist_append(headerList, line) else { return HTTPClientError(.transport, "out of memory", request: requestLine) }
            headerList = list
        }
        set(cep_curl_set_ptr(h, CURLOPT_HTTPHEADER, headerList))

        set(cep_curl_on_header(h, { ptr, size, n, ud in
            Unmanaged<ClientTask>.fromOpaque(ud!).takeUnretainedValue().headerLine(UnsafeRawBufferPointer(start: ptr, count: size * n))
        }, me))
        set(cep_curl_on_write(h, { ptr, size, n, ud in
            Unmanaged<ClientTask>.fromOpaque(ud!).takeUnretainedValue().bodyData(UnsafeRawBufferPointer(start: ptr, count: size * n))
        }, me))

        let method = request.method
        if request.body != nil || ["POST", "PUT", "PATCH"].contains(method) {
            set(cep_curl_set_long(h, CURLOPT_UPLOAD, 1))
            if method != "PUT" { set(cep_curl_set_str(h, CURLOPT_CUSTOMREQUEST, method)) }
            set(cep_curl_set_off(h, CURLOPT_INFILESIZE_LARGE, bodyLength ?? -1))
            set(cep_curl_on_read(h, { ptr, size, n, ud in
                Unmanaged<ClientTask>.fromOpaque(ud!).takeUnretainedValue().readBody(into: UnsafeMutableRawBufferPointer(start: ptr, count: size * n))
            }, me))
            set(cep_curl_on_seek(h, { ud, offset, origin in
                Unmanaged<ClientTask>.fromOpaque(ud!).takeUnretainedValue().seekBody(to: offset, origin: origin)
            }, me))
        } else if method == "GET" {
            set(cep_curl_set_long(h, CURLOPT_HTTPGET, 1))
        } else if method == "HEAD" {
            set(cep_curl_set_long(h, CURLOPT_NOBODY, 1))
        } else {
            set(cep_curl_set_str(h, CURLOPT_CUSTOMREQUEST, method))
        }
        guard rc == CURLE_OK else { return .curl(rc, errorBuffer: String(cString: errorBuffer), request: requestLine) }
        return nil
    }

    /// Content-Length of the request body; nil when streamed without a known length (sent chunked).
    private var bodyLength: Int? {
        switch request.body {
        case .bytes(let b)?: return b.count
        case .stream(let length, _)?: return length
        case nil: return 0
        }
    }

    /// Frees the header list and gives back the easy handle (after it left the multi): reset, for the
    /// next request to reuse, when `keep` takes it; else freed.
    func releaseHandle(keep: (UnsafeMutableRawPointer) -> Bool = { _ in false }) {
        if let easy {
            curl_easy_reset(easy)   // drops every pointer into this task before the header list goes
            if !keep(easy) { curl_easy_cleanup(easy) }
        }
        curl_slist_free_all(headerList)
        easy = nil
        headerList = nil
    }
}
