// Fuzz target `json`: the JSON parser every registry answer, request body and tunnel message goes
// through, over arbitrary bytes. It never traps, and whatever it accepts survives its own
// serialization unchanged (strings taken in runs between escapes, numbers, nesting).
import Core

enum JSONFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        guard let value = try? JSON.parse(Array(data), maxDepth: 32) else { return }
        let bytes = value.serializedBytes
        guard let again = try? JSON.parse(bytes, maxDepth: 32) else {
            return fuzzCheck(false, "the serialization of an accepted value does not parse: \(fuzzDescribe(data))")
        }
        fuzzCheck(again.serializedBytes == bytes, "a value does not survive its serialization: \(fuzzDescribe(data))")
    }
}
