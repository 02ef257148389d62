// The registry types (CR_TYPE) as one table, and the one credential chain every command uses: each of
// the 12 types with its own registry and listing, unknown types refused in one line, the broker's
// CR_CREDENTIALS read strictly and, when bash has broken its JSON, by position.
import Core
import Foundation
import TestSupport
import XCTest
@testable import AgentKit

final class RegistryTypeTests: XCTestCase {
    enum Listing: Equatable { case catalog, vendorAPI, notOffered }

    /// Row by row against REFERENCE §4 and §8: the name snyk uses, the registry a hosted type lives on
    /// (nil: self-hosted or per-tenant, CR_BASE required), and how its repositories are listed.
    static let table: [(name: String, registry: String?, listing: Listing)] = [
        ("docker-hub", "registry-1.docker.io", .vendorAPI),
        ("artifactory-cr", nil, .catalog),
        ("harbor-cr", nil, .catalog),
        ("quay-cr", "quay.io", .catalog),
        ("github-cr", "ghcr.io", .notOffered),
        ("nexus-cr", nil, .catalog),
        ("digitalocean-cr", "registry.digitalocean.com", .catalog),
        ("gitlab-cr", "registry.gitlab.com", .notOffered),
        ("acr", nil, .catalog),
        ("google-artifact-cr", nil, .catalog),
        ("gcr", "gcr.io", .catalog),
        ("ecr", nil, .vendorAPI),
    ]

    func testTheTableHoldsTheTwelveTypesWithTheirRegistryAndListing() {
        XCTAssertEqual(RegistryTypes.all.map(\.name), Self.table.map(\.name), "one table, in snyk's order")
        for row in Self.table {
            guard let type = RegistryTypes.named(row.name) else { XCTFail("\(row.name) is not registered"); continue }
            XCTAssertEqual(type.defaultRegistry, row.registry, row.name)
            let listing: Listing
            switch type.repositoryListing {
            case .catalog: listing = .catalog
            case .vendorAPI: listing = .vendorAPI
            case .notOffered: listing = .notOffered
            }
            XCTAssertEqual(listing, row.listing, row.name)
        }
        XCTAssertEqual(RegistryTypes.named("docker-hub")?.officialImagePrefix, "library/")
        XCTAssertEqual(RegistryTypes.all.filter { $0.officialImagePrefix != nil }.count, 1, "only Docker Hub has official images")
        XCTAssertEqual(Set(RegistryTypes.all.filter(\.pathPrefixedBase).map(\.name)), ["artifactory-cr", "nexus-cr"])
        XCTAssertEqual(RegistryTypes.named("azure-cr")?.name, "acr", "the other spelling of snyk's pages")
        XCTAssertEqual(RegistryTypes.named(" GitLab-CR ")?.name, "gitlab-cr")
        XCTAssertNil(RegistryTypes.named("docker"))
    }

    func testUnknownTypeNamesTheVariableAndTheKnownTypes() {
        let known = Self.table.map(\.name).joined(separator: ", ")
        guard case .failure(let e) = RegistryAccess.fromEnvironment(Environment(["CR_TYPE": "dockerhub"])) else { return XCTFail("accepted") }
        XCTAssertEqual(e.description, "CR_TYPE: unknown registry type \"dockerhub\"; known types: \(known)")
        let broker = Base64.encode(Array(#"{"type":"harbour-cr", "username":"u", "password":"p", "registryBase":"h:5000"}"#.utf8))
        guard case .failure(let b) = RegistryAccess.fromEnvironment(Environment(["CR_CREDENTIALS": broker])) else { return XCTFail("accepted") }
        XCTAssertTrue(b.description.hasPrefix("CR_CREDENTIALS: unknown registry type \"harbour-cr\""), b.description)
    }

    /// Every command refuses an unknown CR_TYPE before touching anything: exit 2, one line naming the
    /// variable and listing the 12 known types.
    func testUnknownCRTypeExitsTwoInEveryCommand() throws {
        for args in [["fetch", "127.0.0.1:1/a:1"], ["list", "127.0.0.1:1"], ["scan", "127.0.0.1:1/a:1"]] {
            let r = try runProcess(agentExecutablePath, args, environment: ["PATH": "/usr/bin:/bin", "CR_TYPE": "registry-x"], timeout: 30)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("cr-agent \(args[0]): CR_TYPE: unknown registry type \"registry-x\"; known types: docker-hub, "), r.stderr)
            for row in Self.table { XCTAssertTrue(r.stderr.contains(row.name), "\(row.name) listed: \(r.stderr)") }
        }
    }

    /// The vectors of REFERENCE §3 (snyk's plugin tests), read strictly.
    func testBrokerCredentialVectors() throws {
        let gitlab = try BrokerCredentials.parse("eyJ0eXBlIjoiZ2l0bGFiLWNyIiwgInVzZXJuYW1lIjoidGVzdC11c2VybmFtZSIsICJwYXNzd29yZCI6InRlc3QtcGFzc3dvcmQiLCAicmVnaXN0cnlCYXNlIjoidW5kZWZpbmVkIn0K").get()
        XCTAssertEqual(gitlab, BrokerCredentials(type: "gitlab-cr", username: "test-username", password: "test-password", registryBase: "undefined"))
        let ecr = try BrokerCredentials.parse("eyJ0eXBlIjoiZWNyIiwicm9sZUFybiI6InRlc3Qtcm9sZSIsImV4dHJhIjp7InJlZ2lvbiI6InRlc3QtcmVnaW9uIiwiZXh0ZXJuYWxJZCI6InRlc3QtZXh0ZXJuYWwtaWQifX0K").get()
        XCTAssertEqual(ecr, BrokerCredentials(type: "ecr", roleArn: "test-role", region: "test-region", externalID: "test-external-id"))
        guard case .success(let access) = RegistryAccess.fromBrokerCredentials("Bearer eyJ0eXBlIjoiZWNyIiwicm9sZUFybiI6InRlc3Qtcm9sZSIsImV4dHJhIjp7InJlZ2lvbiI6InRlc3QtcmVnaW9uIiwiZXh0ZXJuYWxJZCI6InRlc3QtZXh0ZXJuYWwtaWQifX0K"),
              case .awsRole(let role) = access.source else { return XCTFail("the ecr form, with a Bearer scheme, is an AWS role") }
        XCTAssertEqual(access.type?.name, "ecr")
        XCTAssertEqual(role, ECRRole(roleArn: "test-role", region: "test-region", externalID: "test-external-id"))
    }

    /// A GCR JSON key as CR_PASSWORD: bash neither escapes its quotes nor keeps its line breaks, so the
    /// line is not JSON; the password is read by position, up to the last `", "registryBase":"`.
    func testGCRKeyAsPasswordIsReadByPosition() throws {
        let key = #"{ "type": "service_account", "project_id": "p-1", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "client_email": "a@p-1.iam.gserviceaccount.com" }"#
        let line = #"{"type":"gcr", "username":"_json_key", "password":""# + key + #"", "registryBase":"gcr.io"}"# + "\n"
        XCTAssertThrowsError(try JSON.parse(Array(line.utf8)), "the line bash writes is not JSON")
        let given = try BrokerCredentials.parse(Base64.encode(Array(line.utf8))).get()
        XCTAssertEqual(given, BrokerCredentials(type: "gcr", username: "_json_key", password: key, registryBase: "gcr.io"))
        let access = try RegistryAccess.fromBrokerCredentials(Base64.encode(Array(line.utf8))).get()
        XCTAssertEqual(try access.source.credentials(for: "gcr.io", type: access.type).get().password, key)
        XCTAssertThrowsError(try access.source.credentials(for: "evil.example", type: access.type).get(), "still only for gcr.io")
        for bad in ["not base64 !!", Base64.encode(Array(#"{"type":"gcr", "username":"a"b", "password":"x", "registryBase":""}"#.utf8)),
                    Base64.encode(Array("just text".utf8))] {
            guard case .failure(let e) = BrokerCredentials.parse(bad) else { XCTFail("accepted \(bad)"); continue }
            XCTAssertEqual(e.description, "CR_CREDENTIALS: expected base64 of a JSON object", "the value is never echoed")
        }
    }

    /// The chain in its order, with the type's own reading of the variables.
    func testChainOrderAndTypes() throws {
        func source(_ env: [String: String]) -> CredentialSource? { try? RegistryAccess.fromEnvironment(Environment(env)).get().source }
        guard case .variables(let token)? = source(["CR_TYPE": "digitalocean-cr", "CR_TOKEN": "dop_v1_x"]) else { return XCTFail() }
        XCTAssertEqual(token.username, "dop_v1_x")
        XCTAssertEqual(token.password, "dop_v1_x", "CR_TOKEN is both")
        guard case .awsRole(let role)? = source(["CR_TYPE": "ecr", "CR_REGION": "eu-west-1", "CR_ROLE_ARN": "arn:aws:iam::1:role/r", "CR_USERNAME": "ignored", "CR_PASSWORD": "x"]) else { return XCTFail() }
        XCTAssertEqual(role.roleArn, "arn:aws:iam::1:role/r")
        guard case .dockerConfig(let dir)? = source(["HOME": "/home/u"]) else { return XCTFail() }
        XCTAssertEqual(dir, "/home/u/.docker")
        guard case .dockerConfig(let set)? = source(["HOME": "/home/u", "DOCKER_CONFIG": "/etc/dc"]) else { return XCTFail() }
        XCTAssertEqual(set, "/etc/dc")
        guard case .anonymous? = source([:]) else { return XCTFail("no home, no config: anonymous") }
        let broker = Base64.encode(Array(#"{"type":"quay-cr", "username":"robot", "password":"pw", "registryBase":""}"#.utf8) + [10])
        let access = try RegistryAccess.fromEnvironment(Environment(["CR_CREDENTIALS": broker, "CR_TYPE": "harbor-cr"])).get()
        XCTAssertEqual(access.type?.name, "quay-cr", "the credentials' own type wins over CR_TYPE")
        XCTAssertEqual(try access.source.credentials(for: "quay.io", type: access.type).get().username, "robot", "an empty registryBase means the type's registry")
    }

    /// A reference without a registry host goes to the type's own registry, with Docker Hub's `library/`
    /// for one-component names; a type without a registry (harbor-cr) still needs one named.
    func testReferenceWithoutAHostGoesToTheTypesRegistry() throws {
        let hub = try RegistryTarget(reference: "alpine:3.19", crBase: nil, plainHTTP: false, defaultType: RegistryTypes.named("docker-hub"))
        XCTAssertEqual(hub.base.description, "https://registry-1.docker.io")
        XCTAssertEqual(hub.reference.repository, "library/alpine")
        let gcr = try RegistryTarget(reference: "project/app:1", crBase: nil, plainHTTP: false, defaultType: RegistryTypes.named("gcr"))
        XCTAssertEqual(gcr.base.description, "https://gcr.io")
        XCTAssertEqual(gcr.reference.repository, "project/app")
        let named = try RegistryTarget(reference: "reg.example:5000/app:1", crBase: nil, plainHTTP: false, defaultType: RegistryTypes.named("quay-cr"))
        XCTAssertEqual(named.base.description, "https://reg.example:5000", "a named host wins")
        XCTAssertThrowsError(try RegistryTarget(reference: "app:1", crBase: nil, plainHTTP: false, defaultType: RegistryTypes.named("harbor-cr")))
        XCTAssertThrowsError(try RegistryTarget(reference: "project/app:1", crBase: nil, plainHTTP: false, defaultType: nil))
    }
}
