// The OCI image-spec layer rules, one test per rule, on hand-made per-layer findings.
@testable import AgentKit
import XCTest

final class LayerMergeTests: XCTestCase {
    func pkg(_ name: String, _ path: String, layer: String) -> Package {
        Package(ecosystem: .npm, name: name, version: "1.0.0", location: PackageLocation(layerDigest: layer, path: path))
    }

    /// A layer with packages at `files`, plus other entries.
    func layer(_ id: String, files: [String: String] = [:], dirs: [String] = [], others: [String] = [],
               whiteouts: [String] = [], opaque: [String] = []) -> LayerFindings {
        var l = LayerFindings(layerDigest: id)
        for (path, name) in files {
            l.packagesByPath[path] = [pkg(name, path, layer: id)]
            l.nonDirectoryHashes.insert(LayerFindings.pathHash(path))
        }
        for d in dirs { l.directoryHashes.insert(LayerFindings.pathHash(d)) }
        for o in others { l.nonDirectoryHashes.insert(LayerFindings.pathHash(o)) }
        l.whiteouts = Set(whiteouts)
        l.opaqueDirectories = Set(opaque)
        return l
    }

    func names(_ layers: [LayerFindings]) -> [String] { LayerMerge.merge(layers).packages.map(\.name) }

    func testUpperFileReplacesLowerFile() {
        let r = LayerMerge.merge([layer("a", files: ["/app/package.json": "old"]), layer("b", files: ["/app/package.json": "new"])])
        XCTAssertEqual(r.packages.map(\.name), ["new"])
        XCTAssertEqual(r.packages.first?.location.layerDigest, "b")
    }

    func testWhiteoutDeletesAFileAndEverythingUnderADirectory() {
        let base = layer("a", files: ["/x/package.json": "x", "/d/y/package.json": "y", "/keep/package.json": "k"])
        XCTAssertEqual(names([base, layer("b", whiteouts: ["/x/package.json", "/d"])]), ["k"])
    }

    func testOpaqueDirectoryHidesLowerContentsButNotItsOwn() {
        let base = layer("a", files: ["/d/one/package.json": "one", "/other/package.json": "other"])
        let upper = layer("b", files: ["/d/two/package.json": "two"], opaque: ["/d"])
        XCTAssertEqual(names([base, upper]).sorted(), ["other", "two"])
    }

    func testAFileReplacingALowerDirectoryRemovesItsContents() {
        let base = layer("a", files: ["/lib/node_modules/m/package.json": "m"])
        XCTAssertEqual(names([base, layer("b", others: ["/lib/node_modules"])]), [])
    }

    func testADirectoryReplacingALowerFileRemovesIt() {
        let base = layer("a", files: ["/var/lib/thing": "t"])
        XCTAssertEqual(names([base, layer("b", dirs: ["/var/lib/thing"])]), [])
    }

    func testAnUncatalogedUpperFileStillReplacesTheLowerOne() {
        let base = layer("a", files: ["/app/package.json": "app"])
        XCTAssertEqual(names([base, layer("b", others: ["/app/package.json"])]), [])
    }

    func testAWhiteoutThenARecreationKeepsTheRecreatedFile() {
        let l1 = layer("a", files: ["/p/package.json": "first"])
        let l2 = layer("b", whiteouts: ["/p"])
        let l3 = layer("c", files: ["/p/package.json": "again"])
        XCTAssertEqual(names([l1, l2, l3]), ["again"])
    }

    func testUnrelatedUpperEntriesChangeNothing() {
        let base = layer("a", files: ["/usr/lib/package.json": "u"])
        XCTAssertEqual(names([base, layer("b", dirs: ["/usr", "/usr/lib"], others: ["/usr/lib2"], whiteouts: ["/usr/li"])]), ["u"])
    }

    func testOSIdentityFollowsTheSameRules() {
        var a = LayerFindings(layerDigest: "a")
        a.osFiles["/etc/os-release"] = "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
        var b = LayerFindings(layerDigest: "b")
        b.osFiles["/etc/os-release"] = "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n"
        XCTAssertEqual(LayerMerge.merge([a]).os?.prettyName, "Debian GNU/Linux 12 (bookworm)")
        XCTAssertEqual(LayerMerge.merge([a, b]).os?.id, "alpine")
        XCTAssertNil(LayerMerge.merge([a, layer("c", whiteouts: ["/etc/os-release"])]).os)
        var c = LayerFindings(layerDigest: "c")
        c.osFiles["/etc/debian_version"] = "12.5\n"
        XCTAssertEqual(LayerMerge.merge([c]).os?.versionID, "12")
    }

    func testCacheReturnsFindingsByDigestAndEvictsTheOldest() {
        let cache = LayerCache(capacity: 2)
        cache.put(LayerFindings(layerDigest: "a"))
        cache.put(LayerFindings(layerDigest: "b"))
        XCTAssertNotNil(cache.get("a"))
        cache.put(LayerFindings(layerDigest: "c"))
        XCTAssertNil(cache.get("b"), "b was least recently used")
        XCTAssertNotNil(cache.get("a"))
        XCTAssertNotNil(cache.get("c"))
    }

    /// Linear in the layers: 4x the layers (each with one package, a file and a whiteout) costs at most
    /// ~4x the set lookups. Checking each package against every layer above it, as the merge once did,
    /// grows 16x.
    func testMergeWorkGrowsLinearlyWithTheLayers() {
        func lookups(_ n: Int) -> Int {
            let layers = (0..<n).map { i in
                layer("l\(i)", files: ["/app/m\(i)/package.json": "m\(i)"], others: ["/etc/f\(i)"], whiteouts: ["/gone/\(i)"])
            }
            let r = LayerMerge.merge(layers)
            XCTAssertEqual(r.packages.count, n)
            return r.lookups
        }
        let small = lookups(500), large = lookups(2000)
        XCTAssertLessThanOrEqual(Double(large) / Double(small), 4.2, "\(small) -> \(large)")
    }
}
