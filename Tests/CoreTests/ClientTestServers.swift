// Real peers for the HTTP client tests: nginx, tinyproxy and an openssl-made CA, in a temp dir each.
import CEpoll
import Foundation
import TestSupport
import XCTest

enum ClientTestError: Error, CustomStringConvertible {
    case failed(String)
    var description: String { if case .failed(let s) = self { return s }; return "" }
}

/// A port nobody listens on right now (bound to 0, read, closed).
func clientFreePort() throws -> Int {
    var port: Int32 = 0
    let fd = cep_listen_tcp("127.0.0.1", 0, 1, 0, &port)
    guard fd >= 0 else { throw ClientTestError.failed("listen: \(fd)") }
    _ = cep_close(fd)
    return Int(port)
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
func clientPortAccepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Runs a short tool (openssl) to completion, bounded by `seconds`.
func clientRunTool(_ path: String, _ args: [String], in dir: URL, seconds: Double = 30) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.currentDirectoryURL = dir
    let errPipe = Pipe()
    p.standardError = errPipe
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    guard waitUntil(seconds: seconds, { !p.isRunning }) else { p.terminate(); throw ClientTestError.failed("\(path) timed out") }
    if p.terminationStatus != 0 {
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        throw ClientTestError.failed("\(path) \(args.joined(separator: " ")) failed: \(err)")
    }
}

/// A child process (nginx, tinyproxy) that must be accepting on `ports` before the test goes on.
final class ClientDaemon {
    let process = Process()
    let name: String
    let logFile: URL

    init(name: String, executable: String, arguments: [String], ports: [Int], logFile: URL) throws {
        self.name = name
        self.logFile = logFile
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let up = waitUntil(seconds: 10) { !process.isRunning || ports.allSatisfy(clientPortAccepts) }
        guard up, process.isRunning else {
            stop()
            throw ClientTestError.failed("\(name) did not start: \(log)")
        }
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        if !waitUntil(seconds: 5, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        _ = waitUntil(seconds: 5) { !process.isRunning }
    }
}

/// nginx in the foreground (`daemon off; master_process off`) with everything under `dir`.
/// `servers` is the body of the http block's server sections; access lines are "$connection $request $status".
func clientStartNginx(in dir: URL, servers: String, ports: [Int]) throws -> ClientDaemon {
    let d = dir.path
    for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi", "dav", "davtmp"] {
        try FileManager.default.createDirectory(atPath: "\(d)/\(sub)", withIntermediateDirectories: true)
    }
    let conf = """
        daemon off;
        master_process off;
        worker_processes 1;
        pid \(d)/nginx.pid;
        error_log \(d)/error.log info;
        events { worker_connections 256; }
        http {
            log_format conn '$connection $request $status';
            access_log \(d)/access.log conn;
            client_body_temp_path \(d)/body;
            proxy_temp_path \(d)/proxy;
            fastcgi_temp_path \(d)/fastcgi;
            uwsgi_temp_path \(d)/uwsgi;
            scgi_temp_path \(d)/scgi;
            default_type application/octet-stream;
            keepalive_requests 10000;
            \(servers)
        }
        """
    try conf.write(toFile: "\(d)/nginx.conf", atomically: true, encoding: .utf8)
    return try ClientDaemon(name: "nginx", executable: "/usr/sbin/nginx",
                            arguments: ["-c", "\(d)/nginx.conf", "-p", d, "-e", "\(d)/error.log"],
                            ports: ports, logFile: dir.appendingPathComponent("error.log"))
}

/// tinyproxy in the foreground on `port`, allowing CONNECT only to `connectPorts`.
func clientStartTinyproxy(in dir: URL, port: Int, connectPorts: [Int]) throws -> ClientDaemon {
    let d = dir.path
    let conf = """
        Port \(port)
        Listen 127.0.0.1
        Timeout 30
        Allow 127.0.0.1
        MaxClients 20
        LogFile "\(d)/tinyproxy.log"
        LogLevel Info
        PidFile "\(d)/tinyproxy.pid"
        \(connectPorts.map { "ConnectPort \($0)" }.joined(separator: "\n"))
        """
    try conf.write(toFile: "\(d)/tinyproxy.conf", atomically: true, encoding: .utf8)
    return try ClientDaemon(name: "tinyproxy", executable: "/usr/bin/tinyproxy", arguments: ["-d", "-c", "\(d)/tinyproxy.conf"],
                            ports: [port], logFile: dir.appendingPathComponent("tinyproxy.log"))
}

/// A throw-away CA (`ca.pem`) and a server certificate for 127.0.0.1 and localhost signed by it
/// (`server.pem`, `server.key`), written to `dir`.
func clientMakeCertificates(in dir: URL) throws {
    let openssl = "/usr/bin/openssl"
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    try clientRunTool(openssl, ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                      "-subj", "/CN=cr-agent test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign"], in: dir)
    try clientRunTool(openssl, ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], in: dir)
    try """
        subjectAltName=IP:127.0.0.1,DNS:localhost
        basicConstraints=CA:FALSE
        keyUsage=digitalSignature,keyEncipherment
        extendedKeyUsage=serverAuth
        """.write(to: dir.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
    try clientRunTool(openssl, ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                      "-out", "server.pem", "-days", "2", "-extfile", "server.ext"], in: dir)
}
