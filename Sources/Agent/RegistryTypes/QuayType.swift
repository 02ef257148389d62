// quay-cr: Quay (quay.io or self-hosted); its paging cursors are opaque, followed from Link as given.
struct QuayType: RegistryType {
    let name = "quay-cr"
    let defaultRegistry: String? = "quay.io"
}
