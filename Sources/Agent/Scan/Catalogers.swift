// The registry of catalogers: every ecosystem the scanner reads, in one list.

public enum Catalogers {
    /// OS package databases (Sources/Agent/Catalogers/OSCatalogers.swift) and application manifests
    /// (Sources/Agent/Catalogers/ApplicationCatalogers.swift).
    public static var all: [any Cataloger] { OSCatalogers.all + ApplicationCatalogers.all }

    /// The part of the layer-cache key that changes whenever any cataloger's output may change.
    public static var cacheKey: String { all.map { "\($0.name)@\($0.version)" }.sorted().joined(separator: ",") }
}
