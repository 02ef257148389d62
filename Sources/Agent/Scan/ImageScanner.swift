// Scans one image: resolve it, check its size, stream each layer through a LayerScanner (or take the
// layer's findings from the cache), merge the layers, and build the inventory every report is made from.
import Core

public struct ScanProgress: Sendable {
    public let layer: Int
    public let layers: Int
    public let bytes: Int
    public let layerBytes: Int
    public let cached: Bool
}

public final class ImageScanner {
    public let source: ImageSource
    public let limits: ScanLimits
    public let cache: LayerCache?
    /// Whether the source already verifies each layer's compressed digest (registries do).
    public let sourceVerifiesDigests: Bool
    /// Raised to stop the scan from any thread (signal, deadline, the service); CPU-bound work polls it.
    public let cancellation: Cancellation
    public var onProgress: ((ScanProgress) -> Void)?

    private var image: ResolvedImage?
    /// Compressed layers plus config, summed with checked arithmetic at resolve time.
    private var imageBytes = 0
    private var findings: [LayerFindings] = []
    private var warnings: [String] = []
    private var done: ((Result<ImageInventory, ScanFailure>) -> Void)?
    private var current: LayerStream?
    private let spool: SpoolBudget
    private let budget: FindingsBudget
    private var imageTarBytes = 0
    /// The next layer to scan, and whether `scanLayers` is on the stack (a layer that completes at
    /// once, cached or foreign or empty, must not start the next one from inside itself).
    private var next = 0
    private var looping = false

    public init(source: ImageSource, limits: ScanLimits = ScanLimits(), cache: LayerCache? = nil, sourceVerifiesDigests: Bool,
                cancellation: Cancellation = Cancellation()) {
        self.source = source
        self.limits = limits
        self.cache = cache
        self.sourceVerifiesDigests = sourceVerifiesDigests
        self.cancellation = cancellation
        self.spool = SpoolBudget(limit: limits.maxSpoolBytes)
        self.budget = FindingsBudget(limits: limits)
    }

    public func scan(_ done: @escaping (Result<ImageInventory, ScanFailure>) -> Void) {
        self.done = done
        source.resolve { [self] result in
            switch result {
            case .failure(let e): finish(.failure(e))
            case .success(let image):
                if let why = cancellation.reason { return finish(.failure(.cancelled(why))) }
                guard let size = Self.imageSize(image) else {
                    return finish(.failure(.scan(ScanError(.limit, "\(source.displayName): the sizes of its layers and config add up past \(Int.max) bytes (descriptor size)"))))
                }
                guard size <= limits.maxImageBytes else {
                    return finish(.failure(.scan(ScanError(.limit, "\(source.displayName) is \(size) bytes (compressed layers and config), over the \(limits.maxImageBytes)-byte limit (SNYK_MAX_IMAGE_SIZE_IN_BYTES)"))))
                }
                imageBytes = size
                let foreign = image.manifest.layers.reduce(0) { $0 + (MediaType.isForeignLayer($1.mediaType) ? 1 : 0) }
                if foreign > 0 {
                    warnings.append("\(foreign) foreign (non-distributable) layer(s) were not pulled; packages in them are not reported")
                }
                if !image.config.diffIDs.isEmpty && image.config.diffIDs.count != image.manifest.layers.count {
                    return finish(.failure(.scan(ScanError(.corrupt, "the config lists \(image.config.diffIDs.count) diff_ids for \(image.manifest.layers.count) layers"))))
                }
                self.image = image
                next = 0
                scanLayers()
            }
        }
    }

    /// Compressed layers (foreign ones not counted: they are not pulled) plus config, or nil when the
    /// sum passes Int.max (sizes come from the manifest, which the registry or the image chooses).
    static func imageSize(_ image: ResolvedImage) -> Int? {
        var total = image.manifest.config.size
        for layer in image.manifest.layers where !MediaType.isForeignLayer(layer.mediaType) {
            let (sum, overflow) = total.addingReportingOverflow(layer.size)
            if overflow || layer.size < 0 { return nil }
            total = sum
        }
        return total >= 0 ? total : nil
    }

    /// Stops the scan; `done` gets a failure.
    public func cancel() {
        current?.cancel()
        finish(.failure(.cancelled(cancellation.reason ?? .requested("scan cancelled"))))
    }

    /// Scans layers from `next` on, in a loop: cached and foreign layers, and layers whose stream ends
    /// while `streamLayer` is still on the stack, move on here rather than by recursion, so an image of
    /// tens of thousands of such layers needs no deeper stack than one.
    private func scanLayers() {
        guard !looping else { return }
        looping = true
        defer { looping = false }
        while let image, done != nil {
            if let why = cancellation.reason { return finish(.failure(.cancelled(why))) }
            let layers = image.manifest.layers
            let i = next
            guard i < layers.count else { return finishImage(image) }
            let layer = layers[i]
            if MediaType.isForeignLayer(layer.mediaType) { next += 1; continue }
            if let cached = cache?.get(layer.digest) {
                budget.charge(cached)
                findings.append(cached)
                onProgress?(ScanProgress(layer: i + 1, layers: layers.count, bytes: layer.size, layerBytes: layer.size, cached: true))
                next += 1
                continue
            }
            let startedAt = next
            startLayer(i, of: image)
            // Still the same layer: it streams on; its completion calls back into `scanLayers`.
            if next == startedAt { return }
        }
    }

    private func startLayer(_ i: Int, of image: ResolvedImage) {
        let layers = image.manifest.layers
        let layer = layers[i]
        let diffID = i < image.config.diffIDs.count ? image.config.diffIDs[i] : nil
        let scanner = LayerScanner(layer: layer, diffID: diffID, verifyCompressedDigest: !sourceVerifiesDigests,
                                   catalogers: Catalogers.all, limits: limits, spool: spool, budget: budget, cancellation: cancellation)
        var failure: ScanError?
        var received = 0
        current = source.streamLayer(layer, onChunk: { [self] chunk in
            guard failure == nil else { return .continue }
            received = received &+ chunk.count
            do throws(ScanError) { try scanner.feed(chunk) } catch {
                failure = error
                current?.cancel()
                return .continue
            }
            onProgress?(ScanProgress(layer: i + 1, layers: layers.count, bytes: received, layerBytes: layer.size, cached: false))
            return .continue
        }) { [self] result in
            current = nil
            if let why = cancellation.reason { return finish(.failure(.cancelled(why))) }
            if let failure { return finish(.failure(.scan(failure))) }
            switch result {
            case .failure(let e): finish(.failure(e))
            case .success:
                do throws(ScanError) {
                    let f = try scanner.finish()
                    let (sum, overflow) = imageTarBytes.addingReportingOverflow(f.tarBytes)
                    imageTarBytes = sum
                    if overflow || imageTarBytes > limits.maxImageTarBytes {
                        return finish(.failure(.scan(ScanError(.limit, "the image's layers hold more than \(limits.maxImageTarBytes) uncompressed bytes"))))
                    }
                    cache?.put(f)
                    findings.append(f)
                    next = i + 1
                    scanLayers()
                } catch {
                    finish(.failure(.scan(error)))
                }
            }
        }
    }

    private func finishImage(_ image: ResolvedImage) {
        let merged = LayerMerge.merge(findings)
        let platform = Platform(os: image.config.os.isEmpty ? "linux" : image.config.os,
                                architecture: image.config.architecture.isEmpty ? "amd64" : image.config.architecture,
                                variant: image.config.variant)
        var packages = merged.packages
        var allWarnings = warnings + merged.warnings
        if packages.count > limits.maxPackagesPerImage {
            allWarnings.append("\(packages.count - limits.maxPackagesPerImage) package(s) not reported: past the limit of \(limits.maxPackagesPerImage) packages per image")
            packages.removeLast(packages.count - limits.maxPackagesPerImage)
        }
        // Each layer kept its own summary lines; the image keeps at most its cap plus one more summary.
        if allWarnings.count > limits.maxWarningsPerImage + 1 {
            let dropped = allWarnings.count - limits.maxWarningsPerImage
            allWarnings.removeLast(dropped)
            allWarnings.append("\(dropped) more warning(s) not shown (at most \(limits.maxWarningsPerImage) per image)")
        }
        let inventory = ImageInventory(
            reference: source.displayName, manifestDigest: image.manifest.digest, imageID: image.config.digest,
            platform: platform, os: merged.os, packages: packages, layerDigests: image.manifest.layers.map(\.digest),
            diffIDs: image.config.diffIDs, config: image.config,
            imageSizeBytes: imageBytes, warnings: allWarnings)
        finish(.success(inventory))
    }

    private func finish(_ r: Result<ImageInventory, ScanFailure>) {
        guard let d = done else { return }
        done = nil
        d(r)
    }
}
