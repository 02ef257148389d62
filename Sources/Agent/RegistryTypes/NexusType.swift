// nexus-cr: Sonatype Nexus; the base often carries /repository/<repo>, and group repositories page with last= instead of Link.
struct NexusType: RegistryType {
    let name = "nexus-cr"
    let pathPrefixedBase = true
}
