// The Python callback receiver (Tests/registry/callback_receiver.py): a real HTTP server standing where
// the broker client listens, recording every callback the agent sends.
import Foundation

public final class CallbackReceiverProcess {
    public let process: BackgroundProcess
    public let url: String

    /// `answers`: statuses for the first requests (misbehaviour on purpose, for retry tests); then 200.
    public init(answers: [Int] = []) throws {
        var args = ["--max-lifetime", "900"]
        if !answers.isEmpty { args += ["--answers", answers.map(String.init).joined(separator: ",")] }
        (process, url) = try startPythonServer("registry/callback_receiver.py", args)
    }

    /// The requests received so far: `path`, `headers` (lower-case names), `size`, `json` or `text`.
    public func requests() throws -> [[String: Any]] {
        let r = try runProcess("curl", ["-sS", "--max-time", "10", "\(url)/_receiver/record"])
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return obj?["requests"] as? [[String: Any]] ?? []
    }

    public func stop() { _ = process.stop() }
}
