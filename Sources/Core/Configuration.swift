// Reading settings from the environment, with errors that name the variable at fault.
import CEpoll

public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let variable: String
    public let message: String
    public init(variable: String, message: String) { self.variable = variable; self.message = message }
    public var description: String { "\(variable): \(message)" }
}

/// Typed access to environment variables.
public struct Environment: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    /// The process environment.
    public static func process() -> Environment {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return Environment(out)
    }

    public subscript(_ name: String) -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        return v
    }

    public func int(_ name: String, default d: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let raw = self[name] else { return d }
        guard let v = Int(raw.trimmed(" \t")), range.contains(v) else {
            throw ConfigurationError(variable: name, message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(raw)\"")
        }
        return v
    }

    public func logLevel(default d: LogLevel = .info) throws(ConfigurationError) -> LogLevel {
        guard let raw = self["LOG_LEVEL"] else { return d }
        guard let l = LogLevel(name: raw) else {
            throw ConfigurationError(variable: "LOG_LEVEL", message: "expected debug, info, warn or error, got \"\(raw)\"")
        }
        return l
    }
}

import Glibc
