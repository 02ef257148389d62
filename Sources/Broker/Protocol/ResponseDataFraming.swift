// The body of `POST /response-data/<token>/<streamingID>` (content type application/vnd.broker.stream+octet-stream):
// a 4-byte little-endian length L, L bytes of `{"status":n,"headers":{...}}`, then the raw answer body.
import Core

/// The status and headers at the front of a response-data stream.
public struct ResponseDataHead: Equatable, Sendable {
    public var status: Int
    /// In order; a header sent as an array (Node's `set-cookie`) is one pair per value.
    public var headers: [(String, String)]
    /// snyk's client adds a classification of failures (`DOWNSTREAM_SERVER_ERROR`, ...); absent on success.
    public var errorType: String?

    public static let statusRange = 100...599
    public static let maxHeaders = 256

    public init(status: Int, headers: [(String, String)], errorType: String? = nil) {
        self.status = status
        self.headers = headers
        self.errorType = errorType
    }

    public static func == (a: ResponseDataHead, b: ResponseDataHead) -> Bool {
        a.status == b.status && a.errorType == b.errorType && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
    }

    /// The JSON as snyk's client writes it (downstream-post-stream-to-server.ts: `{status, headers, errorType}`);
    /// repeated header names are written as one array, as Node holds them.
    public var json: JSON {
        var pairs: [(String, JSON)] = [("status", .int(status)), ("headers", TunnelHeaderFields.json(headers))]
        if let errorType { pairs.append(("errorType", .string(errorType))) }
        return .object(pairs)
    }

    /// Reads the head JSON from a peer. Header names must be HTTP tokens and values must hold no CR, LF or
    /// NUL: the server writes them into the caller's answer, so a bad one would split that answer.
    public init(json: JSON) throws(BrokerProtocolError) {
        guard case .object = json else { throw .responseData("status/headers is not a JSON object") }
        guard let status = json["status"]?.int, Self.statusRange.contains(status) else {
            throw .responseData("status missing or outside \(Self.statusRange)")
        }
        let headers = try TunnelHeaderFields.parse(json["headers"], subject: "header", maxHeaders: Self.maxHeaders,
                                                   acceptsBooleans: true, error: BrokerProtocolError.responseData)
        var errorType: String? = nil
        if let e = json["errorType"], !e.isNull {
            guard let s = e.string, s.utf8.count <= 128 else { throw .responseData("errorType is not a short string") }
            errorType = s
        }
        self.init(status: status, headers: headers, errorType: errorType)
    }

    /// An HTTP token of at most 256 bytes (a header name or method from a peer).
    static func isToken(_ s: String) -> Bool { s.utf8.count <= 256 && HTTPRequestParser.isToken(s) }
}

/// Writes the front of a response-data stream; the body follows as raw bytes.
public enum ResponseDataEncoder {
    public static let contentType = "application/vnd.broker.stream+octet-stream"

    /// The length prefix and the status/headers JSON. snyk's client measures the JSON in UTF-16 units
    /// (`ioData.length` of a JS string) while its server reads bytes; ours counts bytes, which is what
    /// the reader needs and the same for ASCII headers.
    public static func head(_ head: ResponseDataHead) -> [UInt8] {
        let json = Array(head.json.serialized.utf8)
        let n = UInt32(truncatingIfNeeded: json.count)
        return [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24 & 0xFF)] + json
    }
}

/// What one chunk of a response-data stream yielded: the head when it completed in this chunk, and the
/// body bytes it carried (a slice of the chunk, never copied).
public struct ResponseDataOutput {
    public var head: ResponseDataHead?
    public var body: ArraySlice<UInt8>
}

/// An incremental reader of a response-data stream: bytes arrive in any chunking; only the head is
/// buffered (at most `maxHeadBytes`), the body passes through.
public struct ResponseDataDecoder {
    public static let defaultMaxHeadBytes = 1 << 20

    enum State {
        case length([UInt8])
        case head(expected: Int, buffer: [UInt8])
        case body
        case failed(BrokerProtocolError)
    }

    public let maxHeadBytes: Int
    var state: State = .length([])
    public private(set) var bodyBytes: Int = 0

    public init(maxHeadBytes: Int = ResponseDataDecoder.defaultMaxHeadBytes) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Whether the head has been read (body bytes may follow).
    public var headComplete: Bool { if case .body = state { return true }; return false }

    public mutating func feed(_ chunk: ArraySlice<UInt8>) throws(BrokerProtocolError) -> ResponseDataOutput {
        var i = chunk.startIndex
        var head: ResponseDataHead? = nil
        while true {
            switch state {
            case .failed(let e): throw e
            case .length(var got):
                while got.count < 4, i < chunk.endIndex { got.append(chunk[i]); i += 1 }
                if got.count < 4 { state = .length(got); return ResponseDataOutput(head: nil, body: chunk[chunk.endIndex...]) }
                let n = Int(got[0]) | Int(got[1]) << 8 | Int(got[2]) << 16 | Int(got[3]) << 24
                guard n > 0 else { return try fail("status/headers length is 0") }
                guard n <= maxHeadBytes else { return try fail("status/headers length \(n) is over the limit of \(maxHeadBytes) bytes") }
                state = .head(expected: n, buffer: [])
            case .head(let expected, var buffer):
                let take = min(expected - buffer.count, chunk.endIndex - i)
                buffer.append(contentsOf: chunk[i..<(i + take)])
                i += take
                if buffer.count < expected { state = .head(expected: expected, buffer: buffer); return ResponseDataOutput(head: nil, body: chunk[chunk.endIndex...]) }
                let json: JSON
                do { json = try JSON.parse(buffer, maxDepth: 8) } catch { return try fail("status/headers is not JSON: \(error)") }
                do { head = try ResponseDataHead(json: json) } catch { state = .failed(error); throw error }
                state = .body
            case .body:
                bodyBytes += chunk.endIndex - i
                return ResponseDataOutput(head: head, body: chunk[i...])
            }
        }
    }

    /// The stream ended: an error when it ended before the head was complete.
    public func finish() throws(BrokerProtocolError) {
        switch state {
        case .body: return
        case .failed(let e): throw e
        case .length(let got): throw .responseData("stream ended after \(got.count) of the 4 length bytes")
        case .head(let expected, let buffer): throw .responseData("stream ended after \(buffer.count) of \(expected) status/headers bytes")
        }
    }

    private mutating func fail(_ why: String) throws(BrokerProtocolError) -> ResponseDataOutput {
        let e = BrokerProtocolError.responseData(why)
        state = .failed(e)
        throw e
    }
}
