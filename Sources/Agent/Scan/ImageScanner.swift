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
    public var onProgress: ((ScanProgress) -> Void)?

    private var image: ResolvedImage?
    private var findings: [LayerFindings] = []
    private var warnings: [String] = []
    private var done: ((Result<ImageInventory, ScanFailure>) -> Void)?
    private var current: LayerStream?
    private let spool: SpoolBudget
    private var imageTarBytes = 0

    public init(source: ImageSource, limits: ScanLimits = ScanLimits(), cache: LayerCache? = nil, sourceVerifiesDigests: Bool) {
        self.source = source
        self.limits = limits
        self.cache = cache
        self.sourceVerifiesDigests = sourceVerifiesDigests
        self.spool = SpoolBudget(limit: limits.maxSpoolBytes)
    }

    public func scan(_ done: @escaping (Result<ImageInventory, ScanFailure>) -> Void) {
        self.done = done
        source.resolve { [self] result in
            switch result {
            case .failure(let e): finish(.failure(e))
            case .success(let image):
                let size = image.compressedSize + image.manifest.config.size
                guard size <= limits.maxImageBytes else {
                    return finish(.failure(.scan(ScanError(.limit, "\(source.displayName) is \(size) bytes (compressed layers and config), over the \(limits.maxImageBytes)-byte limit (SNYK_MAX_IMAGE_SIZE_IN_BYTES)"))))
                }
                if !image.foreignLayers.isEmpty {
                    warnings.append("\(image.foreignLayers.count) foreign (non-distributable) layer(s) were not pulled; packages in them are not reported")
                }
                if !image.config.diffIDs.isEmpty && image.config.diffIDs.count != image.manifest.layers.count {
                    return finish(.failure(.scan(ScanError(.corrupt, "the config lists \(image.config.diffIDs.count) diff_ids for \(image.manifest.layers.count) layers"))))
                }
                self.image = image
                scanLayer(0)
            }
        }
    }

    /// Stops the scan; `done` gets a failure.
    public func cancel() {
        current?.cancel()
        finish(.failure(.source("scan cancelled")))
    }

    private func scanLayer(_ i: Int) {
        guard done != nil, let image else { return }
        let layers = image.manifest.layers
        guard i < layers.count else { return finishImage(image) }
        let layer = layers[i]
        if MediaType.isForeignLayer(layer.mediaType) { return scanLayer(i + 1) }
        if let cached = cache?.get(layer.digest) {
            findings.append(cached)
            onProgress?(ScanProgress(layer: i + 1, layers: layers.count, bytes: layer.size, layerBytes: layer.size, cached: true))
            return scanLayer(i + 1)
        }
        let diffID = i < image.config.diffIDs.count ? image.config.diffIDs[i] : nil
        let scanner = LayerScanner(layer: layer, diffID: diffID, verifyCompressedDigest: !sourceVerifiesDigests,
                                   catalogers: Catalogers.all, limits: limits, spool: spool)
        var failure: ScanError?
        var received = 0
        current = source.streamLayer(layer, onChunk: { [self] chunk in
            guard failure == nil else { return .continue }
            received += chunk.count
            do throws(ScanError) { try scanner.feed(chunk) } catch {
                failure = error
                current?.cancel()
                return .continue
            }
            onProgress?(ScanProgress(layer: i + 1, layers: layers.count, bytes: received, layerBytes: layer.size, cached: false))
            return .continue
        }) { [self] result in
            current = nil
            if let failure { return finish(.failure(.scan(failure))) }
            switch result {
            case .failure(let e): finish(.failure(e))
            case .success:
                do throws(ScanError) {
                    let f = try scanner.finish()
                    imageTarBytes += f.tarBytes
                    if imageTarBytes > limits.maxImageTarBytes {
                        return finish(.failure(.scan(ScanError(.limit, "the image's layers hold more than \(limits.maxImageTarBytes) uncompressed bytes"))))
                    }
                    cache?.put(f)
                    findings.append(f)
                    scanLayer(i + 1)
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
        let inventory = ImageInventory(
            reference: source.displayName, manifestDigest: image.manifest.digest, imageID: image.config.digest,
            platform: platform, os: merged.os, packages: merged.packages, layerDigests: image.manifest.layers.map(\.digest),
            diffIDs: image.config.diffIDs, config: image.config,
            imageSizeBytes: image.compressedSize + image.manifest.config.size, warnings: warnings + merged.warnings)
        finish(.success(inventory))
    }

    private func finish(_ r: Result<ImageInventory, ScanFailure>) {
        guard let d = done else { return }
        done = nil
        d(r)
    }
}
