// A small parser for a subcommand's flags: `--name value`, `--name=value`, boolean `--name`, `--` ending
// the flags, and positional arguments. Errors are one-line messages for a usage error (exit 2).

import Core

struct CommandLineFlags {
    struct UsageError: Error, CustomStringConvertible {
        let description: String
        init(_ message: String) { description = message }
    }

    private(set) var values: [String: String] = [:]
    private(set) var switches: Set<String> = []
    private(set) var positional: [String] = []

    /// Parses `arguments` against the flags that take a value (`valued`) and those that do not (`boolean`),
    /// both given without the leading `--`. Short aliases map to a long name (`["-p": "parallel"]`).
    init(_ arguments: [String], valued: Set<String>, boolean: Set<String>, aliases: [String: String] = [:]) throws(UsageError) {
        var i = 0
        var flagsEnded = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if flagsEnded || arg == "-" || !arg.hasPrefix("-") {
                positional.append(arg)
                continue
            }
            if arg == "--" { flagsEnded = true; continue }
            let name: String
            var inline: String?
            if let long = aliases[arg] {
                name = long
            } else if arg.hasPrefix("--") {
                let body = arg.dropFirst(2)
                if let eq = body.firstIndex(of: "=") {
                    name = String(body[..<eq])
                    inline = String(body[body.index(after: eq)...])
                } else {
                    name = String(body)
                }
            } else {
                throw UsageError("unknown option \(arg)")
            }
            if valued.contains(name) {
                if let inline {
                    values[name] = inline
                } else {
                    guard i < arguments.count else { throw UsageError("--\(name) needs a value") }
                    values[name] = arguments[i]
                    i += 1
                }
            } else if boolean.contains(name) {
                if inline != nil { throw UsageError("--\(name) takes no value") }
                switches.insert(name)
            } else {
                throw UsageError("unknown option --\(name)")
            }
        }
    }

    subscript(_ name: String) -> String? { values[name] }
    func has(_ name: String) -> Bool { switches.contains(name) }
}

/// What parsing a subcommand's arguments gave: its options, a request for help, or a usage error.
enum ParsedCommand<Options> {
    case options(Options)
    case help
    case error(String)

    /// The options, or the exit status after printing the usage (0) or the one-line error (2).
    func options(command: String, usage: String) -> Result<Options, ExitStatus> {
        switch self {
        case .options(let o): return .success(o)
        case .help: Console.out(usage); return .failure(ExitStatus(code: 0))
        case .error(let m): Console.err("cr-agent \(command): \(m)\n"); return .failure(ExitStatus(code: 2))
        }
    }
}

struct ExitStatus: Error { let code: Int32 }

extension Environment {
    /// What the registry commands (fetch, list) read from the environment first: LOG_LEVEL (default
    /// warn) and the registry credential chain (RegistryAccess.fromEnvironment).
    func registryCommandSettings() -> Result<(logLevel: LogLevel, access: RegistryAccess), ConfigurationError> {
        do {
            let logLevel = try self.logLevel(default: .warn)
            return RegistryAccess.fromEnvironment(self).map { (logLevel, $0) }
        } catch {
            return .failure(error)
        }
    }
}

/// What every command's options say: how much it logs.
protocol CommandOptions { var logLevel: LogLevel { get } }
