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
        // The value budget counts exactly the values made: that many parse, one fewer is refused as over it.
        let count = valueCount(value)
        fuzzCheck((try? JSON.parse(Array(data), maxDepth: 32, maxValues: count)) != nil, "a text of \(count) values is over a budget of \(count): \(fuzzDescribe(data))")
        do {
            _ = try JSON.parse(Array(data), maxDepth: 32, maxValues: count - 1)
            fuzzCheck(false, "a text of \(count) values parsed within a budget of \(count - 1): \(fuzzDescribe(data))")
        } catch {
            fuzzCheck(error.exceedsValueBudget, "one value over the budget gave another error (\(error)): \(fuzzDescribe(data))")
        }
    }

    static func valueCount(_ v: JSON) -> Int {
        switch v {
        case .array(let items): return 1 + items.reduce(0) { $0 + valueCount($1) }
        case .object(let pairs): return 1 + pairs.reduce(0) { $0 + valueCount($1.1) }
        default: return 1
        }
    }
}
