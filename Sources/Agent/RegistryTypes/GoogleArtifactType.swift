// google-artifact-cr: Google Artifact Registry (<region>-docker.pkg.dev, so CR_BASE is required); user name _json_key, the key file as password.
struct GoogleArtifactType: RegistryType {
    let name = "google-artifact-cr"
}
