// How callbacks are delivered: retry schedule, give-up bounds, per-attempt timeout and the queue's
// bounds, read from the environment (documented in docs/configuration.md).
import Core

struct CallbackSettings: Sendable, Equatable {
    /// Attempts per callback, the first included (CALLBACK_MAX_ATTEMPTS).
    var maxAttempts = 8
    /// The first retry waits about this long, each further one twice as long (CALLBACK_RETRY_BASE_MS).
    var retryBaseMs = 1000
    /// No wait between attempts is longer, Retry-After included (CALLBACK_RETRY_MAX_DELAY_MS).
    var retryMaxDelayMs = 60_000
    /// A callback still undelivered this long after its first attempt is given up (CALLBACK_GIVE_UP_MS).
    var giveUpMs = 900_000
    /// One attempt, connect to last response byte (CALLBACK_TIMEOUT_MS).
    var attemptTimeoutMs = 60_000
    /// Callbacks waiting, over all targets (CALLBACK_QUEUE_MAX_ITEMS).
    var queueMaxItems = 1000
    /// Body bytes waiting, over all targets (CALLBACK_QUEUE_MAX_BYTES). A result body can be 10 MiB,
    /// so the default holds six of the largest.
    var queueMaxBytes = 64 << 20

    init() {}

    init(environment env: Environment) throws(ConfigurationError) {
        maxAttempts = try env.int("CALLBACK_MAX_ATTEMPTS", default: maxAttempts, range: 1...100)
        retryBaseMs = try env.int("CALLBACK_RETRY_BASE_MS", default: retryBaseMs, range: 1...600_000)
        retryMaxDelayMs = try env.int("CALLBACK_RETRY_MAX_DELAY_MS", default: retryMaxDelayMs, range: 1...3_600_000)
        giveUpMs = try env.int("CALLBACK_GIVE_UP_MS", default: giveUpMs, range: 1...86_400_000)
        attemptTimeoutMs = try env.int("CALLBACK_TIMEOUT_MS", default: attemptTimeoutMs, range: 100...3_600_000)
        queueMaxItems = try env.int("CALLBACK_QUEUE_MAX_ITEMS", default: queueMaxItems, range: 1...1_000_000)
        queueMaxBytes = try env.int("CALLBACK_QUEUE_MAX_BYTES", default: queueMaxBytes, range: 1024...(1 << 34))
        if let url = env["BROKER_CLIENT_URL"], case .failure(let e) = CallbackURL.parse(url) {
            throw ConfigurationError(variable: "BROKER_CLIENT_URL", message: "\(e.reason); give the broker client's URL, e.g. http://broker-client:8000")
        }
    }

    var retrySchedule: RetrySchedule {
        RetrySchedule(maxAttempts: maxAttempts, baseDelayMs: retryBaseMs, maxDelayMs: retryMaxDelayMs)
    }
}
