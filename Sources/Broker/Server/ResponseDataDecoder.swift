// The framing of a streamed answer (POST /response-data/<token>/<streamingID>, content type
// application/vnd.broker.stream+octet-stream), as snyk's routesHandlers/postResponseHandler.ts reads it:
// a 4-byte little-endian length L, L bytes of JSON {"status":n,"headers":{...}}, then the raw body.
// A pure, restartable decoder: it owns no socket and holds at most the status/headers JSON.
import Core

/// The status line and headers the client's answer starts with.
public struct ResponseDataHead: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
}

public struct ResponseDataError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

public struct ResponseDataDecoder {
    /// Status/headers JSON larger than this is refused (snyk sets no bound; a megabyte of headers is
    /// far past anything an HTTP server would send).
    public static let maxHeadBytes = 1 << 20

    private var lengthBytes: [UInt8] = []
    private var headLength = -1
    private var headBytes: [UInt8] = []
    public private(set) var head: ResponseDataHead?
    public private(set) var bodyBytes = 0

    public init() {}

    /// Consumes `bytes`: calls `onHead` once when the status/headers are complete, then `onBody` with
    /// each run of body bytes (valid only during the call).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, onHead: (ResponseDataHead) -> Void,
                              onBody: (UnsafeRawBufferPointer) -> Void) throws(ResponseDataError) {
        var i = 0
        while head == nil && i < bytes.count {
            if headLength < 0 {
                lengthBytes.append(bytes[i])
                i += 1
                if lengthBytes.count == 4 {
                    let n = Int(lengthBytes[0]) | Int(lengthBytes[1]) << 8 | Int(lengthBytes[2]) << 16 | Int(lengthBytes[3]) << 24
                    guard n > 0 else { throw ResponseDataError(message: "the status/headers length is 0") }
                    guard n <= Self.maxHeadBytes else {
                        throw ResponseDataError(message: "the status/headers length \(n) is over the \(Self.maxHeadBytes) bytes allowed")
                    }
                    headLength = n
                }
                continue
            }
            let take = Swift.min(headLength - headBytes.count, bytes.count - i)
            headBytes.append(contentsOf: bytes[i..<(i + take)])
            i += take
            if headBytes.count == headLength {
                let h = try Self.parseHead(headBytes)
                headBytes = []
                head = h
                onHead(h)
            }
        }
        if head != nil && i < bytes.count {
            bodyBytes += bytes.count - i
            onBody(UnsafeRawBufferPointer(rebasing: bytes[i...]))
        }
    }

    /// The body ended: an error when the status/headers never completed.
    public func finish() throws(ResponseDataError) {
        guard head == nil else { return }
        if headLength < 0 { throw ResponseDataError(message: "the answer ended after \(lengthBytes.count) of the 4 length bytes") }
        throw ResponseDataError(message: "the answer ended after \(headBytes.count) of \(headLength) status/headers bytes")
    }

    /// `{"status":n,"headers":{name: string | number | [string]}}`; the status must be 100...999.
    static func parseHead(_ bytes: [UInt8]) throws(ResponseDataError) -> ResponseDataHead {
        let json: JSON
        do { json = try JSON.parse(bytes, maxDepth: 8) } catch { throw ResponseDataError(message: "status/headers are not JSON: \(error)") }
        guard json.object != nil else { throw ResponseDataError(message: "status/headers are not a JSON object") }
        guard let status = json["status"]?.int, (100...999).contains(status) else {
            throw ResponseDataError(message: "status/headers carry no status in 100...999")
        }
        return ResponseDataHead(status: status, headers: RelayHeaders.fromJSON(json["headers"]))
    }
}
