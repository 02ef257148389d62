// The JSON bodies of the callbacks: one per image (its scan result or its error) and one at the end of
// an operation. Shapes pinned in docs/http-api.md, "Callbacks".
import Core

enum CallbackPayloads {
    /// The broker client refuses bodies over 10 MiB.
    static let maxBodyBytes = 10 << 20
    /// Room kept for the envelope around a scan result (ids, image, the `truncated` lines).
    static let envelopeReserve = 64 << 10
    /// Errors listed in a done body, and the bytes of each message there.
    static let maxDoneErrors = 100
    static let maxMessageBytes = 1024

    /// The snyk scan result of `inventory`, cut to fit `maxBytes`, and what was cut (one line each).
    /// When even its dep-graphs do not fit, the bytes are over `maxBytes` and the last line says so:
    /// `outcome(for:)` turns that into a RESULT_TOO_LARGE error, and so does the sender.
    static func scanResult(_ inventory: ImageInventory, maxBytes: Int = maxBodyBytes - (64 << 10)) -> (bytes: [UInt8], truncated: [String]) {
        let document = SnykReport.document(inventory)
        switch ScanResultFit.fit(document, maxBytes: maxBytes) {
        case .fits(let bytes, let truncated): return (bytes, truncated)
        case .tooLarge(let size): return (document.serializedBytes, [tooLargeMessage(size, maxBytes)])
        }
    }

    /// The image's outcome for its callback: its result within the budget, or RESULT_TOO_LARGE.
    /// CPU work in proportion to the result (seconds for a 10 MiB one in a debug build): call it where
    /// the scan ran (the worker), not on a reactor that serves requests.
    static func outcome(for inventory: ImageInventory, maxBytes: Int = maxBodyBytes - envelopeReserve) -> ImageOutcome {
        outcome(forDocument: SnykReport.document(inventory), maxBytes: maxBytes)
    }

    /// The same for a scan result already serialized (as a scan worker streams it back): parsed, so that
    /// the plugin's limits apply to it as to any other and a body never embeds broken JSON.
    static func outcome(forScanResult bytes: [UInt8], maxBytes: Int = maxBodyBytes - envelopeReserve) -> ImageOutcome {
        let document: JSON
        do {
            document = try JSON.parse(bytes)
        } catch {
            return .failed(code: "RESULT_INVALID", message: "the scan produced a result that is not JSON (\(error)); this is a bug in the agent")
        }
        guard document.object != nil else {
            return .failed(code: "RESULT_INVALID", message: "the scan produced a result that is not a JSON object; this is a bug in the agent")
        }
        return outcome(forDocument: document, maxBytes: maxBytes)
    }

    static func outcome(forDocument document: JSON, maxBytes: Int) -> ImageOutcome {
        switch ScanResultFit.fit(document, maxBytes: maxBytes) {
        case .fits(let bytes, let truncated): return .scanned(scanResult: bytes, truncated: truncated)
        case .tooLarge(let size): return .failed(code: "RESULT_TOO_LARGE", message: tooLargeMessage(size, maxBytes))
        }
    }

    static func tooLargeMessage(_ size: Int, _ limit: Int) -> String {
        "the scan result is \(size) bytes with only its dep-graphs, over the \(limit)-byte budget of a callback "
            + "(the broker client accepts \(maxBodyBytes) bytes); dep-graphs are never cut, so the result is not sent"
    }

    // MARK: bodies

    /// `{"operationId","image","requestId","truncated":[...],"result":{...}}` or
    /// `{"operationId","image","requestId","error":{"code","message"}}`.
    static func resultBody(operationId: String, image: String, requestId: String?, outcome: ImageOutcome) -> [UInt8] {
        var head = "{"
        appendField("operationId", .string(operationId), to: &head, first: true)
        appendField("image", .string(image), to: &head)
        appendField("requestId", requestId.map(JSON.string) ?? .null, to: &head)
        switch outcome {
        case .scanned(let result, let truncated):
            appendField("truncated", .array(truncated.map(JSON.string)), to: &head)
            head += ",\"result\":"
            var out = Array(head.utf8)
            out.reserveCapacity(out.count + result.count + 1)
            out += result
            out.append(UInt8(ascii: "}"))
            return out
        case .failed(let code, let message):
            appendField("error", errorObject(code: code, message: message), to: &head)
            return Array((head + "}").utf8)
        }
    }

    /// `{"operationId","requestId","images","scanned","failed","errors":[{"image","code","message"}],
    /// "endedBy","undelivered"}`.
    static func doneBody(operationId: String, requestId: String?, summary: OperationSummary, undelivered: Int) -> [UInt8] {
        let errors: [JSON] = summary.errors.prefix(maxDoneErrors).map { image, code, message in
            .object([("image", .string(image)), ("code", .string(code)),
                     ("message", .string(UntrustedText.truncated(message, maxBytes: maxMessageBytes)))])
        }
        let body: JSON = .object([
            ("operationId", .string(operationId)),
            ("requestId", requestId.map(JSON.string) ?? .null),
            ("images", .int(summary.images)),
            ("scanned", .int(summary.scanned)),
            ("failed", .int(summary.failed)),
            ("errors", .array(errors)),
            ("endedBy", summary.endedBy.map(JSON.string) ?? .null),
            ("undelivered", .int(undelivered)),
        ])
        return body.serializedBytes
    }

    static func errorObject(code: String, message: String) -> JSON {
        .object([("code", .string(code)), ("message", .string(UntrustedText.truncated(message, maxBytes: maxMessageBytes)))])
    }

    private static func appendField(_ key: String, _ value: JSON, to out: inout String, first: Bool = false) {
        if !first { out += "," }
        JSON.quote(key, into: &out)
        out += ":"
        value.write(to: &out)
    }
}
