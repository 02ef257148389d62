// Where one HTTP connection is in its life, as one value: each event is a transition, and an event
// its state does not allow is a bug (it fails loudly in debug builds and changes nothing in release).

enum HTTPConnectionState: Equatable, CustomStringConvertible {
    /// Between requests: no byte of the next one has been looked at (idle timeout).
    case idle
    /// Part of a request head has arrived (header timeout, from its first byte).
    case readingHead
    /// A request head was parsed and its exchange is under way.
    case serving(Exchange)
    /// The last response is queued: write it out, then close. Input is read and dropped.
    case closing
    /// The socket, with the bytes already read past the last request, belongs to another protocol.
    case upgraded
    case closed

    struct Exchange: Equatable {
        enum Body: Equatable {
            /// A body is on its way and the handler has not asked for it (yet).
            case unread
            /// The handler reads it as it arrives.
            case streaming
            /// No body, or all of it was read, or it failed.
            case ended
        }
        enum Response: Equatable { case pending, started, ended }

        var body: Body
        var response: Response
        /// Whether the connection closes once this exchange is over.
        var closeAfter: Bool
        /// Whether the handler asked to take the socket over once the response is out.
        var upgradeRequested = false

        /// Both directions are over: the response is sent and no body byte is still to be read
        /// for the handler (an unread body is never read: the connection closes instead).
        var isComplete: Bool { response == .ended && body != .streaming }
    }

    var description: String {
        switch self {
        case .idle: return "idle"
        case .readingHead: return "readingHead"
        case .serving(let e): return "serving(body: \(e.body), response: \(e.response), closeAfter: \(e.closeAfter))"
        case .closing: return "closing"
        case .upgraded: return "upgraded"
        case .closed: return "closed"
        }
    }

    var isOpen: Bool {
        switch self {
        case .closed, .upgraded: return false
        default: return true
        }
    }

    /// The exchange under way, if any.
    var exchange: Exchange? {
        if case .serving(let e) = self { return e }
        return nil
    }

    // MARK: transitions

    /// The first byte of a request head is looked at.
    mutating func headBegan() {
        guard case .idle = self else { return invalid("headBegan") }
        self = .readingHead
    }

    /// A request head was parsed (or could not be: then `keepAlive` is false and there is no body).
    mutating func headParsed(hasBody: Bool, keepAlive: Bool) {
        switch self {
        case .idle, .readingHead:
            self = .serving(Exchange(body: hasBody ? .unread : .ended, response: .pending, closeAfter: !keepAlive))
        default: invalid("headParsed")
        }
    }

    /// The handler asked for the body. Returns whether body bytes are now to be fed to it.
    mutating func bodyRequested() -> Bool {
        guard case .serving(var e) = self else { invalid("bodyRequested"); return false }
        guard e.body == .unread else { return false }
        e.body = .streaming
        self = .serving(e)
        return true
    }

    /// The body ended: read whole, or failed (then the connection closes after the response, as
    /// the rest of the body can no longer be told apart from a next request).
    mutating func bodyEnded(failed: Bool) {
        guard case .serving(var e) = self, e.body != .ended else { return invalid("bodyEnded") }
        e.body = .ended
        if failed { e.closeAfter = true }
        self = .serving(e)
    }

    /// The response head is being written; `closes` is the encoder's verdict on persistence.
    mutating func responseStarted(closes: Bool) {
        guard case .serving(var e) = self, e.response == .pending else { return invalid("responseStarted") }
        e.response = .started
        if closes { e.closeAfter = true }
        self = .serving(e)
    }

    /// The response was ended by the handler; `complete` is false when it fell short of its length.
    mutating func responseEnded(complete: Bool) {
        guard case .serving(var e) = self, e.response == .started else { return invalid("responseEnded") }
        e.response = .ended
        if !complete { e.closeAfter = true }
        self = .serving(e)
    }

    /// The handler will take the socket over after its response.
    mutating func upgradeRequested() {
        guard case .serving(var e) = self, e.response != .ended else { return invalid("upgradeRequested") }
        e.upgradeRequested = true
        self = .serving(e)
    }

    /// The exchange is complete: wait for the next request, close, or hand the socket over.
    mutating func exchangeCompleted() {
        guard case .serving(let e) = self, e.isComplete else { return invalid("exchangeCompleted") }
        if e.upgradeRequested && !e.closeAfter && e.body == .ended { self = .upgraded }
        else { self = e.closeAfter ? .closing : .idle }
    }

    /// The connection must not serve another request (a drain, a half-closed client, an error).
    /// Returns true when it should close now (between requests); during one it closes after the
    /// response.
    mutating func closeAfterResponse() -> Bool {
        switch self {
        case .idle, .readingHead: return true
        case .serving(var e): e.closeAfter = true; self = .serving(e); return false
        case .closing, .closed: return false
        case .upgraded: invalid("closeAfterResponse"); return false
        }
    }

    /// Between requests, with a response still being written: finish writing it, then close.
    mutating func closeWhenWritten() {
        guard case .idle = self else { return invalid("closeWhenWritten") }
        self = .closing
    }

    /// The socket is closed (always allowed, closing twice is harmless; an upgraded connection
    /// closes when its last response cannot be written before the hand-over).
    mutating func close() {
        self = .closed
    }

    private func invalid(_ event: String) {
        assertionFailure("HTTP connection: \(event) is not allowed in state \(self)")
    }
}
