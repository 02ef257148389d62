// Scans one image: resolve it, check its size, stream its layers through LayerScanners on worker threads,
// one per CPU (or take a layer's findings from the cache), merge the layers in order, and build the
// inventory every report is made from.
import CEpoll
import Core

public struct ScanProgress: Sendable {
    public let layer: Int
    public let layers: Int
    /// Bytes of this layer received so far (its whole size when cached).
    public let bytes: Int
    public let layerBytes: Int
    public let cached: Bool
    /// Bytes this report adds (the chunk just received; the layer's size when cached): layers stream at
    /// once, so a consumer sums these rather than following one layer's `bytes`.
    public let newBytes: Int
}

public final class ImageScanner {
    public let source: ImageSource
    public let limits: ScanLimits
    public let cache: LayerCache?
    /// Whether the source already verifies each layer's compressed digest (registries do).
    public let sourceVerifiesDigests: Bool
    /// Raised to stop the scan from any thread (signal, deadline, the service); CPU-bound work polls it.
    public let cancellation: Cancellation
    /// What reads the layers' files; the per-layer cache key carries their names and versions.
    public let catalogers: [any Cataloger]
    /// Layers scanned at once, each on a worker thread: by default the CPUs this process may run on.
    public let parallelLayers: Int
    /// Layers streaming or scanned at once: at least two, so that with one worker the next layer's
    /// bytes arrive (into its bounded queue) while a layer is cataloged.
    public var layersInFlight: Int { max(parallelLayers, 2) }
    public var onProgress: ((ScanProgress) -> Void)?

    /// Layer bytes received and not yet scanned; its peak is what prefetching cost this scan.
    public let prefetched = PrefetchGauge()
    /// Layers streamed and scanned, and layers whose findings came from the cache (work the cache saved).
    public private(set) var layersScanned = 0
    public private(set) var layersFromCache = 0
    /// Worker threads this scan started (at most `parallelLayers`).
    public var workerThreads: Int { pool.threadCount }

    private let reactor: Reactor
    private var image: ResolvedImage?
    /// Compressed layers plus config, summed with checked arithmetic at resolve time.
    private var imageBytes = 0
    /// Per layer, in manifest order; nil for foreign layers (and layers not done yet).
    private var findings: [LayerFindings?] = []
    private var warnings: [String] = []
    private var done: ((Result<ImageInventory, ScanFailure>) -> Void)?
    private let spool: SpoolBudget
    /// What the image's findings hold so far, against the limits (internal: tests compare scans by it).
    let budget: FindingsBudget
    private let cacheKey: String
    private let pool: LayerWorkerPool
    /// Raised when the scan ends early (a failed layer, `cancel`): the other layers in flight stop.
    private let layersStop = Cancellation()
    private var imageTarBytes = 0
    /// Layers streaming or being scanned, by index; those of them still waiting for a worker, in order.
    private var inFlight: [Int: LayerJob] = [:]
    private var waiting: [LayerJob] = []
    private var busyWorkers = 0
    /// The first failure; the scan ends with it once every layer in flight has stopped.
    private var failure: ScanFailure?
    /// The next layer to start, and whether `pump` is on the stack (a layer that completes at once,
    /// cached or foreign, must not start the next one from inside itself).
    private var next = 0
    private var looping = false

    public init(source: ImageSource, reactor: Reactor, limits: ScanLimits = ScanLimits(), cache: LayerCache? = nil,
                sourceVerifiesDigests: Bool, cancellation: Cancellation = Cancellation(),
                catalogers: [any Cataloger] = Catalogers.all, parallelLayers: Int? = nil) {
        self.source = source
        self.reactor = reactor
        self.limits = limits
        self.cache = cache
        self.sourceVerifiesDigests = sourceVerifiesDigests
        self.cancellation = cancellation
        self.catalogers = catalogers
        self.parallelLayers = max(1, parallelLayers ?? Int(cep_cpus_available()))
        self.spool = SpoolBudget(limit: limits.maxSpoolBytes)
        self.budget = FindingsBudget(limits: limits)
        self.cacheKey = LayerCache.key(of: catalogers)
        self.pool = LayerWorkerPool(maxThreads: self.parallelLayers)
        // With a cache on disk, the image's config is kept beside its layers' findings: a rescan then
        // asks the registry for the manifest only.
        if let registry = source as? RegistryImageSource, let cache, cache.directory != nil, registry.client.configStore == nil {
            registry.client.configStore = cache
        }
    }

    deinit {
        layersStop.cancel(.requested("scan abandoned"))
        for job in inFlight.values { job.stop() }
        pool.close()
    }

    public func scan(_ done: @escaping (Result<ImageInventory, ScanFailure>) -> Void) {
        self.done = done
        source.resolve { [self] result in
            guard self.done != nil else { return }
            switch result {
            case .failure(let e): fail(e)
            case .success(let image):
                if let why = cancellation.reason { return fail(.cancelled(why)) }
                guard let size = Self.imageSize(image) else {
                    return fail(.scan(ScanError(.limit, "\(source.displayName): the sizes of its layers and config add up past \(Int.max) bytes (descriptor size)")))
                }
                guard size <= limits.maxImageBytes else {
                    return fail(.scan(ScanError(.limit, "\(source.displayName) is \(size) bytes (compressed layers and config), over the \(limits.maxImageBytes)-byte limit (SNYK_MAX_IMAGE_SIZE_IN_BYTES)")))
                }
                imageBytes = size
                let foreign = image.manifest.layers.reduce(0) { $0 + (MediaType.isForeignLayer($1.mediaType) ? 1 : 0) }
                if foreign > 0 {
                    warnings.append("\(foreign) foreign (non-distributable) layer(s) were not pulled; packages in them are not reported")
                }
                if !image.config.diffIDs.isEmpty && image.config.diffIDs.count != image.manifest.layers.count {
                    return fail(.scan(ScanError(.corrupt, "the config lists \(image.config.diffIDs.count) diff_ids for \(image.manifest.layers.count) layers")))
                }
                self.image = image
                findings = Array(repeating: nil, count: image.manifest.layers.count)
                next = 0
                pump()
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

    /// Stops the scan: the layers in flight stop, and `done` gets the cancelled failure once they have.
    public func cancel() {
        fail(.cancelled(cancellation.reason ?? .requested("scan cancelled")))
    }

    /// Starts layers from `next` on while fewer than `layersInFlight` are in flight, and hands the
    /// ones streaming ahead to free workers in layer order. Cached and foreign layers move on here, in
    /// a loop rather than by recursion, so an image of tens of thousands of them needs no deeper stack.
    private func pump() {
        guard !looping else { return }
        looping = true
        defer { looping = false }
        guard let image else { return }
        let layers = image.manifest.layers
        while done != nil && failure == nil && next < layers.count && inFlight.count < layersInFlight {
            if let why = cancellation.reason { return fail(.cancelled(why)) }
            let i = next
            next += 1
            let layer = layers[i]
            if MediaType.isForeignLayer(layer.mediaType) { continue }
            // The base layer's path sets shadow nothing (LayerMerge), so they are not read back.
            if let cached = cache?.get(layer.digest, catalogers: cacheKey, pathSets: i > 0) {
                budget.charge(cached)
                findings[i] = cached
                layersFromCache += 1
                onProgress?(ScanProgress(layer: i + 1, layers: layers.count, bytes: layer.size, layerBytes: layer.size,
                                         cached: true, newBytes: layer.size))
                continue
            }
            startLayer(i, of: image)
        }
        guard done != nil && failure == nil else { return }
        while busyWorkers < parallelLayers && !waiting.isEmpty {
            busyWorkers += 1
            pool.submit(waiting.removeFirst())
        }
        if next >= layers.count && inFlight.isEmpty { finishImage(image) }
    }

    private func startLayer(_ i: Int, of image: ResolvedImage) {
        let layers = image.manifest.layers
        let layer = layers[i]
        let diffID = i < image.config.diffIDs.count ? image.config.diffIDs[i] : nil
        let (verify, catalogers, limits, spool, budget, cancellation, stop) =
            (!sourceVerifiesDigests, catalogers, limits, spool, budget, cancellation, layersStop)
        let job = LayerJob(index: i, layer: layer, reactor: reactor, gauge: prefetched) {
            LayerScanner(layer: layer, diffID: diffID, verifyCompressedDigest: verify, catalogers: catalogers, limits: limits,
                         spool: spool, budget: budget, cancellation: cancellation, stop: stop)
        }
        job.onDone = { [self] result in layerDone(job, result) }
        inFlight[i] = job
        waiting.append(job)
        var received = 0
        // The stream may end (a local file that cannot be opened) before `streamLayer` returns.
        let stream = source.streamLayer(layer, onChunk: { [self] chunk in
            guard failure == nil, done != nil else { return .continue }
            if let why = cancellation.reason { fail(.cancelled(why)); return .continue }
            received = received &+ chunk.count
            let full = job.offer(chunk)
            onProgress?(ScanProgress(layer: i + 1, layers: layers.count, bytes: received, layerBytes: layer.size,
                                     cached: false, newBytes: chunk.count))
            return full ? .pause : .continue
        }) { [self] result in
            job.stream = nil
            guard failure == nil, done != nil else { return }
            if let why = cancellation.reason { return fail(.cancelled(why)) }
            switch result {
            case .failure(let e): fail(e)
            case .success: job.endInput()
            }
        }
        if inFlight[i] === job && failure == nil { job.stream = stream } else { stream.cancel() }
    }

    /// A worker is done with layer `job` (reactor thread).
    private func layerDone(_ job: LayerJob, _ result: Result<LayerFindings, ScanError>) {
        inFlight[job.index] = nil
        busyWorkers -= 1
        if failure != nil { return settle() }
        if let why = cancellation.reason { return fail(.cancelled(why)) }
        switch result {
        case .failure(let e): return fail(.scan(e))
        case .success(let f):
            let (sum, overflow) = imageTarBytes.addingReportingOverflow(f.tarBytes)
            imageTarBytes = sum
            if overflow || imageTarBytes > limits.maxImageTarBytes {
                return fail(.scan(ScanError(.limit, "the image's layers hold more than \(limits.maxImageTarBytes) uncompressed bytes")))
            }
            cache?.put(f, catalogers: cacheKey)
            findings[job.index] = f
            layersScanned += 1
            pump()
        }
    }

    /// Ends the scan with `failure` (the first one wins): the layers in flight are stopped, and `done`
    /// is called once their workers have let go of them.
    private func fail(_ f: ScanFailure) {
        guard done != nil else { return }
        if failure == nil { failure = f }
        layersStop.cancel(.requested("scan stopped"))
        for job in inFlight.values {
            job.stop()
            job.stream?.cancel()
            job.stream = nil
        }
        // Layers no worker has taken yet stop here; the others report back through `layerDone`.
        for job in waiting { inFlight[job.index] = nil; job.onDone = nil }
        waiting = []
        settle()
    }

    private func settle() {
        guard inFlight.isEmpty, let failure else { return }
        finish(.failure(failure))
    }

    private func finishImage(_ image: ResolvedImage) {
        let merged = LayerMerge.merge(findings.compactMap { $0 })
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
        pool.close()
        d(r)
    }
}
