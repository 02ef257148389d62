// The report formats by name, for the CLI and the HTTP API to pick one.

/// Every format the agent writes, named as the `--output`/`format` value.
public enum ReportFormat: String, CaseIterable, Sendable {
    case snyk = "snyk"
    case cyclonedxJSON = "cyclonedx-json"
    case spdxJSON = "spdx-json"
    case table = "table"

    /// Renders `inventory` in this format.
    public func render(_ inventory: ImageInventory, options: ReportOptions) -> [UInt8] {
        switch self {
        case .snyk: return SnykReport.render(inventory, options: options)
        case .cyclonedxJSON: return CycloneDXReport.render(inventory, options: options)
        case .spdxJSON: return SPDXReport.render(inventory, options: options)
        case .table: return TableReport.render(inventory, options: options)
        }
    }
}
