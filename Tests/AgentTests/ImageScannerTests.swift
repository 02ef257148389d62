// ImageScanner and LayerScanner in process, with a fake cataloger and layers made here (tar blocks and
// gzip built by the test, in an OCI layout read by the real OCILayoutSource): the OCI merge rules, layers
// scanned at once against one at a time, prefetch and its bound, the cache, limits, failures and stops.
@testable import AgentKit
import Core
import Foundation
import Synchronization
import TestSupport
import XCTest

final class ImageScannerTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("image-scanner") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: the merge, in parallel and one layer at a time

    /// Base: five packages and os-release. Layer 2 (gzip) overwrites one, empties a directory with an
    /// opaque marker and whites out a file; layer 3 replaces a directory by a file and adds a package.
    func mergeImage() throws -> OCILayoutBuilder {
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("merge"))
        let base = Tar.file("etc/os-release", Array("ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian 12\"\n".utf8))
            + Tar.file("a/one.pkg", pkg("alpha 1")) + Tar.file("b/dir/two.pkg", pkg("beta 1"))
            + Tar.file("c/three.pkg", pkg("gamma 1")) + Tar.file("d/four.pkg", pkg("delta 1"))
            + Tar.file("e/sub/five.pkg", pkg("epsilon 1")) + Tar.file("filler", noise(3 << 20, seed: 1)) + Tar.end
        let upper = Tar.file("a/one.pkg", pkg("alpha 2")) + Tar.file("b/.wh..wh..opq", [])
            + Tar.file("c/.wh.three.pkg", []) + Tar.file("filler", noise(3 << 20, seed: 2)) + Tar.end
        let top = Tar.file("e/sub", Array("now a file".utf8)) + Tar.file("f/six.pkg", pkg("zeta 1"))
            + Tar.file("filler", noise(3 << 20, seed: 3)) + Tar.end
        try layout.image(layers: [try layout.layer(base), try layout.layer(try gzip(upper), mediaType: Self.gzipType), try layout.layer(top)],
                         diffIDs: [SHA256.digest(base), SHA256.digest(upper), SHA256.digest(top)])
        return layout
    }

    func testLayersMergeByTheOCIRulesAndParallelEqualsSequential() throws {
        let layout = try mergeImage()
        let sequential = try scan(layout, parallel: 1)
        let parallel = try scan(layout, parallel: 3)
        for run in [sequential, parallel] {
            let inventory = try XCTUnwrap(try? run.outcome.get(), "\(run.outcome)")
            // alpha 2 wins over alpha 1; beta (opaque dir), gamma (whiteout), epsilon (dir replaced by a file) are gone.
            XCTAssertEqual(inventory.packages.map { "\($0.name) \($0.version) \($0.location.path)" }.sorted(),
                           ["alpha 2 /a/one.pkg", "delta 1 /d/four.pkg", "zeta 1 /f/six.pkg"])
            XCTAssertEqual(inventory.os?.id, "debian")
            XCTAssertEqual(run.scanner.layersScanned, 3)
            XCTAssertEqual(run.source.streams, 3)
            XCTAssertEqual(run.scanner.prefetched.current, 0, "every queued byte was scanned or let go")
            XCTAssertLessThanOrEqual(run.scanner.prefetched.peak, Self.prefetchBound(run.scanner))
        }
        let a = try sequential.outcome.get(), b = try parallel.outcome.get()
        XCTAssertEqual(a.packages, b.packages, "the same packages in the same order")
        XCTAssertEqual(a.os, b.os)
        XCTAssertEqual(a.warnings, b.warnings)
        XCTAssertEqual(a.diffIDs, b.diffIDs)
    }

    /// With one worker, the next layer streams into its queue while the worker is inside a cataloger of
    /// the layer before, and its stream pauses at the queue's bound (the layer is 16 times larger).
    func testTheNextLayerArrivesWhileALayerIsCatalogedWithinTheBound() throws {
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("prefetch"))
        let first = Tar.file("a/one.pkg", pkg("alpha 1")) + Tar.file("filler", noise(1 << 20, seed: 4)) + Tar.end
        let second = Tar.file("filler", noise(4 << 20, seed: 5)) + Tar.file("b/two.pkg", pkg("beta 1")) + Tar.end
        try layout.image(layers: [try layout.layer(first), try layout.layer(second)])
        let secondDigest = SHA256.digest(second)
        let counts = ByteCounts()
        let holder = ScannerHolder()
        let seen = Mutex<(arrived: Int, afterTurns: Int)?>(nil)
        let cataloger = FakeCataloger(onFile: { file in
            guard file.entry.path == "/a/one.pkg", let reactor = holder.reactor else { return }
            // Wait (bounded) until the next layer has filled its queue...
            waitUntil(seconds: 20) { counts.bytes(secondDigest) >= LayerJob.queueBytes }
            let arrived = counts.bytes(secondDigest)
            // ...then three reactor turns, in each of which an unpaused stream would read another chunk.
            for _ in 0..<3 {
                let turn = DispatchSemaphore(value: 0)
                reactor.execute { turn.signal() }
                _ = turn.wait(timeout: .now() + 30)
            }
            seen.withLock { $0 = (arrived, counts.bytes(secondDigest)) }
        })
        let run = try scan(layout, parallel: 1, catalogers: [cataloger], counts: counts, holder: holder)
        XCTAssertNotNil(try? run.outcome.get(), "\(run.outcome)")
        let got = try XCTUnwrap(seen.withLock { $0 })
        XCTAssertGreaterThanOrEqual(got.arrived, LayerJob.queueBytes, "the second layer streamed while the first was cataloged")
        XCTAssertLessThanOrEqual(got.afterTurns, LayerJob.queueBytes + (256 << 10), "and paused at its queue's bound (one 256 KiB read over)")
        XCTAssertGreaterThanOrEqual(run.scanner.prefetched.peak, LayerJob.queueBytes)
        XCTAssertLessThanOrEqual(run.scanner.prefetched.peak, Self.prefetchBound(run.scanner))
        XCTAssertEqual(run.scanner.workerThreads, 0, "the worker threads are joined when the scan ends")
    }

    // MARK: one layer

    /// LayerScanner alone, fed a gzip layer 7 bytes at a time: what it records for the merge, the
    /// packages by path, and the uncompressed digest and size; then a raised stop flag ends a layer.
    func testLayerScannerRecordsWhatTheMergeNeedsAndStops() throws {
        let tar = Tar.file("a/one.pkg", pkg("alpha 1")) + Tar.file("b/.wh..wh..opq", []) + Tar.file("c/.wh.three.pkg", [])
            + Tar.header("d/", size: 0, type: 0x35) + Tar.file("d/readme", Array("text".utf8)) + Tar.end
        let zipped = try gzip(tar)
        let descriptor = try Descriptor(json: .object([("mediaType", .string(Self.gzipType)), ("digest", .string(SHA256.digest(zipped))),
                                                       ("size", .int(zipped.count))]))
        let scanner = LayerScanner(layer: descriptor, diffID: SHA256.digest(tar), verifyCompressedDigest: true, catalogers: [FakeCataloger()],
                                   limits: ScanLimits(), spool: SpoolBudget(limit: 1 << 20))
        for start in stride(from: 0, to: zipped.count, by: 7) {
            try zipped[start..<min(start + 7, zipped.count)].withUnsafeBytes { try scanner.feed($0) }
        }
        let f = try scanner.finish()
        XCTAssertEqual(f.packagesByPath.mapValues { $0.map { "\($0.name) \($0.version)" } }, ["/a/one.pkg": ["alpha 1"]])
        XCTAssertEqual(f.opaqueDirectories, ["/b"])
        XCTAssertEqual(f.whiteouts, ["/c/three.pkg"])
        XCTAssertTrue(f.directoryHashes.contains(LayerFindings.pathHash("/d")))
        XCTAssertTrue(f.nonDirectoryHashes.contains(LayerFindings.pathHash("/d/readme")))
        XCTAssertEqual(f.diffID, SHA256.digest(tar))
        XCTAssertEqual(f.tarBytes, tar.count)

        let stop = Cancellation()
        stop.cancel(.requested("another layer failed"))
        let stopped = LayerScanner(layer: descriptor, diffID: nil, verifyCompressedDigest: true, catalogers: [FakeCataloger()],
                                   limits: ScanLimits(), spool: SpoolBudget(limit: 1 << 20), stop: stop)
        XCTAssertThrowsError(try zipped.withUnsafeBytes { try stopped.feed($0) }) { error in
            XCTAssertEqual((error as? ScanError)?.message, "layer \(descriptor.digest): another layer failed")
        }
    }

    /// The base layer's path sets (usually the largest: a whole distribution) shadow nothing below it,
    /// so the merge does not gather them; the layers above it are gathered, and still decide.
    func testTheMergeGathersOnlyTheLayersAboveTheBase() {
        func layer(_ name: String, files: [String], dirs: [String], packages: [String: String] = [:]) -> LayerFindings {
            var f = LayerFindings(layerDigest: "sha256:" + name)
            f.nonDirectoryHashes = Set(files.map(LayerFindings.pathHash))
            f.directoryHashes = Set(dirs.map(LayerFindings.pathHash))
            for (path, n) in packages {
                f.packagesByPath[path] = [Package(ecosystem: .npm, name: n, version: "1", location: PackageLocation(layerDigest: f.layerDigest, path: path))]
            }
            return f
        }
        let base = layer("base", files: (0..<1000).map { "/usr/lib/f\($0)" } + ["/a/one.pkg", "/b/two.pkg"], dirs: ["/usr", "/usr/lib", "/a", "/b"],
                         packages: ["/a/one.pkg": "alpha", "/b/two.pkg": "beta"])
        let upper = layer("upper", files: ["/a/one.pkg", "/c/three.pkg"], dirs: ["/c"], packages: ["/c/three.pkg": "gamma"])
        let merged = LayerMerge.merge([base, upper])
        XCTAssertEqual(merged.shadowHashes, 3, "only the upper layer's two files and one directory")
        XCTAssertEqual(merged.packages.map(\.name), ["beta", "gamma"], "the upper file still replaces the base's one.pkg")
        XCTAssertEqual(LayerMerge.merge([base]).shadowHashes, 0)
    }

    // MARK: the cache

    func testACachedLayerIsNotStreamedOrCatalogedAgain() throws {
        let layout = try mergeImage()
        let cache = LayerCache(capacity: 16)
        let calls = CallCounter()
        let counting = FakeCataloger(calls: calls)
        let first = try scan(layout, parallel: 2, cache: cache, catalogers: [counting])
        let firstCalls = calls.value
        XCTAssertEqual(first.scanner.layersScanned, 3)
        XCTAssertEqual(first.scanner.layersFromCache, 0)
        XCTAssertEqual(firstCalls, 7, "seven .pkg files in three layers")

        let second = try scan(layout, parallel: 2, cache: cache, catalogers: [counting])
        XCTAssertEqual(second.scanner.layersScanned, 0)
        XCTAssertEqual(second.scanner.layersFromCache, 3)
        XCTAssertEqual(second.source.streams, 0, "no layer was pulled")
        XCTAssertEqual(calls.value, firstCalls, "no file was cataloged")
        XCTAssertEqual(try second.outcome.get().packages, try first.outcome.get().packages)

        // Another cataloger version is another key: the layers are read again.
        let newer = try scan(layout, parallel: 2, cache: cache, catalogers: [FakeCataloger(version: 2)])
        XCTAssertEqual(newer.scanner.layersScanned, 3)
        XCTAssertEqual(newer.scanner.layersFromCache, 0)
    }

    /// The disk cache's format 2 keeps the path hash sets as hex runs: they come back exactly (high bits
    /// too), and a damaged run or a file of format 1 reads as a miss, not as findings without hashes.
    func testCachedFindingsComeBackFromDiskAndDamagedOnesAreAMiss() throws {
        var f = LayerFindings(layerDigest: "sha256:" + String(repeating: "ab", count: 32))
        f.diffID = "sha256:" + String(repeating: "cd", count: 32)
        f.nonDirectoryHashes = [0, 1, UInt64.max, 0x8000_0000_0000_0000, LayerFindings.pathHash("/usr/bin/env")]
        f.directoryHashes = Set((0..<5000).map { LayerFindings.pathHash("/d/\($0)") })
        f.whiteouts = ["/c/three.pkg"]
        f.tarBytes = 12345
        let cacheDir = dir.appendingPathComponent("cache").path
        LayerCache(directory: cacheDir).put(f, catalogers: "fake@1")
        let back = try XCTUnwrap(LayerCache(directory: cacheDir).get(f.layerDigest, catalogers: "fake@1"), "read from disk by a new cache")
        XCTAssertEqual(back.nonDirectoryHashes, f.nonDirectoryHashes)
        XCTAssertEqual(back.directoryHashes, f.directoryHashes)
        XCTAssertEqual(back.whiteouts, f.whiteouts)
        XCTAssertEqual(back.diffID, f.diffID)
        XCTAssertEqual(back.tarBytes, 12345)

        let file = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: cacheDir).first { $0.hasSuffix(".json") })
        let path = cacheDir + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("\"dirs\":\""), "hashes are one string: \(text.prefix(200))")
        for damaged in [text.replacingOccurrences(of: "\"nonDirs\":\"", with: "\"nonDirs\":\"x"),
                        text.replacingOccurrences(of: "\"nonDirs\":\"", with: "\"nonDirs\":\"0"),
                        text.replacingOccurrences(of: "\"format\":2", with: "\"format\":1")] {
            XCTAssertNotEqual(damaged, text)
            try damaged.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertNil(LayerCache(directory: cacheDir).get(f.layerDigest, catalogers: "fake@1"), String(damaged.prefix(120)))
        }
    }

    /// A rescan from the disk cache reads the base layer without its path hash sets (the merge never
    /// consults them) and every upper layer with them: the image comes out as the first scan made it,
    /// including the top layer's file that replaces a base directory. Findings read without their sets
    /// are not kept in memory, so a later reader that needs the sets gets them whole.
    func testARescanFromDiskSkipsOnlyTheBaseLayersPathSets() throws {
        let layout = try mergeImage()
        let cacheDir = dir.appendingPathComponent("rescan-cache").path
        let first = try scan(layout, parallel: 2, cache: LayerCache(directory: cacheDir))
        let second = try scan(layout, parallel: 2, cache: LayerCache(directory: cacheDir))
        XCTAssertEqual(second.scanner.layersFromCache, 3)
        XCTAssertEqual(second.source.streams, 0)
        XCTAssertEqual(try second.outcome.get().packages, try first.outcome.get().packages)
        XCTAssertFalse(try second.outcome.get().packages.contains { $0.name == "epsilon" }, "e/sub became a file in the top layer")
        XCTAssertEqual(second.scanner.budget.paths, first.scanner.budget.paths, "the base's unread sets still count against the path cap")
        XCTAssertGreaterThan(first.scanner.budget.paths, 10)

        var f = LayerFindings(layerDigest: "sha256:" + String(repeating: "12", count: 32))
        f.nonDirectoryHashes = [7, 8]
        f.directoryHashes = [9]
        f.whiteouts = ["/gone"]
        f.packagesByPath["/p"] = [Package(ecosystem: .deb, name: "n", version: "1",
                                           location: PackageLocation(layerDigest: f.layerDigest, path: "/p"))]
        let sets = dir.appendingPathComponent("sets-cache").path
        LayerCache(directory: sets).put(f, catalogers: "fake@1")
        let cache = LayerCache(directory: sets)
        let bare = try XCTUnwrap(cache.get(f.layerDigest, catalogers: "fake@1", pathSets: false))
        XCTAssertTrue(bare.nonDirectoryHashes.isEmpty && bare.directoryHashes.isEmpty)
        XCTAssertEqual(bare.pathHashesNotRead, 3)
        XCTAssertEqual(bare.whiteouts, ["/gone"])
        XCTAssertEqual(bare.packagesByPath["/p"]?.map(\.name), ["n"])
        let whole = try XCTUnwrap(cache.get(f.layerDigest, catalogers: "fake@1"))
        XCTAssertEqual(whole.nonDirectoryHashes, [7, 8])
        XCTAssertEqual(whole.directoryHashes, [9])
    }

    // MARK: memory

    /// Files only a magic-prefix cataloger wants (executables) stay in memory up to
    /// `inMemoryExecutableBytes` and are spooled above it; other wanted files keep the larger
    /// `inMemoryFileBytes`. So a layer does not hold a multi-MiB interpreter while it is cataloged.
    func testLargeExecutablesAreSpooledOtherFilesStayInMemory() throws {
        let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
        let tar = Tar.file("usr/bin/small", elf + noise(100 << 10, seed: 4)) + Tar.file("usr/bin/large", elf + noise(3 << 20, seed: 5))
            + Tar.file("usr/bin/script", Array("#!/bin/sh\n".utf8) + noise(3 << 20, seed: 6))
            + Tar.file("big.pkg", pkg("alpha 1") + Array(repeating: 0x20, count: 3 << 20)) + Tar.end
        let zipped = try gzip(tar)
        let descriptor = try Descriptor(json: .object([("mediaType", .string(Self.gzipType)), ("digest", .string(SHA256.digest(zipped))),
                                                       ("size", .int(zipped.count))]))
        let seen = FileKinds()
        let spool = SpoolBudget(limit: 64 << 20)
        let scanner = LayerScanner(layer: descriptor, diffID: SHA256.digest(tar), verifyCompressedDigest: true,
                                   catalogers: [FakeCataloger(onFile: seen.record), PrefixCataloger(prefix: elf, seen: seen)],
                                   limits: ScanLimits(), spool: spool)
        try zipped.withUnsafeBytes { try scanner.feed($0) }
        let f = try scanner.finish()
        XCTAssertEqual(seen.kinds, ["/usr/bin/small": "memory", "/usr/bin/large": "spool", "/big.pkg": "memory"],
                       "the script does not start with the magic: dropped after its first bytes")
        XCTAssertEqual(f.packagesByPath.mapValues { $0.map(\.name) }, ["/big.pkg": ["alpha"], "/usr/bin/large": ["large"], "/usr/bin/small": ["small"]],
                       "a spooled executable is cataloged as one in memory is")
        XCTAssertEqual(spool.inUse, 0, "the spool is given back once cataloged")
    }

    // MARK: limits

    func testSizeLimitsHoldWithLayersInFlight() throws {
        let layout = try mergeImage()
        var limits = ScanLimits()
        limits.maxLayerTarBytes = 1 << 20
        for parallel in [1, 3] {
            let run = try scan(layout, parallel: parallel, limits: limits)
            guard case .failure(.scan(let e)) = run.outcome else { return XCTFail("\(run.outcome)") }
            XCTAssertEqual(e.kind, .limit, e.message)
            XCTAssertEqual(run.scanner.prefetched.current, 0)
        }
        limits = ScanLimits()
        limits.maxImageTarBytes = 7 << 20        // each layer is ~3 MiB of tar: the third passes it
        for parallel in [1, 3] {
            let run = try scan(layout, parallel: parallel, limits: limits)
            guard case .failure(.scan(let e)) = run.outcome else { return XCTFail("\(run.outcome)") }
            XCTAssertEqual(e, ScanError(.limit, "the image's layers hold more than \(7 << 20) uncompressed bytes"))
        }
        limits = ScanLimits()
        limits.maxImageBytes = 4 << 20
        let run = try scan(layout, parallel: 3, limits: limits)
        guard case .failure(.scan(let e)) = run.outcome else { return XCTFail("\(run.outcome)") }
        XCTAssertTrue(e.message.contains("over the \(4 << 20)-byte limit (SNYK_MAX_IMAGE_SIZE_IN_BYTES)"), e.message)
        XCTAssertEqual(run.source.streams, 0, "refused before any layer is pulled")
    }

    func testTheFindingsBudgetIsSharedByLayersScannedAtOnce() throws {
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("budget"))
        var layers: [[String: Any]] = []
        for k in 0..<4 {
            layers.append(try layout.layer(Tar.file("l\(k)/x.pkg", pkg("x\(k) 1\ny\(k) 1")) + Tar.file("filler", noise(1 << 20, seed: UInt64(k))) + Tar.end))
        }
        try layout.image(layers: layers)
        var limits = ScanLimits()
        limits.maxPackagesPerImage = 3
        for parallel in [1, 4] {
            let inventory = try scan(layout, parallel: parallel, limits: limits).outcome.get()
            XCTAssertLessThanOrEqual(inventory.packages.count, 3)
            XCTAssertGreaterThanOrEqual(inventory.packages.count, 2, "whole layers fit until the budget is spent")
            XCTAssertTrue(inventory.warnings.contains { $0.contains("package(s) not reported") }, "\(inventory.warnings)")
        }
    }

    // MARK: failures and stops

    func testAFailedLayerFailsTheScanWithItsErrorAndStopsTheOthers() throws {
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("failed"))
        let good = Tar.file("a/one.pkg", pkg("alpha 1")) + Tar.file("filler", noise(3 << 20, seed: 6)) + Tar.end
        let zipped = try gzip(Tar.file("filler", noise(2 << 20, seed: 7)) + Tar.end)
        let cut = Array(zipped.prefix(zipped.count / 2))
        let later = Tar.file("c/three.pkg", pkg("gamma 1")) + Tar.file("filler", noise(3 << 20, seed: 8)) + Tar.end
        let broken = try layout.layer(cut, mediaType: Self.gzipType)
        try layout.image(layers: [try layout.layer(good), broken, try layout.layer(later)])
        var messages: [String] = []
        for parallel in [1, 3] {
            let run = try scan(layout, parallel: parallel)
            guard case .failure(.scan(let e)) = run.outcome else { return XCTFail("\(run.outcome)") }
            XCTAssertEqual(e.kind, .corrupt, e.message)
            XCTAssertTrue(e.message.hasPrefix("layer \(broken["digest"] as! String): "), e.message)
            XCTAssertEqual(run.scanner.prefetched.current, 0, "queued bytes let go")
            XCTAssertEqual(run.scanner.workerThreads, 0)
            messages.append(e.message)
        }
        XCTAssertEqual(messages[0], messages[1])

        // A wrong diff_id is the same precise integrity error either way.
        try layout.image(layers: [try layout.layer(good), try layout.layer(later)],
                         diffIDs: [SHA256.digest(good), "sha256:" + String(repeating: "0", count: 64)])
        let run = try scan(layout, parallel: 2)
        guard case .failure(.scan(let e)) = run.outcome else { return XCTFail("\(run.outcome)") }
        XCTAssertEqual(e, ScanError(.integrity, "layer \(SHA256.digest(later)): uncompressed digest is \(SHA256.digest(later)), the config's diff_id is sha256:" + String(repeating: "0", count: 64)))
    }

    /// The scan is cancelled while a worker is inside a cataloger of the second of four layers: the
    /// cataloger sees the stop, the scan ends with the cancelled error, the later layers are not
    /// scanned, and no queued byte or worker thread is left.
    func testCancellingMidLayerEndsPromptlyAndLetsGoOfItsBuffers() throws {
        let layout = try OCILayoutBuilder(dir.appendingPathComponent("cancel"))
        var layers: [[String: Any]] = []
        for k in 0..<4 {
            layers.append(try layout.layer(Tar.file("l\(k)/x.pkg", pkg("x\(k) 1")) + Tar.file("filler", noise(2 << 20, seed: UInt64(10 + k))) + Tar.end))
        }
        try layout.image(layers: layers)
        let holder = ScannerHolder()
        let sawStop = Atomic<Bool>(false)
        let cataloger = FakeCataloger(onFile: { file in
            guard file.entry.path == "/l1/x.pkg" else { return }
            holder.reactor?.execute { holder.scanner?.cancel() }
            // Bounded wait for the stop a cataloger must poll for.
            waitUntil(seconds: 30) { file.cancellation.isCancelled }
            sawStop.store(file.cancellation.isCancelled, ordering: .relaxed)
        })
        let run = try scan(layout, parallel: 1, catalogers: [cataloger], holder: holder)
        guard case .failure(.cancelled(let why)) = run.outcome else { return XCTFail("\(run.outcome)") }
        XCTAssertEqual(why, .requested("scan cancelled"))
        XCTAssertTrue(sawStop.load(ordering: .relaxed), "the cataloger saw the stop")
        XCTAssertLessThanOrEqual(run.scanner.layersScanned, 1, "no layer after the cancelled one was finished")
        XCTAssertEqual(run.scanner.prefetched.current, 0)
        XCTAssertEqual(run.scanner.workerThreads, 0)

        // The caller's own flag, raised from another thread without calling `cancel`, stops it too.
        let flag = Cancellation()
        let raising = FakeCataloger(onFile: { file in
            if file.entry.path == "/l1/x.pkg" { flag.cancel(.deadline(milliseconds: 5)) }
        })
        let stopped = try scan(layout, parallel: 2, catalogers: [raising], cancellation: flag)
        guard case .failure(.cancelled(let reason)) = stopped.outcome else { return XCTFail("\(stopped.outcome)") }
        XCTAssertEqual(reason, .deadline(milliseconds: 5))
        XCTAssertEqual(stopped.scanner.prefetched.current, 0)
    }

    // MARK: helpers

    static let gzipType = "application/vnd.oci.image.layer.v1.tar+gzip"

    /// What prefetching may hold: every layer in flight with a full queue, the chunk that filled it and
    /// the block being scanned (the OCI source reads 256 KiB at a time).
    static func prefetchBound(_ scanner: ImageScanner) -> Int { scanner.layersInFlight * (LayerJob.queueBytes + 2 * (256 << 10)) }

    struct Run {
        let outcome: Result<ImageInventory, ScanFailure>
        let scanner: ImageScanner
        let source: CountingSource
    }

    func scan(_ layout: OCILayoutBuilder, parallel: Int, cache: LayerCache? = nil, limits: ScanLimits = ScanLimits(),
              catalogers: [any Cataloger] = [FakeCataloger()], cancellation: Cancellation = Cancellation(),
              counts: ByteCounts = ByteCounts(), holder: ScannerHolder = ScannerHolder()) throws -> Run {
        var outcome: Result<ImageInventory, ScanFailure>?
        var made: (ImageScanner, CountingSource)?
        let finished = try runOnReactor(seconds: 120) { reactor, finish in
            let source = CountingSource(OCILayoutSource(directory: layout.root.path, tag: "hostile", platform: Platform(), reactor: reactor), counts)
            let scanner = ImageScanner(source: source, reactor: reactor, limits: limits, cache: cache, sourceVerifiesDigests: false,
                                       cancellation: cancellation, catalogers: catalogers, parallelLayers: parallel)
            holder.scanner = scanner
            holder.reactor = reactor
            made = (scanner, source)
            scanner.scan { outcome = $0; finish() }
        }
        holder.scanner = nil
        XCTAssertTrue(finished, "the scan ended")
        return Run(outcome: try XCTUnwrap(outcome), scanner: made!.0, source: made!.1)
    }

    func pkg(_ lines: String) -> [UInt8] { Array((lines + "\n").utf8) }

    /// Bytes gzip cannot shrink (a fixed xorshift stream), so layers are as large as they say.
    func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var out = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 8) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            withUnsafeBytes(of: x) { for k in 0..<min(8, count - i) { out[i + k] = $0[k] } }
        }
        return out
    }

    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let plain = dir.appendingPathComponent("layer-\(UUID().uuidString.prefix(8)).tar")
        try Data(bytes).write(to: plain)
        let r = try runProcess("gzip", ["-n", "-1", "-f", plain.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz")))
    }
}

/// Reads `*.pkg` files of `name version` lines; counts its calls; `onFile` runs first, on the worker
/// thread that catalogs the file.
struct FakeCataloger: Cataloger {
    let name = "fake"
    let version: Int
    private let calls: CallCounter?
    private let onFile: (@Sendable (CatalogFile) -> Void)?

    init(version: Int = 1, calls: CallCounter? = nil, onFile: (@Sendable (CatalogFile) -> Void)? = nil) {
        self.version = version
        self.calls = calls
        self.onFile = onFile
    }

    func interest(in entry: CatalogEntry) -> CatalogInterest { entry.path.hasSuffix(".pkg") ? .whole : .none }

    func catalog(_ file: CatalogFile) -> CatalogResult {
        calls?.count()
        onFile?(file)
        guard let text = try? file.contents.all() else { return CatalogResult(warnings: ["unreadable"]) }
        let packages = String(decoding: text, as: UTF8.self).split(separator: "\n").compactMap { line -> Package? in
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { return nil }
            return Package(ecosystem: .npm, name: String(parts[0]), version: String(parts[1]), location: file.location)
        }
        return CatalogResult(packages: packages)
    }
}

/// Wants files that start with `prefix` (as the Go cataloger wants ELF executables); reports one
/// package named after the file, read at an offset as that cataloger reads.
struct PrefixCataloger: Cataloger {
    let name = "prefix"
    let version = 1
    let prefix: [UInt8]
    let seen: FileKinds

    func interest(in entry: CatalogEntry) -> CatalogInterest { entry.path.hasPrefix("/usr/bin/") ? .wholeIfPrefix(prefix) : .none }

    func catalog(_ file: CatalogFile) -> CatalogResult {
        seen.record(file)
        guard let head = try? file.contents.read(offset: 0, count: prefix.count), head == prefix,
              let tail = try? file.contents.read(offset: file.contents.count - 8, count: 8), tail.count == 8 else {
            return CatalogResult(warnings: ["unreadable"])
        }
        return CatalogResult(packages: [Package(ecosystem: .golang, name: String(SlashPath.baseName(of: file.entry.path)), version: "1",
                                                location: file.location)])
    }
}

/// Whether each cataloged file was handed over in memory or spooled, by path.
final class FileKinds: Sendable {
    private let byPath = Mutex<[String: String]>([:])
    @Sendable func record(_ file: CatalogFile) {
        let kind: String
        switch file.contents {
        case .memory: kind = "memory"
        case .spool: kind = "spool"
        }
        byPath.withLock { $0[file.entry.path] = kind }
    }
    var kinds: [String: String] { byPath.withLock { $0 } }
}

final class CallCounter: Sendable {
    private let n = Atomic<Int>(0)
    func count() { n.add(1, ordering: .relaxed) }
    var value: Int { n.load(ordering: .relaxed) }
}

/// Bytes each layer's stream delivered so far, by digest; read by catalogers on worker threads.
final class ByteCounts: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func add(_ digest: String, _ n: Int) { counts.withLock { $0[digest, default: 0] += n } }
    func bytes(_ digest: String) -> Int { counts.withLock { $0[digest, default: 0] } }
}

/// The scanner under test, for a cataloger that posts `cancel` to the reactor.
// @unchecked: set before the scan starts and read only on the reactor's thread (inside `execute`).
final class ScannerHolder: @unchecked Sendable {
    var scanner: ImageScanner?
    var reactor: Reactor?
}

/// The real OCI layout source, counting the streams the scanner opens and the bytes each delivers.
final class CountingSource: ImageSource {
    let inner: OCILayoutSource
    let counts: ByteCounts
    private(set) var streams = 0
    var displayName: String { inner.displayName }

    init(_ inner: OCILayoutSource, _ counts: ByteCounts) {
        self.inner = inner
        self.counts = counts
    }

    func resolve(_ done: @escaping (Result<ResolvedImage, ScanFailure>) -> Void) { inner.resolve(done) }

    func streamLayer(_ layer: Descriptor, onChunk: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition,
                     done: @escaping (Result<Int, ScanFailure>) -> Void) -> LayerStream {
        streams += 1
        return inner.streamLayer(layer, onChunk: { [counts] chunk in
            counts.add(layer.digest, chunk.count)
            return onChunk(chunk)
        }, done: done)
    }
}
