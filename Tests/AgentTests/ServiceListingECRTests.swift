// The agent service's registry reads for the ecr type end to end, against moto (STS and ECR) and the
// reference registry standing in for ECR's registry endpoint.
import Foundation
import TestSupport
import XCTest

/// The registry reads for an ecr request: the broker's ecr CR_CREDENTIALS in the header, the agent's own
/// AWS identity assuming the role through moto's STS, repositories and tags through moto's ECR API (paged
/// by offset), and the registry reads on CR_BASE (the local registry, whose user is ECR's login).
final class ServiceListingECRTests: XCTestCase {
    func testECRThroughTheService() throws {
        let aws = try AWSFixture.start()
        defer { aws.stop() }
        let registry = try RegistryFixture.start(auth: "htpasswd", htpasswdUser: "AWS:\(aws.ecrPassword)", pushing: ["basic"])
        defer { registry.stop() }
        let (agent, port) = try startAgentService(["CR_BASE": registry.url, "AWS_ACCESS_KEY_ID": aws.accessKeyID,
                                                   "AWS_SECRET_ACCESS_KEY": aws.secretAccessKey, "AWS_ENDPOINT_URL": aws.endpoint])
        defer { _ = agent.stop() }
        let line = #"{"type":"ecr","roleArn":"\#(aws.roleArn)","extra":{"region":"\#(aws.region)","externalId":"ext-7"}}"# + "\n"
        let ecr = Data(line.utf8).base64EncodedString()
        func get(_ path: String) throws -> (Int, Any?) {
            let r = try runProcess("/usr/bin/curl", ["-sS", "-w", "\n%{http_code}", "-H", "authorization: \(ecr)", "http://127.0.0.1:\(port)\(path)"], timeout: 120)
            let cut = r.stdout.lastIndex(of: "\n") ?? r.stdout.startIndex
            return (Int(r.stdout[cut...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1,
                    try? JSONSerialization.jsonObject(with: Data(r.stdout[..<cut].utf8)))
        }
        let (listStatus, list) = try get("/list")
        XCTAssertEqual(listStatus, 200, "\(list ?? "")")
        XCTAssertEqual((list as? [String])?.sorted(), ["app/one", "app/two", "base/debian"])
        var paged: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let (status, page) = try get("/list-paginated/?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
            XCTAssertEqual(status, 200, "\(page ?? "")")
            let object = page as? [String: Any] ?? [:]
            paged += object["repositories"] as? [String] ?? []
            cursor = object["next"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        XCTAssertEqual(pages, 2)
        XCTAssertEqual(paged.sorted(), ["app/one", "app/two", "base/debian"])
        let (tagsStatus, tags) = try get("/list/app/one")
        XCTAssertEqual(tagsStatus, 200)
        XCTAssertEqual((tags as? [String])?.sorted(), ["1.0", "2.0", "latest"])
        let (checkStatus, check) = try get("/systemcheck")
        XCTAssertEqual(checkStatus, 200, "\(check ?? "")")
        let (stateStatus, state) = try get("/get-state-identifier?image=single/app:1.0")
        XCTAssertEqual(stateStatus, 200, "\(state ?? "")")
        XCTAssertEqual((state as? [String: Any])?["stateIdentifier"] as? String, try registry.image("single/app:1.0")["digest"] as? String)
        XCTAssertEqual(agent.stop(), 0)
        for secret in [aws.secretAccessKey, aws.ecrPassword, ecr] {
            XCTAssertFalse(agent.stdout.contains(secret) || agent.stderr.contains(secret), "a secret reached the output")
        }
    }
}
