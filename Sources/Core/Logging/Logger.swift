// JSON-lines logging with levels; every line passes through Redaction before it is written.
import CEpoll
import Glibc

public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case debug = 0, info, warn, error

    public init?(name: String) {
        switch name.lowercased() {
        case "debug", "trace": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        default: return nil
        }
    }

    public var name: String { ["debug", "info", "warn", "error"][rawValue] }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Writes one JSON object per line: `{"time":...,"level":...,"msg":...,<fields>}`.
public struct Logger: Sendable {
    public var level: LogLevel
    /// 1 for services (stdout), 2 for CLI commands (stderr).
    public var fd: Int32
    public var component: String
    /// Fields every line of this logger carries after `msg` (an operation's id, for its worker's lines).
    public var fields: [(String, JSON)] = []

    public init(level: LogLevel = .info, fd: Int32 = 1, component: String) {
        self.level = level
        self.fd = fd
        self.component = component
    }

    /// This logger with `extra` added to every line.
    public func with(_ extra: [(String, JSON)]) -> Logger {
        var l = self
        l.fields += extra
        return l
    }

    public func isEnabled(_ l: LogLevel) -> Bool { l >= level }

    // The message and fields are built only for a line that is written (a request's debug line at
    // info level costs nothing).
    public func debug(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, JSON)] = []) {
        if isEnabled(.debug) { log(.debug, msg(), fields()) }
    }
    public func info(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, JSON)] = []) {
        if isEnabled(.info) { log(.info, msg(), fields()) }
    }
    public func warn(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, JSON)] = []) {
        if isEnabled(.warn) { log(.warn, msg(), fields()) }
    }
    public func error(_ msg: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, JSON)] = []) {
        if isEnabled(.error) { log(.error, msg(), fields()) }
    }

    public func log(_ l: LogLevel, _ msg: String, _ fields: [(String, JSON)]) {
        guard l >= level else { return }
        var pairs: [(String, JSON)] = [("time", .string(Logger.timestamp())), ("level", .string(l.name)),
                                       ("component", .string(component)), ("msg", .string(msg))]
        for (k, v) in self.fields + fields { pairs.append((k, Logger.redacted(key: k, v))) }
        var line = Logger.escapingTerminalControls(Redaction.scrub(JSON.object(pairs).serialized))
        line += "\n"
        line.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
                off += n
            }
        }
    }

    /// JSON escapes C0 controls but may carry C1 controls (U+0080-U+009F: 8-bit CSI), DEL and bidi
    /// overrides raw; log lines often end up on a terminal, so those are written as `\uXXXX` too (still
    /// the same JSON string).
    static func escapingTerminalControls(_ line: String) -> String {
        guard line.unicodeScalars.contains(where: UntrustedText.isUnsafe) else { return line }
        var out = ""
        for u in line.unicodeScalars {
            if UntrustedText.isUnsafe(u) {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Field values whose key names a secret are masked whole.
    static func redacted(key: String, _ value: JSON) -> JSON {
        if Redaction.isSensitiveName(key) { return .string(Redaction.mask) }
        if case .object(let pairs) = value { return .object(pairs.map { ($0.0, redacted(key: $0.0, $0.1)) }) }
        return value
    }

    /// RFC 3339 UTC time with milliseconds.
    static func timestamp() -> String {
        let ms = cep_realtime_ms()
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }
}
