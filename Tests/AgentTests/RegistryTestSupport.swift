// Runs registry-client operations on a reactor for a test and returns their results.
@testable import AgentKit
import Core
import TestSupport
import XCTest

struct RegistrySession {
    var base: String
    var credentials = RegistryCredentials.anonymous
    var ca: String? = nil
    var options = RegistryOptions()

    /// Runs `op` on a fresh reactor with a client for this registry; fails the test on timeout.
    func run<T>(seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line,
                _ op: (RegistryClient, @escaping (T) -> Void) -> Void) throws -> T {
        var result: T?
        var keep: (HTTPClient, RegistryClient)?
        let ok = try runOnReactor(seconds: seconds) { reactor, finish in
            let http = try HTTPClient(reactor: reactor, configuration: HTTPClientConfiguration(extraCACertificatesPath: ca))
            let client = RegistryClient(base: try RegistryBase(parsing: base), credentials: credentials, http: http, options: options)
            keep = (http, client)
            op(client) { value in
                result = value
                finish()
            }
        }
        _ = keep
        guard ok, let result else {
            XCTFail("registry operation timed out", file: file, line: line)
            throw RegistryError(.network, registry: base, "timed out")
        }
        return result
    }

    func resolve(_ ref: String) throws -> Result<ResolvedImage, RegistryError> {
        try run { c, done in c.resolve(try! ImageReference(parsing: ref), done: done) }
    }

    /// All names of a listing, the page count, and the outcome.
    func listRepositories() throws -> (names: [String], pages: Int, result: Result<Int, RegistryError>) {
        var names: [String] = []
        var pages = 0
        let r: Result<Int, RegistryError> = try run { c, done in
            c.listRepositories(onPage: { names += $0; pages += 1 }, done: done)
        }
        return (names, pages, r)
    }

    func listTags(_ repo: String) throws -> (names: [String], pages: Int, result: Result<Int, RegistryError>) {
        var names: [String] = []
        var pages = 0
        let r: Result<Int, RegistryError> = try run { c, done in
            c.listTags(repository: repo, onPage: { names += $0; pages += 1 }, done: done)
        }
        return (names, pages, r)
    }

    /// Streams a blob into memory, pausing after every chunk and resuming on the next reactor turn.
    func blob(_ repo: String, _ d: Descriptor, pausing: Bool = false) throws -> (bytes: [UInt8], result: Result<Int, RegistryError>) {
        var bytes: [UInt8] = []
        let r: Result<Int, RegistryError> = try run { c, done in
            var download: BlobDownload?
            download = c.streamBlob(repository: repo, descriptor: d, onChunk: { chunk in
                bytes.append(contentsOf: chunk)
                guard pausing else { return .continue }
                c.http.reactor.schedule(afterMilliseconds: 0) { download?.resume() }
                return .pause
            }, done: done)
        }
        return (bytes, r)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e }; return nil }
    var success: Success? { if case .success(let v) = self { return v }; return nil }
}

func descriptor(_ json: [String: Any], mediaType: String? = nil) throws -> Descriptor {
    var j: [(String, JSON)] = [("digest", .string(json["digest"] as! String)), ("size", .int(json["size"] as! Int))]
    j.append(("mediaType", .string(mediaType ?? (json["mediaType"] as? String ?? ""))))
    return try Descriptor(json: .object(j))
}

/// A test case that shares one misbehaving registry stub (Tests/registry/misbehaving_registry.py) across
/// its tests: started before the first, stopped after the last, reset before each.
class MisbehavingRegistryTestCase: XCTestCase {
    nonisolated(unsafe) static var sharedStub: MisbehavingRegistry?

    override class func setUp() {
        super.setUp()
        do { sharedStub = try MisbehavingRegistry() } catch { XCTFail("cannot start the stub: \(error)") }
    }

    override class func tearDown() {
        sharedStub?.stop()
        sharedStub = nil
        super.tearDown()
    }

    var stub: MisbehavingRegistry { Self.sharedStub! }

    override func setUpWithError() throws { try stub.reset() }
}
