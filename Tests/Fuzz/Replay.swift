// Replay mode (a plain build): `Fuzz <target> <files or directories...>` runs the target over each file,
// without libFuzzer. Tests use it to replay the committed corpus quickly.
#if canImport(Glibc)
import Glibc
#endif

/// The same path as a C string, for the crash handler (which may not touch Swift objects).
nonisolated(unsafe) private var crashNote: UnsafeMutablePointer<CChar>?
nonisolated(unsafe) private var crashNoteLength = 0
private let crashSignalCount = 6
nonisolated(unsafe) private let crashSignals: UnsafeMutablePointer<Int32> = {
    let p = UnsafeMutablePointer<Int32>.allocate(capacity: crashSignalCount)
    p.initialize(from: [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV], count: crashSignalCount)
    return p
}()
nonisolated(unsafe) private let previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: crashSignalCount)

/// On a crash (a trap in the target or in Core), names the input, then lets the previous handler (the
/// Swift backtracer, or the default action) deal with the signal.
private func installCrashNote() {
    for k in 0..<crashSignalCount {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { sig in
            if let note = crashNote { _ = write(2, note, crashNoteLength) }
            for k in 0..<crashSignalCount where crashSignals[k] == sig { sigaction(sig, previousActions + k, nil) }
            raise(sig)
        }
        sigemptyset(&action.sa_mask)
        sigaction(crashSignals[k], &action, previousActions + k)
    }
}

private func setCrashNote(_ path: String) {
    crashNote?.deallocate()
    let text = Array("Fuzz: crashed on input \(path)\n".utf8CString)
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: text.count)
    buffer.initialize(from: text, count: text.count)
    crashNoteLength = text.count - 1
    crashNote = buffer
}

enum Replay {
    static func run(_ arguments: [String]) -> Int32 {
        guard arguments.count >= 2, !arguments[0].hasPrefix("-") else {
            writeStderr("""
            usage: Fuzz <target> <files or directories...>   replay inputs through a target
                   Fuzz --list                               list the targets
            targets: \(FuzzTargets.names.joined(separator: ", "))
            (build with -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING for libFuzzer; see scripts/fuzz.sh)

            """)
            return 2
        }
        guard let target = FuzzTargets.named(arguments[0]) else {
            writeStderr("Fuzz: unknown target \(arguments[0]); targets: \(FuzzTargets.names.joined(separator: ", "))\n")
            return 2
        }
        var files: [String] = []
        for path in arguments.dropFirst() {
            guard collect(path, into: &files) else {
                writeStderr("Fuzz: cannot read \(path)\n")
                return 2
            }
        }
        installCrashNote()
        for file in files {
            guard let bytes = readFile(file) else {
                writeStderr("Fuzz: cannot read \(file)\n")
                return 2
            }
            setCrashNote(file)
            bytes.withUnsafeBytes { target($0) }
        }
        print("Fuzz: \(arguments[0]): replayed \(files.count) inputs, no failures")
        return 0
    }

    /// Adds `path` if it is a file, or the files below it (sorted, hidden names skipped) if a directory.
    static func collect(_ path: String, into files: inout [String]) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            files.append(path)
            return true
        }
        guard let dir = opendir(path) else { return false }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(dir)
        for name in names.sorted() {
            guard collect(path + "/" + name, into: &files) else { return false }
        }
        return true
    }

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}
