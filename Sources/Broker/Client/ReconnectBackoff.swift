// When a lost tunnel socket dials again: Primus's reconnect strategy as snyk's client configures it
// (socket.ts: factor 1.5, max 20 min; Primus's min 500 ms), jittered as Primus jitters it
// (recovery: `min((random + 1) * min * factor^attempt, max)`). Pure; the random source is injectable.

public struct ReconnectBackoff: Sendable {
    public var minimumMilliseconds = 500
    public var maximumMilliseconds = 20 * 60 * 1000
    public var factor = 1.5
    /// Failed attempts since the last open socket.
    public private(set) var attempt = 0

    public init() {}

    /// The wait before the next dial; `random` is in 0..<1.
    public mutating func nextDelay(random: Double = Double.random(in: 0..<1)) -> Int {
        var scale = 1.0
        for _ in 0..<min(attempt, 64) { scale *= factor }
        attempt += 1
        let raw = (random + 1) * Double(minimumMilliseconds) * scale
        return raw >= Double(maximumMilliseconds) ? maximumMilliseconds : Int(raw.rounded())
    }

    /// A socket opened: the next loss starts from the minimum again.
    public mutating func reset() { attempt = 0 }
}
