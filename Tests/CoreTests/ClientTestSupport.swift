// Running a reactor until a request completes (deadline-bounded), SHA-256 and test file helpers.
import CSystemLibs
import Core
import Foundation
import XCTest

/// Runs `reactor` on this thread until `body`'s `done` is called, or fails the test after `ms`.
func clientRunLoop(_ reactor: Reactor, timeoutMilliseconds ms: Int = 30_000, file: StaticString = #filePath, line: UInt = #line,
                   _ body: (_ done: @escaping () -> Void) -> Void) {
    var finished = false
    let deadline = reactor.schedule(afterMilliseconds: ms) {
        XCTFail("reactor loop timed out after \(ms) ms", file: file, line: line)
        reactor.stop()
    }
    body { finished = true; reactor.stop() }
    reactor.run()   // returns at once (and resets the stop flag) when `done` already ran
    reactor.cancel(deadline)
    _ = finished
}

/// Fetches `request` and returns the outcome, running the reactor until it completes.
func clientFetch(_ client: HTTPClient, _ request: ClientRequest, maxBodyBytes: Int = 1 << 20,
                 file: StaticString = #filePath, line: UInt = #line) -> Result<ClientResponse, HTTPClientError>? {
    var outcome: Result<ClientResponse, HTTPClientError>?
    clientRunLoop(client.reactor, file: file, line: line) { done in
        client.fetch(request, maxBodyBytes: maxBodyBytes) { outcome = $0; done() }
    }
    return outcome
}

extension Result {
    /// The success value, failing the test with the error otherwise.
    func value(file: StaticString = #filePath, line: UInt = #line) -> Success? {
        switch self {
        case .success(let v): return v
        case .failure(let e): XCTFail("unexpected failure: \(e)", file: file, line: line); return nil
        }
    }

    var failure: Failure? { if case .failure(let e) = self { return e }; return nil }
}

extension ClientResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Streaming SHA-256 (OpenSSL EVP), independent of the code under test.
final class ClientSHA256 {
    private let ctx = EVP_MD_CTX_new()
    init() { EVP_DigestInit_ex(ctx, EVP_sha256(), nil) }
    deinit { EVP_MD_CTX_free(ctx) }
    func update(_ bytes: UnsafeRawBufferPointer) { EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count) }
    func hex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var n: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &n)
        return out.map { String(format: "%02x", $0) }.joined()
    }
}

/// Writes `mebibytes` MiB of deterministic pseudo-random bytes (each MiB stamped with its index) and
/// returns their SHA-256.
func clientWriteTestFile(_ url: URL, mebibytes: Int) throws -> String {
    var block = [UInt8](repeating: 0, count: 1 << 20)
    var x: UInt64 = 0x9E37_79B9_7F4A_7C15
    block.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for i in words.indices { x ^= x << 13; x ^= x >> 7; x ^= x << 17; words[i] = x }
    }
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    let out = try FileHandle(forWritingTo: url)
    defer { try? out.close() }
    let sha = ClientSHA256()
    for i in 0..<mebibytes {
        withUnsafeBytes(of: UInt64(i).littleEndian) { stamp in block.withUnsafeMutableBytes { $0.copyMemory(from: stamp) } }
        block.withUnsafeBytes { sha.update($0) }
        try out.write(contentsOf: block)
    }
    return sha.hex()
}

/// A temp dir removed at the end of the test.
func clientTempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cr-client-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}
