// The answers the client makes itself instead of the agent (snyk's BROKER_ERROR_CODES and
// statusForErrorCode in hybrid-sdk/common/types/telemetry.ts), and how a downstream error is classified.
import Core

public struct BrokerAnswer: Sendable {
    public enum Code: String, Sendable {
        case filterBlocked = "FILTER_BLOCKED"
        case downstreamUnreachable = "DOWNSTREAM_UNREACHABLE"
        case downstreamTimeout = "DOWNSTREAM_TIMEOUT"
        case downstreamError = "DOWNSTREAM_ERROR"
        case bodyTooLarge = "BODY_TOO_LARGE"
        /// Ours: too many requests from the server at once (BROKER_CLIENT_MAX_CONCURRENT_REQUESTS and its queue).
        case clientBusy = "CLIENT_BUSY"

        public var status: Int {
            switch self {
            case .filterBlocked: return 401
            case .downstreamTimeout: return 504
            case .downstreamUnreachable, .downstreamError, .bodyTooLarge: return 502
            case .clientBusy: return 503
            }
        }
    }

    public let code: Code
    /// The JSON body, keys in snyk's order.
    public let body: JSON

    public var status: Int { code.status }

    /// A request no rule allowed: websocketRequests.ts's body, `reason` naming why.
    public static func blocked(reason: String, url: String) -> BrokerAnswer {
        BrokerAnswer(code: .filterBlocked, body: .object([("code", .string(Code.filterBlocked.rawValue)), ("message", .string("blocked")),
                                                         ("reason", .string(reason)), ("url", .string(url))]))
    }

    /// A downstream request that failed before the agent answered (after the retries).
    public static func downstream(_ error: HTTPClientError) -> BrokerAnswer {
        let code = classify(error)
        // The message goes up to the caller: a rule's origin may carry a user and password in its URL.
        return BrokerAnswer(code: code, body: .object([("code", .string(code.rawValue)), ("message", .string(Redaction.text(error.description)))]))
    }

    /// More requests at once than the client runs and queues: the server (or whoever holds its token)
    /// cannot make the client open unbounded connections to the agent.
    public static func busy(running: Int, queued: Int) -> BrokerAnswer {
        BrokerAnswer(code: .clientBusy, body: .object([("code", .string(Code.clientBusy.rawValue)),
                                                       ("message", .string("the broker client is running \(running) requests and queuing \(queued); try again later"))]))
    }

    /// A request that waited in the queue longer than the downstream timeout: the server has given its
    /// caller up by now, so it is not run.
    public static func expiredInQueue(waitedMilliseconds: Int, limitMilliseconds: Int) -> BrokerAnswer {
        BrokerAnswer(code: .downstreamTimeout, body: .object([("code", .string(Code.downstreamTimeout.rawValue)), ("message", .string(
            "the request waited \(waitedMilliseconds) ms in the broker client's queue, longer than BROKER_DOWNSTREAM_TIMEOUT (\(limitMilliseconds) ms); it was not sent to the agent"))]))
    }

    public static func tooLarge(_ message: String) -> BrokerAnswer {
        BrokerAnswer(code: .bodyTooLarge, body: .object([("code", .string(Code.bodyTooLarge.rawValue)), ("message", .string(message))]))
    }

    /// ECONNREFUSED/ENOTFOUND -> unreachable, ETIMEDOUT -> timeout, anything else -> error, as
    /// classifyDownstreamError does with Node's codes; here libcurl's codes say the same things.
    /// libcurl reports a connect that timed out with the same code as a transfer that did
    /// (CURLE_OPERATION_TIMEDOUT); its message tells them apart (connect.c: "Connection timed out after").
    static func isConnectTimeout(_ error: HTTPClientError) -> Bool {
        error.curlCodeName == "CURLE_OPERATION_TIMEDOUT" && error.message.hasPrefix("Connection timed out")
    }

    static func classify(_ error: HTTPClientError) -> Code {
        switch error.curlCodeName {
        case "CURLE_COULDNT_CONNECT", "CURLE_COULDNT_RESOLVE_HOST", "CURLE_COULDNT_RESOLVE_PROXY": return .downstreamUnreachable
        case "CURLE_OPERATION_TIMEDOUT": return .downstreamTimeout
        default: return error.kind == .refused ? .downstreamUnreachable : .downstreamError
        }
    }

    /// The status/headers part of the `/response-data` frame for this answer: `{"status":n,"errorType":"..."}`
    /// (sendData in downstream-post-stream-to-server.ts stringifies the response without its body).
    public var preamble: JSON { .object([("status", .int(status)), ("errorType", .string(code.rawValue))]) }
}
