// github-cr: GitHub's container registry, which serves no catalog: images are named by the caller.
struct GitHubType: RegistryType {
    let name = "github-cr"
    let defaultRegistry: String? = "ghcr.io"
    let repositoryListing = RepositoryListing.notOffered("GitHub's registry serves no /v2/_catalog")
}
