// EJSON (Meteor's `ejson` package, the parser snyk's Primus uses) to and from Core's JSON: values stay in
// EJSON's JSON form in memory, so binary is the recognisable `{"$binary":"<base64>"}` and `bytes(of:)` reads it.
import Core

/// The EJSON rules of ejson 2.2 (ejson.js `builtinConverters`): an object of exactly one key `$date`,
/// `$binary`, `$InfNaN` or `$escape`, or exactly the two keys `$regexp`+`$flags` or `$type`+`$value`, is a
/// typed value; any plain object of that shape is wrapped as `{"$escape":{...}}` on the way out.
///
/// In memory a tunnel message keeps EJSON's JSON form: decoding validates the typed values (valid base64, a
/// numeric date, a known type) but does not unwrap them, because Core's JSON has no binary case. Code that
/// builds messages from outside data (headers, bodies) runs it through `escape(plain:)`; code that reads
/// such data back as plain JSON uses `unescape(_:)`.
public enum EJSON {
    /// Nesting limit for decoding (JSON parser depth).
    public static let maxDepth = 64
    /// Values one tunnel message may hold. Each parsed value is a heap box, so a 22 MiB text of
    /// `[1,1,…]` would make 11 million of them (most of a gigabyte); the parse stops here instead.
    /// Real messages hold tens of values (a `request` or `chunk` event; bodies travel as one base64
    /// string), a few thousand with many headers: 2^18 is far above them and costs ~20 MB at worst.
    public static let maxValues = 1 << 18

    /// Parses EJSON text and checks every typed value in it.
    public static func decode(_ text: String) throws(BrokerProtocolError) -> JSON {
        try decode(utf8: Array(text.utf8))
    }

    /// Parses EJSON text given as its UTF-8 bytes.
    public static func decode(utf8 bytes: [UInt8], maxValues: Int = EJSON.maxValues) throws(BrokerProtocolError) -> JSON {
        let json: JSON
        do { json = try JSON.parse(bytes, maxDepth: maxDepth, maxValues: maxValues) } catch {
            throw error.exceedsValueBudget ? .overLimit("\(error)") : .ejson("\(error)")
        }
        try validate(json)
        return json
    }

    /// EJSON text of a value already in EJSON form. U+2028/U+2029 are escaped as Primus does (spark.js
    /// `_write`, "Hack 1"): JSON allows them raw, JavaScript source does not.
    public static func encode(_ value: JSON) -> String {
        var bytes: [UInt8] = []
        value.write(to: &bytes, escapingLineSeparators: true)
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: typed values

    /// Binary data as EJSON writes a Uint8Array/Buffer.
    public static func binary(_ bytes: [UInt8]) -> JSON { .object([("$binary", .string(Base64.encode(bytes)))]) }

    /// The bytes of an EJSON binary value; nil for anything else (including a string: callers that accept
    /// both, as snyk's body handling does, check `string` first).
    public static func bytes(of value: JSON) -> [UInt8]? {
        guard case .object(let pairs) = value, pairs.count == 1, pairs[0].0 == "$binary", let b64 = pairs[0].1.string else { return nil }
        return strictBase64(b64)
    }

    /// A date as EJSON writes one (milliseconds since the epoch).
    public static func date(milliseconds: Int) -> JSON { .object([("$date", .int(milliseconds))]) }

    public static func dateMilliseconds(of value: JSON) -> Int? {
        guard case .object(let pairs) = value, pairs.count == 1, pairs[0].0 == "$date" else { return nil }
        return pairs[0].1.int
    }

    /// Whether an object has the shape of a typed EJSON value (ejson.js `isSpecial`-like check per converter).
    public static func isTyped(_ pairs: [(String, JSON)]) -> Bool {
        if pairs.count == 1 {
            let k = pairs[0].0
            return k.utf8.first == UInt8(ascii: "$") && (k == "$date" || k == "$binary" || k == "$InfNaN" || k == "$escape")
        }
        if pairs.count == 2 { return twoKeyType(pairs[0].0, pairs[1].0) != nil }
        return false
    }

    /// Whether any object in `value` has a typed value's shape (`$escape` included): only then do
    /// `escape` and `unescape` change anything.
    static func hasTypedShape(_ value: JSON) -> Bool {
        switch value {
        case .array(let items): return items.contains(where: hasTypedShape)
        case .object(let pairs): return isTyped(pairs) || pairs.contains { hasTypedShape($0.1) }
        default: return false
        }
    }

    enum TwoKeyType { case regexp, custom }

    /// The typed value two keys make, in either order (`$regexp`+`$flags`, `$type`+`$value`), or nil.
    /// Compared directly: a Set per two-key object was a share of every message's decoding.
    static func twoKeyType(_ a: String, _ b: String) -> TwoKeyType? {
        guard a.utf8.first == UInt8(ascii: "$"), b.utf8.first == UInt8(ascii: "$") else { return nil }
        if (a == "$regexp" && b == "$flags") || (a == "$flags" && b == "$regexp") { return .regexp }
        if (a == "$type" && b == "$value") || (a == "$value" && b == "$type") { return .custom }
        return nil
    }

    /// Plain JSON (from outside: headers, a body) into EJSON form: objects that look typed are escaped,
    /// as ejson.js `toJSONValue` does, so a caller's `{"$binary":"x"}` header map stays a map.
    public static func escape(plain value: JSON) -> JSON {
        guard hasTypedShape(value) else { return value }      // nearly always (header maps): nothing to rebuild
        switch value {
        case .array(let items): return .array(items.map { escape(plain: $0) })
        case .object(let pairs):
            let mapped = pairs.map { ($0.0, escape(plain: $0.1)) }
            return isTyped(pairs) ? .object([("$escape", .object(mapped))]) : .object(mapped)
        default: return value
        }
    }

    /// EJSON form back to plain JSON where it was escaped (ejson.js `fromJSONValue` for `$escape`); typed
    /// values (binary, dates) are kept in their EJSON form.
    public static func unescape(_ value: JSON) -> JSON {
        guard hasTypedShape(value) else { return value }
        switch value {
        case .array(let items): return .array(items.map(unescape))
        case .object(let pairs):
            if pairs.count == 1, pairs[0].0 == "$escape", case .object(let inner) = pairs[0].1 {
                return .object(inner.map { ($0.0, unescape($0.1)) })
            }
            if isTyped(pairs) { return value }
            return .object(pairs.map { ($0.0, unescape($0.1)) })
        default: return value
        }
    }

    // MARK: validation

    /// Checks the typed values of a decoded tree as ejson.js `fromJSONValue` would convert them; what
    /// would throw there (an undefined custom type, bad base64) is an error here.
    public static func validate(_ value: JSON) throws(BrokerProtocolError) {
        switch value {
        case .array(let items): for i in items { try validate(i) }
        case .object(let pairs):
            if pairs.count == 1 {
                let (key, v) = pairs[0]
                switch key {
                case "$binary":
                    guard let s = v.string, strictBase64(s) != nil else { throw .ejson("$binary is not a base64 string") }
                    return
                case "$date":
                    // ejson writes getTime(): an integer; the JS Date range is +-8.64e15 ms.
                    guard let ms = v.int, abs(ms) <= 8_640_000_000_000_000 else { throw .ejson("$date is not a time in milliseconds") }
                    return
                case "$InfNaN":
                    guard let n = v.int, (-1...1).contains(n) else { throw .ejson("$InfNaN is not -1, 0 or 1") }
                    return
                case "$escape":
                    guard case .object(let inner) = v else { throw .ejson("$escape does not hold an object") }
                    for (_, x) in inner { try validate(x) }
                    return
                default: break
                }
            } else if pairs.count == 2, let typed = twoKeyType(pairs[0].0, pairs[1].0) {
                if typed == .regexp {
                    guard value["$regexp"]?.string != nil, let flags = value["$flags"]?.string, flags.utf8.count <= 8 else {
                        throw .ejson("$regexp/$flags are not strings")
                    }
                    return
                }
                throw .ejson("custom EJSON type \(String(describing: value["$type"]?.string ?? "?").prefix(64)) is not defined")
            }
            for (_, v) in pairs { try validate(v) }
        default: return
        }
    }

    /// Standard base64 as Meteor's base64 package writes it: the standard alphabet, `=` only at the end.
    static func strictBase64(_ text: String) -> [UInt8]? {
        var padding = 0
        for c in text.utf8 {
            switch c {
            case 65...90, 97...122, 48...57, 43, 47: if padding > 0 { return nil }
            case 61: padding += 1; if padding > 2 { return nil }
            default: return nil
            }
        }
        if padding > 0, text.utf8.count % 4 != 0 { return nil }
        return Base64.decode(text)
    }
}
