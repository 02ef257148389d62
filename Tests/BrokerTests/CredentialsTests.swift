// CR_CREDENTIALS byte for byte: CRCredentials.build against snyk's real entrypoint run by bash (the oracle),
// per CR_TYPE and for the values where bash's printf + unquoted echo are surprising; and REFERENCE §3's vectors.
import XCTest
import Foundation
import TestSupport
@testable import BrokerKit

final class CredentialsTests: XCTestCase {
    /// snyk/broker bin/container-registry-agent/docker-entrypoint.sh, verbatim.
    static let entrypoint = #"""
#!/bin/bash

# ensure correct exit status in case of error
set -e
set -o pipefail


# Build and set CR_CREDENTIALS unless already set
if [[ -z "$CR_CREDENTIALS" ]]; then
  if [[ "$CR_TYPE" == "ElasticCR" || "$CR_TYPE" == "ecr" ]]; then
    FORMAT='{"type":"%s","roleArn":"%s","extra":{"region":"%s","externalId":"%s"}}\n'
    JSON=$(printf "$FORMAT" "$CR_TYPE" "$CR_ROLE_ARN" "$CR_REGION" "$CR_EXTERNAL_ID")
  elif [[ "$CR_TYPE" == "digitalocean-cr" ]]; then
    FORMAT='{"type":"%s", "username":"%s", "password":"%s", "registryBase":"%s"}\n'
    JSON=$(printf "$FORMAT" "$CR_TYPE" "$CR_TOKEN" "$CR_TOKEN" "$CR_BASE")
  else
    FORMAT='{"type":"%s", "username":"%s", "password":"%s", "registryBase":"%s"}\n'
    JSON=$(printf "$FORMAT" "$CR_TYPE" "$CR_USERNAME" "$CR_PASSWORD" "$CR_BASE")
  fi

  export CR_CREDENTIALS=$(echo $JSON | base64 -w0)
fi
if [[ $BROKER_CLIENT_VALIDATION_URL ]]; then
  export BROKER_CLIENT_VALIDATION_AUTHORIZATION_HEADER=$CR_CREDENTIALS
fi

# execute main command
exec "$@"
"""#

    /// What the entrypoint exports as CR_CREDENTIALS for `env`: bash runs it in an empty directory (so the
    /// unquoted `echo $JSON` has no file names to expand), then `printenv` prints the variable.
    func oracle(_ env: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("entrypoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("docker-entrypoint.sh")
        try Data(Self.entrypoint.utf8).write(to: script)
        var environment = env
        environment["PATH"] = "/usr/bin:/bin"
        let r = try runProcess("/bin/bash", ["-c", "cd \"$0\" && exec /bin/bash ./docker-entrypoint.sh printenv CR_CREDENTIALS", dir.path],
                               environment: environment, timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("\n"))
        return String(r.stdout.dropLast())
    }

    static let standard = ["CR_USERNAME": "user", "CR_PASSWORD": "pass", "CR_BASE": "registry.example.com:5000/team"]

    func testEveryTypeMatchesTheEntrypoint() throws {
        var cases: [[String: String]] = []
        for type in BrokerClientSettings.knownRegistryTypes + ["azure-cr", "DockerHub"] where !["ecr", "digitalocean-cr"].contains(type) {
            cases.append(Self.standard.merging(["CR_TYPE": type]) { $1 })
        }
        cases.append(["CR_TYPE": "digitalocean-cr", "CR_TOKEN": "dop_v1_abc", "CR_BASE": "registry.digitalocean.com/acme",
                      "CR_USERNAME": "ignored", "CR_PASSWORD": "ignored"])
        cases.append(["CR_TYPE": "ecr", "CR_ROLE_ARN": "arn:aws:iam::123456789012:role/ro", "CR_REGION": "eu-west-3", "CR_EXTERNAL_ID": "x-1"])
        cases.append(["CR_TYPE": "ecr", "CR_ROLE_ARN": "arn:aws:iam::123456789012:role/ro", "CR_REGION": "eu-west-3"])
        cases.append(["CR_TYPE": "ElasticCR", "CR_ROLE_ARN": "arn:aws:iam::1:role/r", "CR_REGION": "us-east-1", "CR_USERNAME": "ignored"])
        cases.append(["CR_TYPE": "Ecr", "CR_ROLE_ARN": "arn", "CR_REGION": "r", "CR_USERNAME": "u", "CR_PASSWORD": "p"])  // `==` is case-sensitive
        for env in cases {
            XCTAssertEqual(CRCredentials.build(env), try oracle(env), "\(env)")
        }
    }

    func testValuesBashMangles() throws {
        let gcrKey = """
        {
          "type": "service_account",
          "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n",
          "client_email": "scanner@proj.iam.gserviceaccount.com"
        }

        """
        let passwords = [
            gcrKey,                          // newlines and indentation collapse; quotes stay bare
            "  lead and trail  ",            // leading/trailing blanks of a word run vanish
            "tab\t\tand  spaces",            // runs collapse to one space
            "100%s%d%%\\n\\t",               // printf directives and escapes inside a value are not interpreted
            "quote\"back\\slash",
            "star*and?[x]",                  // no file matches in the empty directory: kept as written
            "-n",                            // not the first word, so not an echo option
            "pässwörd ☃",
            "",
        ]
        for password in passwords {
            let env = ["CR_TYPE": "gcr", "CR_USERNAME": "_json_key", "CR_PASSWORD": password, "CR_BASE": "gcr.io"]
            XCTAssertEqual(CRCredentials.build(env), try oracle(env), password.debugDescription)
        }
        let trailing = ["CR_TYPE": "ecr", "CR_ROLE_ARN": "arn\n\n", "CR_REGION": "eu\n", "CR_EXTERNAL_ID": "id\n\n\n"]
        XCTAssertEqual(CRCredentials.build(trailing), try oracle(trailing))
        let nothing: [String: String] = [:]
        XCTAssertEqual(CRCredentials.build(nothing), try oracle(nothing))
    }

    func testAGivenValueIsKept() throws {
        let env = ["CR_CREDENTIALS": "already set", "CR_TYPE": "DockerHub", "CR_USERNAME": "user", "CR_PASSWORD": "pass"]
        XCTAssertEqual(CRCredentials.build(env), "already set")
        XCTAssertEqual(try oracle(env), "already set")
    }

    func testReferenceVectors() {
        // REFERENCE §3 (snyk's plugin tests; the plugin writes `undefined` for a missing base).
        XCTAssertEqual(CRCredentials.build(["CR_TYPE": "gitlab-cr", "CR_USERNAME": "test-username", "CR_PASSWORD": "test-password",
                                            "CR_BASE": "undefined"]),
                       "eyJ0eXBlIjoiZ2l0bGFiLWNyIiwgInVzZXJuYW1lIjoidGVzdC11c2VybmFtZSIsICJwYXNzd29yZCI6InRlc3QtcGFzc3dvcmQiLCAicmVnaXN0cnlCYXNlIjoidW5kZWZpbmVkIn0K")
        XCTAssertEqual(CRCredentials.build(["CR_TYPE": "ecr", "CR_ROLE_ARN": "test-role", "CR_REGION": "test-region",
                                            "CR_EXTERNAL_ID": "test-external-id"]),
                       "eyJ0eXBlIjoiZWNyIiwicm9sZUFybiI6InRlc3Qtcm9sZSIsImV4dHJhIjp7InJlZ2lvbiI6InRlc3QtcmVnaW9uIiwiZXh0ZXJuYWxJZCI6InRlc3QtZXh0ZXJuYWwtaWQifX0K")
        // snyk's own entrypoint test (test/bin/container-registry-agent/docker-entrypoint-test.sh), decoded.
        XCTAssertEqual(CRCredentials.jsonLine(["CR_TYPE": "digitalocean-cr", "CR_TOKEN": "token", "CR_BASE": "cr.com/my"]),
                       #"{"type":"digitalocean-cr", "username":"token", "password":"token", "registryBase":"cr.com/my"}"# + "\n")
        XCTAssertEqual(CRCredentials.jsonLine(["CR_TYPE": "ecr", "CR_ROLE_ARN": "arn:role:...", "CR_REGION": "eu-west-3",
                                               "CR_EXTERNAL_ID": "1234567890"]),
                       #"{"type":"ecr","roleArn":"arn:role:...","extra":{"region":"eu-west-3","externalId":"1234567890"}}"# + "\n")
    }
}
