// The PAX extended header records a tar reader acts on (path, linkpath, size, mtime, uid, gid, GNU.sparse.*).

/// Values from one PAX extended header ('x') or the global ones ('g'). An empty value means "use the
/// ustar field", as POSIX and Go's archive/tar read it.
struct TarPAXRecords {
    var path: [UInt8]?
    var linkpath: [UInt8]?
    var size: Int?
    var mtime: Int64?
    var uid: Int?
    var gid: Int?
    /// Any `GNU.sparse.*` record: the entry is a sparse file.
    var sparse = false
    /// `GNU.sparse.name`: a sparse file's real name (format 0.1 and 1.0 store a placeholder in `path`).
    var sparseName: [UInt8]?

    /// Parses `"%d %s=%s\n"` records; returns a description of the first malformed one, or nil.
    static func parse(_ bytes: UnsafeRawBufferPointer, into r: inout TarPAXRecords) -> String? {
        var i = 0
        let n = bytes.count
        while i < n {
            // Length (decimal, counting the whole record), one space, key=value, newline.
            var length = 0, j = i
            while j < n, bytes[j] >= 0x30, bytes[j] <= 0x39 {
                length = length * 10 + Int(bytes[j] - 0x30)
                if length > n { return "record length exceeds the header at record offset \(i)" }
                j += 1
            }
            guard j > i, j < n, bytes[j] == 0x20 else { return "no record length at record offset \(i)" }
            guard length >= 5, i + length <= n else { return "bad record length \(length) at record offset \(i)" }
            let end = i + length
            guard bytes[end - 1] == 0x0A else { return "record at offset \(i) does not end with a newline" }
            let record = UnsafeRawBufferPointer(rebasing: bytes[(j + 1)..<(end - 1)])
            guard let eq = record.firstIndex(of: 0x3D), eq > 0 else { return "record at offset \(i) has no key=value" }
            let key = UnsafeRawBufferPointer(rebasing: record[..<eq])
            let value = UnsafeRawBufferPointer(rebasing: record[(eq + 1)...])
            if let problem = r.apply(key, value) { return "\(problem) at record offset \(i)" }
            i = end
        }
        return nil
    }

    private mutating func apply(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> String? {
        func isKey(_ name: StaticString) -> Bool {
            key.count == name.utf8CodeUnitCount && memcmpEqual(key, name)
        }
        if key.starts(with: "GNU.sparse.".utf8) {
            sparse = true
            if isKey("GNU.sparse.name") { sparseName = value.isEmpty ? nil : Array(value) }
            return nil
        }
        if isKey("path") || isKey("linkpath") {
            if value.contains(0) { return "NUL byte in \(String(decoding: key, as: UTF8.self))" }
            let v: [UInt8]? = value.isEmpty ? nil : Array(value)
            if isKey("path") { path = v } else { linkpath = v }
        } else if isKey("size") {
            guard !value.isEmpty else { size = nil; return nil }
            guard let v = Self.decimal(value) else { return "invalid size \"\(String(decoding: value.prefix(40), as: UTF8.self))\"" }
            size = Int(v)
        } else if isKey("mtime") {
            // Seconds with an optional fraction and sign; a malformed time is not worth failing over.
            let whole = value.firstIndex(of: 0x2E).map { UnsafeRawBufferPointer(rebasing: value[..<$0]) } ?? value
            if whole.first == 0x2D {
                mtime = Self.decimal(UnsafeRawBufferPointer(rebasing: whole.dropFirst())).map { -$0 }
            } else {
                mtime = Self.decimal(whole)
            }
        } else if isKey("uid") {
            uid = Self.decimal(value).map { Int($0) }
        } else if isKey("gid") {
            gid = Self.decimal(value).map { Int($0) }
        }
        return nil
    }

    /// A non-negative decimal number that fits in Int64, or nil.
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var v: Int64 = 0
        for c in bytes {
            guard c >= 0x30, c <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(c - 0x30))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }
}

private func memcmpEqual(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
    b.withUTF8Buffer { s in
        for k in 0..<s.count where a[k] != s[k] { return false }
        return true
    }
}
