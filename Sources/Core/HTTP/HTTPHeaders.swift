// Ordered, multi-valued HTTP header fields with case-insensitive lookup.

public struct HTTPHeaders: Sequence, Sendable, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init() { fields = [] }
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every field called `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// The first value of the field called `name`.
    public subscript(_ name: String) -> String? {
        fields.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

extension String {
    /// `lowercased()`, returning the text itself (no copy) when it has no upper-case letter and is ASCII.
    public var lowercasedASCIIIfNeeded: String {
        for b in utf8 where b >= 0x80 || (b >= 0x41 && b <= 0x5A) { return lowercased() }
        return self
    }

    /// ASCII case-insensitive equality, without allocating.
    public func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        var a = self, b = other
        return a.withUTF8 { x in
            b.withUTF8 { y in
                for i in 0..<x.count where x[i] != y[i] {
                    let l = x[i] | 0x20
                    if l != (y[i] | 0x20) || l < 0x61 || l > 0x7A { return false }
                }
                return true
            }
        }
    }

    /// Splits a comma-separated header list, trimming optional whitespace and dropping empty members.
    public func commaSeparatedTokens() -> [Substring] {
        split(separator: ",").map { Substring($0.trimmed(" \t")) }.filter { !$0.isEmpty }
    }
}
