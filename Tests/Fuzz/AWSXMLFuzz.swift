// Fuzz target `aws-xml`: AWSXML.text over arbitrary bytes (STS answers and error bodies come from the
// network); markup in a text it returns can only come from a character reference, and an element it
// finds is in the input.
import AgentKit

enum AWSXMLFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        for name in ["Code", "Message", "AccessKeyId", "SessionToken"] {
            guard let text = AWSXML.text(of: name, in: bytes) else { continue }
            fuzzCheck(!text.contains("<") || bytes.contains(UInt8(ascii: "&")), "markup in the text of <\(name)>: \(fuzzDescribe(data))")
            fuzzCheck(bytes.count >= name.utf8.count + 2, "<\(name)> found in \(bytes.count) bytes")
            let open = Array("<\(name)".utf8)
            fuzzCheck((0...(bytes.count - open.count)).contains { bytes[$0..<($0 + open.count)].elementsEqual(open) },
                      "<\(name)> found where the input has none: \(fuzzDescribe(data))")
        }
    }
}
