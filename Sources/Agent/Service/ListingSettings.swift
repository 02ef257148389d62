// The limits of the API's registry reads (ListingRoutes): each request's deadline, the names one answer
// may carry, the page sizes, and SNYK_DISABLE_LIST_REPOS.
import Core

struct ListingSettings: Sendable {
    /// LISTING_TIMEOUT_MS: all the registry work of one request (token, pages, manifests) must end
    /// within it, else 504. Long enough for a slow catalog of many pages; short enough that a caller
    /// is never left waiting on a registry that stopped answering.
    var deadlineMs = 60_000
    static let deadlineRange = 1_000...600_000
    /// LIST_MAX_NAMES: the most repositories or tags one /list answer collects (the rest: /list-paginated).
    var maxNames = 100_000
    static let maxNamesRange = 1_000...1_000_000
    /// SNYK_DISABLE_LIST_REPOS=true: /list answers `[]` without asking the registry.
    var repositoryListingDisabled = false

    /// `?limit=` of /list-paginated: names per page.
    static let pageSizeRange = 1...1000
    static let defaultPageSize = 100
    /// `?limit=` of /list-with-metadata: tags per page (each costs a manifest and a config).
    static let metadataPageRange = 1...100
    static let defaultMetadataPageSize = 20
    /// Manifests fetched at once for one /list-with-metadata request.
    static let metadataConcurrency = 4
    /// Names asked of the registry per page while /list collects everything.
    static let collectPageSize = 1000

    init() {}

    init(_ env: Environment) throws(ConfigurationError) {
        deadlineMs = try env.int("LISTING_TIMEOUT_MS", default: deadlineMs, range: Self.deadlineRange)
        maxNames = try env.int("LIST_MAX_NAMES", default: maxNames, range: Self.maxNamesRange)
        if let raw = env["SNYK_DISABLE_LIST_REPOS"] {
            switch raw.trimmed(" \t").lowercased() {
            case "true", "1", "yes": repositoryListingDisabled = true
            case "false", "0", "no", "": repositoryListingDisabled = false
            default:
                throw ConfigurationError(variable: "SNYK_DISABLE_LIST_REPOS", message: "must be true or false, got \"\(UntrustedText.truncated(raw, maxBytes: 40))\"")
            }
        }
    }
}
