// Running real programs (curl, openssl, python, wrk, our own executables) from tests, time-bounded.
import Foundation

public struct ProcessResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `executable` with `arguments` to completion (killed after `timeout` seconds).
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       timeout: Double = 60, stdin: Data? = nil) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try which(executable))
    p.arguments = arguments
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    // Drain both pipes concurrently, and feed stdin from another thread, so a child that writes while it
    // reads never blocks on a full pipe (and the timeout holds whatever the child does).
    let outData = Locked(Data()), errData = Locked(Data())
    let g = DispatchGroup()
    for (h, box) in [(out.fileHandleForReading, outData), (err.fileHandleForReading, errData)] {
        g.enter()
        DispatchQueue.global().async { box.set(h.readDataToEndOfFile()); g.leave() }
    }
    let input = inp.fileHandleForWriting
    DispatchQueue.global().async {
        if let stdin { try? input.write(contentsOf: stdin) }
        try? input.close()
    }
    p.waitUntilExit()
    killer.cancel()
    _ = g.wait(timeout: .now() + 5)
    return ProcessResult(status: p.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
                         stderr: String(decoding: errData.get(), as: UTF8.self))
}

/// The full path of a program on PATH (or in /usr/sbin).
public func which(_ name: String) throws -> String {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw NSError(domain: "test", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(name) is not installed; run scripts/deps.sh"])
}

/// The project's Python with its test clients (made by scripts/deps.sh).
public var projectPython: String { repositoryRoot.appendingPathComponent(".venv/bin/python").path }

public final class Locked<T>: @unchecked Sendable {   // @unchecked: every access goes through the lock
    private var value: T
    private let lock = NSLock()
    public init(_ v: T) { value = v }
    public func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    public func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    public func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&value); lock.unlock() }
}

/// A long-running child process (a server under test) whose output is collected as it comes.
public final class BackgroundProcess: @unchecked Sendable {  // @unchecked: output buffers are Locked
    public let process = Process()
    private let out = Locked(Data()), err = Locked(Data())
    /// Output pipes that reached end of file (both once the process and its children closed them).
    private let pipesEnded = Locked(0)

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        process.standardInput = FileHandle.nullDevice
        let ended = pipesEnded
        for (h, box) in [(o.fileHandleForReading, out), (e.fileHandleForReading, err)] {
            h.readabilityHandler = { fh in
                let d = fh.availableData
                if d.isEmpty {
                    fh.readabilityHandler = nil
                    ended.mutate { $0 += 1 }
                } else {
                    box.mutate { $0.append(d) }
                }
            }
        }
        try process.run()
    }

    public var stdout: String { String(decoding: out.get(), as: UTF8.self) }
    public var stderr: String { String(decoding: err.get(), as: UTF8.self) }

    /// Waits (bounded) until the process has exited and its output has been read to the end; false if
    /// it is still running after `seconds`.
    @discardableResult
    public func waitForExit(seconds: Double) -> Bool {
        guard waitUntil(seconds: seconds, { !process.isRunning }) else { return false }
        // The last bytes: both pipes at end of file (a child that inherited them may keep them open, hence the bound).
        waitUntil(seconds: 2) { pipesEnded.get() == 2 }
        return true
    }

    /// Sends `signal` and waits (bounded) for the exit; returns the exit status, or nil if it hung.
    public func stop(signal: Int32 = SIGTERM, seconds: Double = 10) -> Int32? {
        if process.isRunning { kill(process.processIdentifier, signal) }
        guard waitForExit(seconds: seconds) else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// A CA and a server certificate for 127.0.0.1/localhost signed by it, made with openssl.
public struct TLSFixture {
    public let directory: URL
    public var caPath: String { directory.appendingPathComponent("ca.pem").path }
    public var certPath: String { directory.appendingPathComponent("server.pem").path }
    public var keyPath: String { directory.appendingPathComponent("server.key").path }

    public init(in dir: URL) throws {
        directory = dir
        let d = dir.path
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "2", "-subj", "/CN=Test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=localhost"],
        ]
        for s in steps { try check(runProcess("openssl", s)) }
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(d)/ext.cnf", atomically: true, encoding: .utf8)
        try check(runProcess("openssl", ["x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                                         "-CAcreateserial", "-out", "\(d)/server.pem", "-days", "2", "-extfile", "\(d)/ext.cnf"]))
    }

    private func check(_ r: ProcessResult) throws {
        if r.status != 0 { throw NSError(domain: "openssl", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
    }
}

/// Starts the cr-agent service on a free port with two reactor threads, optionally under a wrapper
/// command (`["/usr/bin/prlimit", "--nofile=64:64"]`), and waits up to 10 s for the port it logs; the
/// port is 0 when it logged none (the caller fails the test with the process's output).
public func startAgentService(_ extra: [String: String] = [:], under wrapper: [String] = []) throws -> (BackgroundProcess, Int) {
    let env = ["PATH": "/usr/bin:/bin", "SNYK_PORT": "0", "REACTOR_THREADS": "2"].merging(extra) { $1 }
    let command = wrapper + [agentExecutablePath]
    let p = try BackgroundProcess(command[0], Array(command.dropFirst()), environment: env)
    var port = 0
    waitUntil(seconds: 10) {
        if let m = p.stdout.firstMatch(of: /"msg":"listening","port":(\d+)/) { port = Int(m.1)!; return true }
        return !p.process.isRunning
    }
    return (p, port)
}

/// User plus system CPU seconds a process has used so far (/proc/<pid>/stat fields 14 and 15), 0 once
/// it is gone: work done, whatever else the machine is doing.
public func cpuSeconds(_ pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
    return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Starts one of the project's Python test servers (`Tests/<script>` under .venv's python) and waits up to
/// 20 s for the JSON object it prints first; returns the process and that object.
public func startPythonServerWithInfo(_ script: String, _ arguments: [String]) throws -> (BackgroundProcess, [String: Any]) {
    let p = try BackgroundProcess(projectPython, [repositoryRoot.appendingPathComponent("Tests/\(script)").path] + arguments,
                                  environment: ProcessInfo.processInfo.environment)
    var found: [String: Any]?
    waitUntil(seconds: 20) {
        guard let line = p.stdout.split(separator: "\n").first,
              let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return !p.process.isRunning }
        found = obj
        return true
    }
    guard let found else {
        _ = p.stop()
        throw MissingPrerequisite("\(script) did not start: \(p.stderr)")
    }
    return (p, found)
}

/// `startPythonServerWithInfo` for servers whose first line names their `url`.
public func startPythonServer(_ script: String, _ arguments: [String]) throws -> (BackgroundProcess, String) {
    let (p, info) = try startPythonServerWithInfo(script, arguments)
    guard let url = info["url"] as? String else {
        _ = p.stop()
        throw MissingPrerequisite("\(script) printed no url: \(info)")
    }
    return (p, url)
}
