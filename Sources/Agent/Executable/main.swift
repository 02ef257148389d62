// cr-agent: the container registry agent's entry point.
import AgentKit
import Core
import Glibc

let arguments = Array(CommandLine.arguments.dropFirst())
exit(AgentCommand.run(arguments: arguments, environment: Environment.process()))
