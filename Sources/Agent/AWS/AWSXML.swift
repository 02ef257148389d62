// The text of one element in an AWS Query-protocol answer (STS answers in XML): enough for
// `<AccessKeyId>`, `<Code>`, `<Message>`, without a general XML parser.
public enum AWSXML {
    /// The unescaped text between the first `<name>` (or `<name attr...>`) and the next `</name>`; nil
    /// when there is none, or when that text holds markup.
    public static func text(of name: String, in xml: [UInt8]) -> String? {
        let open = Array("<\(name)".utf8), close = Array("</\(name)>".utf8)
        var i = 0
        while let at = find(open, in: xml, from: i) {
            let after = at + open.count
            guard after < xml.count else { return nil }
            if [UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n")].contains(xml[after]) {
                guard let gt = xml[after...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
                if xml[gt - 1] == UInt8(ascii: "/") { return "" }                  // <name/>
                guard let end = find(close, in: xml, from: gt + 1) else { return nil }
                let inner = xml[(gt + 1)..<end]
                if inner.contains(UInt8(ascii: "<")) { return nil }
                return unescape(String(decoding: inner, as: UTF8.self))
            }
            i = after      // a longer name with the same start (<CodeX>)
        }
        return nil
    }

    /// XML's five named entities and numeric character references; anything else is left as written.
    static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            guard let semi = rest.firstIndex(of: ";"), rest.distance(from: rest.startIndex, to: semi) <= 10 else {
                out += "&"; rest = rest.dropFirst(); continue
            }
            let entity = rest[rest.index(after: rest.startIndex)..<semi]
            var replacement: String?
            switch entity {
            case "lt": replacement = "<"
            case "gt": replacement = ">"
            case "amp": replacement = "&"
            case "quot": replacement = "\""
            case "apos": replacement = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let v = UInt32(entity.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) {
                    replacement = String(Character(u))
                } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = Unicode.Scalar(v) {
                    replacement = String(Character(u))
                }
            }
            if let r = replacement { out += r; rest = rest[rest.index(after: semi)...] } else { out += "&"; rest = rest.dropFirst() }
        }
        return out + rest
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, start <= hay.count - needle.count else { return nil }
        var i = start
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
