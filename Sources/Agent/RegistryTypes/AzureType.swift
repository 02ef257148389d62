// acr: Azure Container Registry (<name>.azurecr.io, so CR_BASE is required); snyk's helm chart says acr, some of its pages azure-cr.
struct AzureType: RegistryType {
    let name = "acr"
    let aliases = ["azure-cr"]
}
