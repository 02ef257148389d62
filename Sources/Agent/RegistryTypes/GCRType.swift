// gcr: Google Container Registry (gcr.io and its regional hosts); user name _json_key, the key file as password.
struct GCRType: RegistryType {
    let name = "gcr"
    let defaultRegistry: String? = "gcr.io"
}
