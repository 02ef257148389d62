// docker-hub: Docker Hub's registry (token from auth.docker.io); official images under library/. Its repositories are listed by the hub API, which is not built yet: the catalog is asked (Docker Hub refuses it).
struct DockerHubType: RegistryType {
    let name = "docker-hub"
    let defaultRegistry: String? = "registry-1.docker.io"
    let officialImagePrefix: String? = "library/"
}
