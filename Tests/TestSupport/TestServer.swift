// Runs an HTTPServer on a background thread for a test, and stops it with a graceful drain.
import Core
import Foundation

public final class TestServer: Sendable {
    public let server: HTTPServer
    public var port: Int { server.port }
    public var metrics: ServerMetrics { server.metrics }
    private let stopped = Counter()

    public init(router: Router, configure: (inout HTTPServerConfiguration) -> Void = { _ in }, logger: Logger? = nil) throws {
        var config = HTTPServerConfiguration()
        config.host = "127.0.0.1"
        config.threads = 1
        configure(&config)
        server = try HTTPServer(config: config, router: router, logger: logger ?? Logger(level: .error, fd: 2, component: "test"))
        let s = server
        let flag = stopped
        let t = Thread {
            try? s.run(handleSignals: false)
            flag.increment()
        }
        t.start()
    }

    public var hasStopped: Bool { stopped.count > 0 }

    /// Begins a drain and waits (bounded) until the server's run() has returned.
    @discardableResult
    public func stop(seconds: Double = 10) -> Bool {
        server.beginDrain()
        return waitUntil(seconds: seconds) { hasStopped }
    }
}
