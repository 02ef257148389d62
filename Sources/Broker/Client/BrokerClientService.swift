// Runs `broker client` as a process: the local server on PORT (one reactor thread, shared with the
// sockets and the outbound HTTP client), until SIGTERM/SIGINT drains it.
import Core

public enum BrokerClientService {
    /// Serves until a termination signal; returns the exit status. Configuration errors are thrown.
    public static func run(settings: BrokerClientSettings, environment: Environment, logger: Logger,
                           dialer: @escaping TunnelDialer) throws -> Int32 {
        let client = BrokerClient(settings: settings, logger: logger, dialer: dialer)
        var config = try HTTPServerConfiguration.from(environment, port: settings.port)
        // The sockets, the libcurl client and the handlers share one reactor: no state crosses threads.
        config.threads = 1
        config.serverName = "broker-client"
        if let cert = settings.tlsCertificatePath, let key = settings.tlsKeyPath {
            config.tls = try TLSServerContext(certificatePath: cert, keyPath: key)
        }
        let server = try HTTPServer(config: config, router: ClientRoutes.router(for: client), logger: logger)
        let metrics = client.metrics
        server.metrics.addSection { metrics.render() }
        try client.attach(reactor: server.mainReactor, httpConfiguration: HTTPClientConfiguration(environment: environment.values))
        server.onTerminationSignal = { [logger] sig in
            logger.info("signal received; closing the tunnel and draining", [("signal", .int(Int(sig)))])
            client.stop()
            server.beginDrain()
        }
        logger.info("listening", [("port", .int(server.port)), ("server", .string(settings.serverURL)),
                                  ("agent", .string(Redaction.url(settings.agentURL))), ("version", .string(settings.clientVersion))])
        try server.run()
        return 0
    }
}
