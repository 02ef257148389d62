// Caps on what one image's findings hold (warnings, packages, remembered paths, bytes of kept strings),
// per layer and per image, so an image cannot turn the findings themselves into a memory bomb.
import Core
import Synchronization

/// Kept findings counted against caps: a layer's against the per-layer caps, an image's against the
/// per-image ones.
struct FindingsTally {
    struct Caps { let warnings: Int, packages: Int, paths: Int, bytes: Int }

    private(set) var warnings = 0, packages = 0, paths = 0, bytes = 0

    /// Whether one more warning (when `warning`), `n` packages, `p` paths and `b` bytes stay within `caps`.
    func fits(warning: Bool, packages n: Int, paths p: Int, bytes b: Int, _ caps: Caps) -> Bool {
        !(warning && warnings >= caps.warnings) && !(n > 0 && packages > caps.packages - n)
            && !(p > 0 && paths > caps.paths - p) && !(bytes > caps.bytes - b)
    }

    mutating func add(warnings w: Int, packages n: Int, paths p: Int, bytes b: Int) {
        warnings &+= w
        packages &+= n
        paths &+= p
        bytes &+= b
    }
}

/// The image's running totals, shared by the recorders of its layers, which run on several worker
/// threads at once. Which of two layers scanned at once gets the last room under an image cap depends
/// on timing; every layer still keeps within its own caps, and what does not fit is counted and warned.
public final class FindingsBudget: Sendable {
    public let limits: ScanLimits
    private let totals = Mutex(FindingsTally())
    private var tally: FindingsTally { totals.withLock { $0 } }
    public var warnings: Int { tally.warnings }
    public var packages: Int { tally.packages }
    public var paths: Int { tally.paths }
    public var retainedBytes: Int { tally.bytes }
    private let caps: FindingsTally.Caps

    public init(limits: ScanLimits) {
        self.limits = limits
        caps = .init(warnings: limits.maxWarningsPerImage, packages: limits.maxPackagesPerImage,
                     paths: limits.maxPathsPerImage, bytes: limits.maxRetainedBytesPerImage)
    }

    /// Counts findings that did not pass through a recorder (a layer taken from the cache).
    public func charge(_ f: LayerFindings) {
        totals.withLock { $0.add(warnings: f.warnings.count, packages: f.packagesByPath.values.reduce(0) { $0 &+ $1.count },
                  paths: f.nonDirectoryHashes.count &+ f.directoryHashes.count &+ f.pathHashesNotRead &+ f.whiteouts.count
                      &+ f.opaqueDirectories.count,
                  bytes: 0) }
    }

    fileprivate func take(warning: Bool, packages n: Int, paths p: Int, bytes b: Int) -> Bool {
        totals.withLock { tally in
            guard tally.fits(warning: warning, packages: n, paths: p, bytes: b, caps) else { return false }
            tally.add(warnings: warning ? 1 : 0, packages: n, paths: p, bytes: b)
            return true
        }
    }
}

/// Builds one layer's findings within the layer's caps and the image's budget. Whatever does not fit
/// is counted, and `finish` turns each count into one summary warning.
struct LayerFindingsRecorder {
    private(set) var findings: LayerFindings
    let limits: ScanLimits
    let budget: FindingsBudget
    private let caps: FindingsTally.Caps
    private var tally = FindingsTally()
    private var droppedWarnings = 0, droppedPackages = 0, droppedPaths = 0, droppedOSFiles = 0, droppedOversized = 0

    init(layerDigest: String, limits: ScanLimits, budget: FindingsBudget) {
        findings = LayerFindings(layerDigest: layerDigest)
        self.limits = limits
        self.budget = budget
        caps = .init(warnings: limits.maxWarningsPerLayer, packages: limits.maxPackagesPerLayer,
                     paths: limits.maxPathsPerLayer, bytes: limits.maxRetainedBytesPerLayer)
    }

    private mutating func take(warning: Bool = false, packages n: Int = 0, paths p: Int = 0, bytes b: Int) -> Bool {
        guard tally.fits(warning: warning, packages: n, paths: p, bytes: b, caps),
              budget.take(warning: warning, packages: n, paths: p, bytes: b) else { return false }
        tally.add(warnings: warning ? 1 : 0, packages: n, paths: p, bytes: b)
        return true
    }

    /// Keeps `message` cut to `maxWarningBytes`, unless the layer or the image has enough warnings.
    mutating func warn(_ message: String) {
        let kept = UntrustedText.truncated(message, maxBytes: limits.maxWarningBytes)
        if take(warning: true, bytes: kept.utf8.count) { findings.warnings.append(kept) } else { droppedWarnings += 1 }
    }

    mutating func warn(_ messages: [String]) { for m in messages { warn(m) } }

    mutating func add(_ given: [Package], at path: String) {
        guard !given.isEmpty else { return }
        var found: [Package] = []
        for p in given { if let b = bounded(p) { found.append(b) } }
        guard !found.isEmpty else { return }
        let size = found.reduce(path.utf8.count) { $0 &+ Self.retainedBytes($1) }
        if take(packages: found.count, bytes: size) {
            findings.packagesByPath[path, default: []] += found
        } else {
            droppedPackages += found.count
        }
    }

    /// The package with over-long metadata values cut, or nil (counted) when its identity is over-long.
    private mutating func bounded(_ p: Package) -> Package? {
        let max = limits.maxPackageFieldBytes
        if p.name.utf8.count > max || p.version.utf8.count > max || (p.namespace?.utf8.count ?? 0) > max {
            droppedOversized += 1
            return nil
        }
        guard p.metadata.values.contains(where: { $0.utf8.count > max }) else { return p }
        return Package(ecosystem: p.ecosystem, name: p.name, version: p.version, namespace: p.namespace, location: p.location,
                       metadata: p.metadata.mapValues { UntrustedText.truncated($0, maxBytes: max) })
    }

    mutating func directory(hash: UInt64) {
        if findings.directoryHashes.contains(hash) { return }
        if take(paths: 1, bytes: 0) { findings.directoryHashes.insert(hash) } else { droppedPaths += 1 }
    }

    mutating func nonDirectory(hash: UInt64) {
        if findings.nonDirectoryHashes.contains(hash) { return }
        if take(paths: 1, bytes: 0) { findings.nonDirectoryHashes.insert(hash) } else { droppedPaths += 1 }
    }

    mutating func whiteout(_ path: String) {
        if findings.whiteouts.contains(path) { return }
        if take(paths: 1, bytes: path.utf8.count) { findings.whiteouts.insert(path) } else { droppedPaths += 1 }
    }

    mutating func opaque(_ directory: String) {
        if findings.opaqueDirectories.contains(directory) { return }
        if take(paths: 1, bytes: directory.utf8.count) { findings.opaqueDirectories.insert(directory) } else { droppedPaths += 1 }
    }

    mutating func osFile(_ path: String, _ text: String) {
        if take(bytes: text.utf8.count &+ path.utf8.count) { findings.osFiles[path] = text } else { droppedOSFiles += 1 }
    }

    /// The layer's findings, with one summary warning per kind of thing that did not fit (these few
    /// go past the caps on purpose: they are what tells the user something is missing).
    mutating func finish() -> LayerFindings {
        let layer = findings.layerDigest
        if droppedWarnings > 0 {
            findings.warnings.append("layer \(layer): \(droppedWarnings) more warning(s) not shown (at most \(limits.maxWarningsPerLayer) per layer, \(limits.maxWarningsPerImage) per image)")
        }
        if droppedPackages > 0 {
            findings.warnings.append("layer \(layer): \(droppedPackages) package(s) not reported: past the limits of \(limits.maxPackagesPerLayer) packages per layer, \(limits.maxPackagesPerImage) per image, or \(limits.maxRetainedBytesPerLayer) bytes of findings per layer")
        }
        if droppedOversized > 0 {
            findings.warnings.append("layer \(layer): \(droppedOversized) package(s) not reported: a name, version or namespace over \(limits.maxPackageFieldBytes) bytes")
        }
        if droppedPaths > 0 {
            findings.warnings.append("layer \(layer): \(droppedPaths) path(s) not remembered for the layer merge (at most \(limits.maxPathsPerLayer) per layer, \(limits.maxPathsPerImage) per image); files they delete or replace in lower layers may still be reported")
        }
        if droppedOSFiles > 0 {
            findings.warnings.append("layer \(layer): \(droppedOSFiles) OS identity file(s) not kept: past the \(limits.maxRetainedBytesPerLayer)-byte limit of findings per layer")
        }
        droppedWarnings = 0; droppedPackages = 0; droppedPaths = 0; droppedOSFiles = 0; droppedOversized = 0
        return findings
    }

    mutating func set(diffID: String, tarBytes: Int, entries: Int) {
        findings.diffID = diffID
        findings.tarBytes = tarBytes
        findings.entries = entries
    }

    /// Roughly what a package keeps alive: its strings, plus a fixed overhead per object.
    static func retainedBytes(_ p: Package) -> Int {
        var n = 64 &+ p.name.utf8.count &+ p.version.utf8.count &+ (p.namespace?.utf8.count ?? 0)
        for (k, v) in p.metadata { n = n &+ 16 &+ k.utf8.count &+ v.utf8.count }
        return n
    }
}
