// Fuzz target `http-request`: HTTPRequestParser.parse under default and tiny limits, then the chunked
// body (if any) through ChunkedDecoder, and the input trickled a byte at a time through the
// connection's HeadReparseGate (which must reach the verdict parsing every prefix reaches).
import Core

enum HTTPRequestFuzz {
    static let tinyLimits: HTTPParserLimits = {
        var l = HTTPParserLimits()
        l.maxRequestLineBytes = 24
        l.maxHeaderBytes = 48
        l.maxHeaderCount = 2
        return l
    }()

    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let full = check(data, limits: HTTPParserLimits(), label: "default")
        let tiny = check(data, limits: tinyLimits, label: "tiny")
        // Tiny limits are stricter in every respect: whatever they accept, the defaults accept the same way.
        if case .complete(let t, let tc) = tiny {
            guard case .complete(let f, let fc) = full else {
                fuzzFail("complete under tiny limits but \(full) under default limits: \(fuzzDescribe(data))")
            }
            fuzzCheck(tc == fc && t.method == f.method && t.target == f.target && t.framing == f.framing,
                      "tiny and default limits disagree: \(tc) vs \(fc): \(fuzzDescribe(data))")
        }
        if data.count <= 512 { checkReparseGate(data) }    // the ungated baseline is quadratic
    }

    /// Trickles `data` a byte at a time: parsing only when the gate says so gives the verdict that
    /// parsing every prefix gives first, and never misses a complete head.
    static func checkReparseGate(_ data: UnsafeRawBufferPointer) {
        func verdict(_ r: HTTPHeadParseResult) -> String? {
            switch r {
            case .needMore: return nil
            case .failure(let e): return "status \(e.status)"
            case .complete(_, let consumed): return "complete \(consumed)"
            }
        }
        var gate = HeadReparseGate()
        var gated: String?, naive: String?
        for end in stride(from: 1, through: data.count, by: 1) where gated == nil {
            let prefix = UnsafeRawBufferPointer(rebasing: data[0..<end])
            if naive == nil { naive = verdict(HTTPRequestParser.parse(prefix)) }
            if gate.shouldParse(prefix) {
                gated = verdict(HTTPRequestParser.parse(prefix))
                if gated == nil { gate.neededMore(prefix) }
            }
        }
        if let gated { fuzzCheck(gated == naive, "reparse gate gave \(gated), every prefix \(naive ?? "need more"): \(fuzzDescribe(data))") }
        else { fuzzCheck(!(naive ?? "").hasPrefix("complete"), "reparse gate missed a complete head (\(naive!)): \(fuzzDescribe(data))") }
    }

    /// Parses `data` with `limits`, checks the result and, for a complete chunked request, decodes the rest.
    static func check(_ data: UnsafeRawBufferPointer, limits: HTTPParserLimits, label: String) -> HTTPHeadParseResult {
        let result = HTTPRequestParser.parse(data, limits: limits)
        switch result {
        case .needMore:
            break
        case .failure(let e):
            fuzzCheck((400..<600).contains(e.status), "\(label): failure with status \(e.status): \(fuzzDescribe(data))")
        case .complete(let head, let consumed):
            fuzzCheck(consumed > 0, "\(label): consumed \(consumed) <= 0: \(fuzzDescribe(data))")
            fuzzCheck(consumed <= data.count, "\(label): consumed \(consumed) > count \(data.count): \(fuzzDescribe(data))")
            fuzzCheck(!head.method.isEmpty && !head.target.isEmpty, "\(label): empty method or target: \(fuzzDescribe(data))")
            fuzzCheck(head.versionMinor == 0 || head.versionMinor == 1, "\(label): HTTP/1.\(head.versionMinor) accepted")
            if case .contentLength(let n) = head.framing {
                fuzzCheck(n > 0, "\(label): Content-Length framing with length \(n): \(fuzzDescribe(data))")
            }
            // The head is determined by its own bytes: re-parsing exactly them gives the same result.
            let again = HTTPRequestParser.parse(UnsafeRawBufferPointer(rebasing: data[0..<consumed]), limits: limits)
            guard case .complete(let head2, let consumed2) = again else {
                fuzzFail("\(label): head complete at \(consumed) but its own bytes give \(again): \(fuzzDescribe(data))")
            }
            fuzzCheck(consumed2 == consumed && head2.method == head.method && head2.target == head.target
                      && head2.framing == head.framing && head2.keepAlive == head.keepAlive,
                      "\(label): re-parse of the head differs: \(fuzzDescribe(data))")
            if head.framing == .chunked {
                let rest = UnsafeRawBufferPointer(rebasing: data[consumed...])
                var decoder = ChunkedDecoder()
                var bodyBytes = 0
                let outcome = decoder.decode(rest) { bodyBytes += $0.count }
                fuzzCheck(bodyBytes <= rest.count, "\(label): chunked body \(bodyBytes) bytes from \(rest.count) input bytes")
                if case .done(let used) = outcome {
                    fuzzCheck(used > 0 && used <= rest.count,
                              "\(label): chunked decoder consumed \(used) of \(rest.count): \(fuzzDescribe(data))")
                    fuzzCheck(bodyBytes <= used, "\(label): chunked body \(bodyBytes) bytes from \(used) consumed bytes")
                }
            }
        }
        return result
    }
}
