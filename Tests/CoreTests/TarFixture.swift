// Test data for the stream tests: archives and compressed streams made by real tools (Python's tarfile,
// gzip, zstd) in a temporary directory, and helpers that feed bytes in chunks of a chosen size.
import Core
import Foundation
import TestSupport
import XCTest

enum TarFixture {
    /// Chunk sizes every stream is fed at: byte by byte, odd, one tar block, one zlib output buffer.
    static let chunkSizes = [1, 7, 512, 65536]

    /// Runs `script` with the project's Python in a fresh directory (its path is `sys.argv[1]` and the
    /// working directory) holding `inputs`, and returns every other file the script left there, by name.
    static func python(_ script: String, inputs: [String: [UInt8]] = [:], timeout: Double = 120) throws -> [String: [UInt8]] {
        try inDirectory { dir in
            for (name, bytes) in inputs { try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name)) }
            let path = dir + "/make.py"
            try ("import os, sys\nos.chdir(sys.argv[1])\n" + script).write(toFile: path, atomically: true, encoding: .utf8)
            try check(runProcess(projectPython, [path, dir], timeout: timeout), "python")
            try FileManager.default.removeItem(atPath: path)
            for name in inputs.keys { try FileManager.default.removeItem(atPath: dir + "/" + name) }
            return try files(in: dir)
        }
    }

    /// Runs `command` with /bin/sh in a fresh directory after writing `inputs` there; returns the files.
    static func shell(_ command: String, inputs: [String: [UInt8]] = [:], timeout: Double = 120) throws -> [String: [UInt8]] {
        try inDirectory { dir in
            for (name, bytes) in inputs { try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name)) }
            try check(runProcess("/bin/sh", ["-c", "cd '\(dir)' && " + command], timeout: timeout), command)
            return try files(in: dir)
        }
    }

    static func inDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let dir = NSTemporaryDirectory() + "stream-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    static func files(in dir: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[name] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
        }
        return out
    }

    static func check(_ r: ProcessResult, _ what: String) throws {
        if r.status != 0 {
            throw NSError(domain: "fixture", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: "\(what) failed: \(r.stderr)"])
        }
    }

    /// Calls `body` with consecutive pieces of `bytes`, each `chunk` bytes long (the last may be shorter).
    static func feed(_ bytes: [UInt8], chunk: Int, _ body: (UnsafeRawBufferPointer) throws(StreamError) -> Void) throws(StreamError) {
        try withBytes(bytes) { (all) throws(StreamError) in
            var i = 0
            repeat {
                let end = min(all.count, i + chunk)
                try body(UnsafeRawBufferPointer(rebasing: all[i..<end]))
                i = end
            } while i < all.count
        }
    }

    /// `bytes.withUnsafeBytes` for a body with typed throws (Array's method only rethrows `any Error`).
    static func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(StreamError) -> T) throws(StreamError) -> T {
        let result: Result<T, StreamError> = bytes.withUnsafeBytes { raw in
            do throws(StreamError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The StreamError `body` throws, or nil (and a test failure) when it throws none or another error.
    static func streamError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> StreamError? {
        do {
            try body()
        } catch let e as StreamError {
            return e
        } catch {
            XCTFail("expected a StreamError, got \(error)", file: file, line: line)
            return nil
        }
        XCTFail("expected a StreamError", file: file, line: line)
        return nil
    }
}
