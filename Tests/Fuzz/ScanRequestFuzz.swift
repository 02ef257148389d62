// Fuzz target `scan-request`: the body of POST /scan and /discover over arbitrary bytes, then each accepted
// image as a name within a registry. It never traps; an accepted body names 1 to 1000 distinct printable
// references of at most 512 bytes; a name the second step accepts parses as an image reference; an
// error is one bounded line.
import AgentKit
import Core

enum ScanRequestFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let body = Array(data)
        switch ScanRequest.parse(body) {
        case .failure(let e):
            fuzzCheck(!e.message.isEmpty && e.message.utf8.count < 600 && !e.message.contains("\n"), "error \(e.message.prefix(200)) for \(fuzzDescribe(data))")
        case .success(let r):
            fuzzCheck((1...ScanRequest.maxImages).contains(r.images.count), "\(r.images.count) images from \(fuzzDescribe(data))")
            fuzzCheck(Set(r.images).count == r.images.count, "duplicates kept: \(fuzzDescribe(data))")
            for image in r.images {
                fuzzCheck(!image.isEmpty && image.utf8.count <= ScanRequest.maxReferenceBytes
                          && image.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }, "image \(image.prefix(100)) accepted")
            }
            switch ScanRequest.references(r.images, registry: "registry.example:5000") {
            case .failure(let e): fuzzCheck(e.message.utf8.count < 2600, "long error for \(fuzzDescribe(data))")
            case .success(let names):
                fuzzCheck(names.count == r.images.count, "names lost")
                for n in names {
                    fuzzCheck((try? ImageReference(parsing: n)) != nil, "\(n) accepted but does not parse")
                    fuzzCheck(!n.lowercased().hasPrefix("registry.example:5000/"), "the registry's host kept in \(n)")
                }
            }
        }
    }
}
