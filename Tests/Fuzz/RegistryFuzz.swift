// Fuzz target `registry-manifest`: what a registry answers, over arbitrary bytes: the manifest / index
// parser, the image config reader, and WWW-Authenticate challenges. A descriptor it accepts has a sha256
// digest and a size within range, and every error it gives is one printable line of bounded length.
import AgentKit
import Core

enum RegistryFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let digest = "sha256:" + String(repeating: "0", count: 64)
        do {
            switch try ManifestParser.parse(bytes, digest: digest, contentType: nil, registry: "https://fuzz.example") {
            case .image(let m):
                for d in [m.config] + m.layers { check(d) }
            case .index(let i):
                for d in i.manifests { check(d) }
            }
        } catch {
            checkPrintable(error)
        }
        do {
            let config = try ImageConfig(digest: digest, raw: bytes, registry: "https://fuzz.example")
            fuzzCheck(config.raw == bytes, "the config does not keep its bytes")
        } catch {
            checkPrintable(error)
        }
        let field = String(decoding: bytes, as: UTF8.self)
        let challenges = AuthChallenge.parse([field])
        fuzzCheck(challenges.count <= bytes.count, "\(challenges.count) challenges from \(bytes.count) bytes")
        for c in challenges {
            fuzzCheck(!c.scheme.isEmpty && c.scheme == c.scheme.lowercased(), "scheme \"\(c.scheme)\" from \(fuzzDescribe(data))")
        }
    }

    static func check(_ d: Descriptor) {
        fuzzCheck(ImageReference.isDigest(d.digest), "descriptor digest \(d.digest) accepted")
        fuzzCheck(Descriptor.sizeRange.contains(d.size), "descriptor size \(d.size) accepted")
    }

    static func checkPrintable(_ e: RegistryError) {
        fuzzCheck(e.message.unicodeScalars.count <= RegistryError.maxMessageLength + 1, "message of \(e.message.unicodeScalars.count) characters")
        fuzzCheck(!e.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) },
                  "control character in \(e.description.prefix(200))")
    }
}
