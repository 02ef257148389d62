// Fuzz target `aws-metadata`: the answers of the AWS metadata endpoints (IMDS, container credentials)
// over arbitrary bytes, and ISO 8601 times: what is accepted is bounded (an access key ID within its size,
// printable and present in the input, an expiry in range), and nothing traps.
import AgentKit

enum AWSMetadataFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        if let (key, expiresAt) = AWSCredentialAnswer.metadata(bytes) {
            fuzzCheck(!key.isEmpty && key.utf8.count <= AWSCredentialAnswer.maxAccessKeyID, "access key ID of \(key.utf8.count) bytes accepted")
            fuzzCheck(key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "unprintable access key ID accepted: \(fuzzDescribe(data))")
            fuzzCheck(expiresAt.map { AWSCredentialAnswer.expiryRange.contains($0) } ?? true, "expiry \(String(describing: expiresAt)) out of range")
        }
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        if let t = AWSCredentialAnswer.time(text) {
            fuzzCheck(AWSCredentialAnswer.expiryRange.contains(t), "time \(t) out of range from \(fuzzDescribe(data))")
            fuzzCheck(text.utf8.count >= 20, "a time from \(text.utf8.count) bytes")
        }
    }
}
