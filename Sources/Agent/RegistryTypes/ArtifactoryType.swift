// artifactory-cr: JFrog Artifactory; CR_BASE may carry the repository path (<host>/artifactory/api/docker/<repo-key>), under which every /v2 URL goes.
struct ArtifactoryType: RegistryType {
    let name = "artifactory-cr"
    let pathPrefixedBase = true
}
