// The registry of ecosystems and their catalogers: every ecosystem the scanner reads, in one list.

public enum Catalogers {
    /// Every ecosystem, in the order its catalogers are asked: OS package databases first, then
    /// application manifests. An ecosystem is its `PackageEcosystem` type beside its cataloger
    /// (Sources/Agent/Catalogers/*Ecosystem.swift); adding one is its files there and one entry here.
    static let ecosystems: [Ecosystem] = [.deb, .apk, .rpm, .npm, .python, .java, .golang, .gem, .composer, .nuget, .cargo]

    /// The registered ecosystems by id, for cached findings (read a package at a time).
    static let ecosystemsByID = Dictionary(uniqueKeysWithValues: ecosystems.map { ($0.rawValue, $0) })

    /// One instance of every cataloger, with default limits.
    public static var all: [any Cataloger] { ecosystems.flatMap { $0.kind.catalogers } }

    /// The part of the layer-cache key that changes whenever any cataloger's output may change.
    public static var cacheKey: String { all.map { "\($0.name)@\($0.version)" }.sorted().joined(separator: ",") }
}
