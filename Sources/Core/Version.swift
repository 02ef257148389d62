// The product version reported by every executable and endpoint.
public enum ProductVersion {
    public static let current = "0.1.0"
}
