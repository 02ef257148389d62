// Parses WWW-Authenticate (RFC 9110 §11.6.1): several challenges per field, quoted values.
import Core

public struct AuthChallenge: Equatable, Sendable {
    /// Lower-cased scheme: `basic`, `bearer`, ...
    public let scheme: String
    /// Parameter names lower-cased; values unquoted.
    public let parameters: [String: String]

    public subscript(_ name: String) -> String? { parameters[name] }

    /// Every challenge in the given header field values, in order.
    public static func parse(_ fields: [String]) -> [AuthChallenge] {
        fields.flatMap { parse(field: $0) }
    }

    static func parse(field: String) -> [AuthChallenge] {
        var s = Scanner(Array(field.utf8))
        var out: [AuthChallenge] = []
        while true {
            s.skip(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x2C })
            guard let scheme = s.token() else { break }
            var params: [String: String] = [:]
            while true {
                let mark = s.i
                s.skip(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x2C })
                guard let name = s.token() else { s.i = mark; break }
                s.skip(while: { $0 == 0x20 || $0 == 0x09 })
                guard s.peek == 0x3D else { s.i = mark; break }          // not "name=": the next challenge
                s.i += 1
                s.skip(while: { $0 == 0x20 || $0 == 0x09 })
                let value = s.peek == 0x22 ? s.quoted() : (s.token68() ?? "")
                params[name.lowercased()] = value
            }
            out.append(AuthChallenge(scheme: scheme.lowercased(), parameters: params))
        }
        return out
    }

    private struct Scanner {
        let b: [UInt8]
        var i = 0
        init(_ b: [UInt8]) { self.b = b }
        var peek: UInt8? { i < b.count ? b[i] : nil }
        mutating func skip(while f: (UInt8) -> Bool) { while i < b.count && f(b[i]) { i += 1 } }
        mutating func token() -> String? {
            let start = i
            while i < b.count, HTTPRequestParser.isTChar(b[i]) { i += 1 }
            return i > start ? String(decoding: b[start..<i], as: UTF8.self) : nil
        }
        mutating func token68() -> String? {
            let start = i
            while i < b.count, HTTPRequestParser.isTChar(b[i]) || b[i] == 0x2F || b[i] == 0x3D { i += 1 }
            return i > start ? String(decoding: b[start..<i], as: UTF8.self) : nil
        }
        mutating func quoted() -> String {
            i += 1
            var out: [UInt8] = []
            while i < b.count, b[i] != 0x22 {
                if b[i] == 0x5C, i + 1 < b.count { i += 1 }
                out.append(b[i])
                i += 1
            }
            i += 1
            return String(decoding: out, as: UTF8.self)
        }
    }
}
