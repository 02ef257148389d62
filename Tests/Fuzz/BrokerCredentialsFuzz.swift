// Fuzz target `cr-credentials`: the broker's CR_CREDENTIALS parser over arbitrary bytes, both as the raw
// header value and base64-encoded (strict JSON, then the positional reading), and as the password of the
// line snyk's entrypoint writes. It never traps; an error never quotes the input; a password without
// quotes, backslashes or control characters comes back as given.
import AgentKit
import Core

enum BrokerCredentialsFuzz {
    @Sendable static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        for raw in [String(decoding: bytes, as: UTF8.self), Base64.encode(bytes)] {
            if case .failure(let e) = BrokerCredentials.parse(raw) {
                fuzzCheck(e.variable == "CR_CREDENTIALS" && e.message == "expected base64 of a JSON object", "error \(e) for \(fuzzDescribe(data))")
            }
        }
        let password = String(decoding: bytes, as: UTF8.self)
        let line = #"{"type":"gcr", "username":"_json_key", "password":""# + password + #"", "registryBase":"gcr.io"}"# + "\n"
        let parsed = BrokerCredentials.parse(Base64.encode(Array(line.utf8)))
        let plain = password.unicodeScalars.allSatisfy { $0 != "\"" && $0 != "\\" && $0.value >= 0x20 }
        if plain {
            guard case .success(let given) = parsed else { return fuzzCheck(false, "refused a plain password: \(fuzzDescribe(data))") }
            fuzzCheck(given.password == password && given.registryBase == "gcr.io" && given.username == "_json_key",
                      "plain password read as \(String(describing: given)): \(fuzzDescribe(data))")
        }
    }
}
