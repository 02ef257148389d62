// Delivers an operation's callbacks: each image's result, then the operation's end, POSTed to its
// target with the triggering request's headers, retried with backoff.
import Core

final class CallbackSender {
    let reactor: Reactor
    let environment: Environment
    let logger: Logger

    init(reactor: Reactor, environment: Environment, logger: Logger) throws(HTTPClientError) {
        self.reactor = reactor
        self.environment = environment
        self.logger = logger
    }

    /// Where the callbacks of a request go: BROKER_CLIENT_URL when set, else its `x-broker-client-url`
    /// header; a body `callbackUrl` only when its origin equals that base. None: 400.
    static func target(for request: HTTPRequestHead, bodyCallbackURL: String?, environment: Environment) -> Result<CallbackTarget, ServiceError> {
        .failure(.badRequest("callbacks are not built yet"))
    }

    /// Queues one image's result for delivery (on `reactor`).
    func imageFinished(operationId: String, kind: OperationKind, target: CallbackTarget, image: String, outcome: ImageOutcome) {
    }

    /// Queues the operation's end after its results; `delivered` runs once it is delivered or given up.
    func operationDone(operationId: String, kind: OperationKind, target: CallbackTarget, summary: OperationSummary,
                       delivered: @escaping () -> Void) {
        delivered()
    }
}
