// broker: the broker client and server (the tunnel between a scanning service and cr-agent).
import BrokerKit
import Core
import Glibc

let usage = """
broker \(ProductVersion.current): the broker tunnel for cr-agent

Usage:
  broker client          dial out to BROKER_SERVER_URL and forward allowed requests to CR_AGENT_URL
  broker server          accept broker clients and expose /broker/<token>/*
  broker --help | --version

Settings come from the environment: docs/configuration.md ("broker client", "broker server");
how each end works: docs/broker-client.md, docs/broker-server.md.

"""

/// `broker client`: settings from the environment (one error listing every problem, exit 2), then serve
/// until SIGTERM/SIGINT.
func runClient() -> Int32 {
    let environment = Environment.process()
    let settings: BrokerClientSettings
    switch BrokerClientSettings.fromEnvironment(environment.values) {
    case .success(let s): settings = s
    case .failure(let error):
        Console.err("\(error)\n")   // names itself ("broker client: ...") and lists every problem
        return 2
    }
    let logger = Logger(level: settings.logLevel, fd: 1, component: "broker-client")
    var socketConfiguration = WebSocketConfiguration(environment: environment.values)
    socketConfiguration.maxMessageBytes = settings.maxMessageBytes
    do {
        return try BrokerClientService.run(settings: settings, environment: environment, logger: logger,
                                           dialer: BrokerSocketDialer.make(configuration: socketConfiguration))
    } catch {
        Console.err("broker client: \(error)\n")
        return 2
    }
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "--help", "-h", "help":
    Console.out(usage)
    exit(0)
case "--version", "-V", "version":
    Console.out("broker \(ProductVersion.current)\n")
    exit(0)
case "client":
    exit(runClient())
case "server":
    exit(BrokerServerCommand.run(environment: Environment.process()))
default:
    Console.err("broker: expected client or server (see broker --help)\n")
    exit(2)
}
