// The agent's settings, read from the environment.
import Core

struct AgentSettings {
    var server: HTTPServerConfiguration
    var logLevel: LogLevel
    var listing: ListingSettings
    /// Checked here so that a bad CALLBACK_* or BROKER_CLIENT_URL stops the agent at start-up.
    var callbacks: CallbackSettings
    var operations = OperationSettings()

    init(_ env: Environment) throws(ConfigurationError) {
        let port = try env.int("SNYK_PORT", default: 17500, range: 0...65535)  // 0: any free port (tests)
        server = try HTTPServerConfiguration.from(env, port: port, host: env["SNYK_HOST"])
        server.serverName = "cr-agent/\(ProductVersion.current)"
        logLevel = try env.logLevel()
        listing = try ListingSettings(env)
        callbacks = try CallbackSettings(environment: env)
        operations = try OperationSettings(env)
        // Read again by each request and scan worker; checked here so a bad value stops the start-up
        // instead of failing every registry call.
        _ = try RegistryOptions.validated(environment: env.values)
    }

    /// The environment as it may be logged (secret values masked), for the debug log at start-up.
    func loggedEnvironment(_ env: Environment) -> [(String, JSON)] {
        let relevant = env.values.keys.filter { k in
            ["SNYK_", "CR_", "BROKER_", "HTTP", "LOG_", "MAX_", "REACTOR_", "SHUTDOWN_", "LIST", "CALLBACK_", "CA_CERT", "NO_PROXY", "AWS_", "SCAN_"].contains { k.uppercased().hasPrefix($0) }
        }.sorted()
        return relevant.map { k in
            let v = env.values[k]!
            let shown = Redaction.isSensitiveName(k) ? Redaction.mask : Redaction.url(v)
            return (k, JSON.string(shown))
        }
    }
}
