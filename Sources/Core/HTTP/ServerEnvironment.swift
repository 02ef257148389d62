// The server settings every service reads from its environment (timeouts, threads, TLS).

extension HTTPServerConfiguration {
    /// Reads REACTOR_THREADS, HTTP_HEADER_TIMEOUT_MS, HTTP_IDLE_TIMEOUT_MS, HTTP_BODY_TIMEOUT_MS,
    /// SHUTDOWN_TIMEOUT_MS, MAX_CONNECTIONS, HTTP_MAX_PIPELINED_REQUESTS, HTTPS_CERT and HTTPS_KEY
    /// on top of the defaults.
    public static func from(_ env: Environment, port: Int, host: String? = nil) throws(ConfigurationError) -> HTTPServerConfiguration {
        var c = HTTPServerConfiguration()
        c.port = port
        c.host = host
        c.threads = try env.int("REACTOR_THREADS", default: c.threads, range: 1...256)
        c.headerTimeoutMs = try env.int("HTTP_HEADER_TIMEOUT_MS", default: c.headerTimeoutMs, range: 10...3_600_000)
        c.idleTimeoutMs = try env.int("HTTP_IDLE_TIMEOUT_MS", default: c.idleTimeoutMs, range: 10...3_600_000)
        c.bodyTimeoutMs = try env.int("HTTP_BODY_TIMEOUT_MS", default: c.bodyTimeoutMs, range: 10...3_600_000)
        c.drainTimeoutMs = try env.int("SHUTDOWN_TIMEOUT_MS", default: c.drainTimeoutMs, range: 0...3_600_000)
        c.maxConnections = try env.int("MAX_CONNECTIONS", default: c.maxConnections, range: 1...10_000_000)
        c.maxPipelinedRequests = try env.int("HTTP_MAX_PIPELINED_REQUESTS", default: c.maxPipelinedRequests, range: 1...10_000)
        switch (env["HTTPS_CERT"], env["HTTPS_KEY"]) {
        case (nil, nil): break
        case (let cert?, let key?): c.tls = try TLSServerContext(certificatePath: cert, keyPath: key)
        case (nil, _): throw ConfigurationError(variable: "HTTPS_CERT", message: "HTTPS_KEY is set but HTTPS_CERT is not; set both for HTTPS")
        case (_, nil): throw ConfigurationError(variable: "HTTPS_KEY", message: "HTTPS_CERT is set but HTTPS_KEY is not; set both for HTTPS")
        }
        return c
    }
}
