// ECR's listing, which its registry endpoint does not offer (/v2/_catalog is not served):
// DescribeRepositories and ListImages (tagged images), page by page with nextToken.
import Core

final class ECRCatalog {
    private let call: AWSCall
    private let endpoint: String
    private let credentials: AWSCredentials
    /// maxResults per call (ECR allows 1...1000).
    private let pageSize: Int

    init(call: AWSCall, endpoint: String, credentials: AWSCredentials, pageSize: Int) {
        self.call = call
        self.endpoint = endpoint
        self.credentials = credentials
        self.pageSize = min(max(pageSize, 1), 1000)
    }

    func listRepositories(onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        page(action: "DescribeRepositories", fields: [], items: "repositories", name: "repositoryName",
             token: nil, total: 0, onPage: onPage, done: done)
    }

    func listTags(repository: String, onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        page(action: "ListImages", fields: [("repositoryName", .string(repository)), ("filter", .object([("tagStatus", .string("TAGGED"))]))],
             items: "imageIds", name: "imageTag", token: nil, total: 0, onPage: onPage, done: done)
    }

    /// Pages of one listing asked for at most (an answer whose nextToken never ends cannot keep it going).
    static let maxPages = 10_000

    private func page(action: String, fields: [(String, JSON)], items: String, name: String, token: String?, total: Int,
                      pages: Int = 1, onPage: @escaping ([String]) -> Void, done: @escaping (Result<Int, RegistryError>) -> Void) {
        var body = fields + [("maxResults", .int(pageSize))]
        if let token { body.append(("nextToken", .string(token))) }
        call.post(service: "ecr", endpoint: endpoint,
                  headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.\(action)")],
                  body: Array(JSON.object(body).serialized.utf8), credentials: credentials, what: "ECR \(action)") { [self] result in
            switch result {
            case .failure(let e):
                done(.failure(e))
            case .success(let bytes):
                guard let json = try? JSON.parse(bytes), let list = json[items]?.array else {
                    return done(.failure(RegistryError(.registry, registry: endpoint, "ECR \(action): the answer has no \(items)")))
                }
                let names = list.compactMap { $0[name]?.string }
                if !names.isEmpty { onPage(names) }
                let next = json["nextToken"]?.string
                if let next, !next.isEmpty, next != token {
                    guard pages < Self.maxPages else {
                        return done(.failure(RegistryError(.registry, registry: endpoint, "ECR \(action): still more after \(Self.maxPages) pages; the listing is stopped there")))
                    }
                    page(action: action, fields: fields, items: items, name: name, token: next, total: total + names.count,
                         pages: pages + 1, onPage: onPage, done: done)
                } else {
                    done(.success(total + names.count))
                }
            }
        }
    }
}
