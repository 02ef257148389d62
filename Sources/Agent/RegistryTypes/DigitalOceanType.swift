// digitalocean-cr: DigitalOcean's registry; CR_TOKEN is both user name and password (the chain's CR_TOKEN rule).
struct DigitalOceanType: RegistryType {
    let name = "digitalocean-cr"
    let defaultRegistry: String? = "registry.digitalocean.com"
}
