// harbor-cr: Harbor. Its catalog needs an admin; the project API (/api/v2.0/projects) that lists for other users is not built yet, so the catalog is asked.
struct HarborType: RegistryType {
    let name = "harbor-cr"
}
