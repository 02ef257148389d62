// The callbacks waiting for delivery: one FIFO per target (results in order, the operation's end last),
// bounded together in count and bytes, and the counters that show what happened to them.
import Core

/// One callback on its way: a result (body fixed when queued) or an operation's end (body rendered
/// when it is sent, so it can count the results that never arrived).
final class PendingCallback {
    let sequence: Int
    let operationId: String
    /// The image of a result; nil for an operation's end.
    let image: String?
    let url: String
    let copiedHeaders: [(String, String)]
    let requestId: String?
    var body: [UInt8]
    /// Set for an operation's end.
    let summary: OperationSummary?
    let delivered: (() -> Void)?
    var attempts = 0
    /// Monotonic ns of the first attempt.
    var firstAttemptAt: UInt64?

    var isDone: Bool { summary != nil }

    init(sequence: Int, operationId: String, image: String?, url: String, copiedHeaders: [(String, String)],
         requestId: String?, body: [UInt8], summary: OperationSummary?, delivered: (() -> Void)?) {
        self.sequence = sequence
        self.operationId = operationId
        self.image = image
        self.url = url
        self.copiedHeaders = copiedHeaders
        self.requestId = requestId
        self.body = body
        self.summary = summary
        self.delivered = delivered
    }
}

/// The callbacks of one target, oldest first; the head is the one being sent or waiting to retry.
final class TargetQueue {
    let base: String
    var items: [PendingCallback] = []
    var inFlight: ClientTask?
    var retryTimer: TimerID?

    init(base: String) { self.base = base }

    /// The head has been tried at least once: it is not dropped to make room.
    var headIsActive: Bool { (items.first?.attempts ?? 0) > 0 || inFlight != nil }
}

/// What the sender did, for tests and metrics.
struct CallbackStats: Sendable, Equatable {
    /// Callbacks accepted for delivery.
    var queued = 0
    var delivered = 0
    /// Attempts after a first one.
    var retries = 0
    /// Retries whose wait came from the receiver's Retry-After.
    var retryAfterHonoured = 0
    var longestRetryDelayMs = 0
    /// Callbacks abandoned: refused by a 4xx, or out of attempts or time.
    var givenUp = 0
    /// Results removed unsent to keep the queue inside its bounds.
    var dropped = 0
    /// Results whose scan result did not fit a callback and went out as RESULT_TOO_LARGE.
    var tooLarge = 0
    /// Waiting now, and at most.
    var queuedItems = 0
    var queuedBytes = 0
    var maxQueuedItems = 0
    var maxQueuedBytes = 0
}
