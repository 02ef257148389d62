// acr: Azure Container Registry (<name>.azurecr.io, so CR_BASE is required); snyk's helm chart says acr, some of its pages azure-cr.
// Its token server grants tags/list only to a token whose scope holds `metadata_read` (ACR's AAD-OAuth
// doc), so the tag listing asks for it with `pull` from the first token on.
struct AzureType: RegistryType {
    let name = "acr"
    let aliases = ["azure-cr"]
    let tagListActions = ["pull", "metadata_read"]
}
