// gitlab-cr: GitLab's registry, which serves no catalog (its token realm is on another host): images are named by the caller.
struct GitLabType: RegistryType {
    let name = "gitlab-cr"
    let defaultRegistry: String? = "registry.gitlab.com"
    let repositoryListing = RepositoryListing.notOffered("GitLab's registry serves no /v2/_catalog")
}
