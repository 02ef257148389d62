// The reference registry (Debian docker-registry 2.8.2) and the misbehaving stub, started by tests
// through Tests/registry/*.py, with what was pushed to them.
import Foundation

public struct RegistryFixture {
    public let dir: URL
    public let info: [String: Any]
    public var url: String { info["url"] as! String }
    public var ca: String? { info["ca"] as? String }
    public var username: String? { info["username"] as? String }
    public var password: String? { info["password"] as? String }
    public var pullOnlyUsername: String? { info["pull_only_username"] as? String }
    public var pullOnlyPassword: String? { info["pull_only_password"] as? String }

    static var script: String { repositoryRoot.appendingPathComponent("Tests/registry/fixture.py").path }

    /// Starts a registry with `auth` = none | htpasswd | token, optionally over TLS, and pushes the
    /// content sets named in `pushing` (`basic`, `many`). `htpasswdUser` (`name:password`) replaces the
    /// made-up htpasswd user.
    public static func start(auth: String, tls: Bool = false, htpasswdUser: String? = nil,
                             pushing sets: [String] = []) throws -> RegistryFixture {
        let dir = try makeTemporaryDirectory("registry-\(auth)")
        var args = [script, "start", "--auth", auth, "--dir", dir.path, "--detach", "--max-lifetime", "900"]
        if tls { args.append("--tls") }
        if let user = htpasswdUser { args += ["--htpasswd-user", user] }
        let r = try runProcess(projectPython, args, timeout: 60)
        guard r.status == 0 else { throw NSError(domain: "fixture", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
        let json = try Data(contentsOf: dir.appendingPathComponent("fixture.json"))
        let fixture = RegistryFixture(dir: dir, info: try JSONSerialization.jsonObject(with: json) as! [String: Any])
        for set in sets { try fixture.push(set) }
        return fixture
    }

    /// Pushes a content set (`basic` or `many`) and returns its record (`expected/pushed-<set>.json`).
    @discardableResult
    public func push(_ set: String) throws -> [String: Any] {
        let r = try runProcess(projectPython, [Self.script, "push", "--fixture", dir.path, "--set", set, "--summary"], timeout: 120)
        guard r.status == 0 else { throw NSError(domain: "fixture", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.stderr + r.stdout]) }
        return try pushed(set)
    }

    public func pushed(_ set: String) throws -> [String: Any] {
        let data = try Data(contentsOf: dir.appendingPathComponent("expected/pushed-\(set).json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The bytes of a pushed blob or manifest.
    public func expectedBlob(_ digest: String) throws -> [UInt8] {
        let hex = digest.replacingOccurrences(of: "sha256:", with: "")
        return [UInt8](try Data(contentsOf: dir.appendingPathComponent("expected/blobs/sha256/\(hex)")))
    }

    /// The record of an image pushed by `push("basic")`, e.g. `image("single/app:1.0")`.
    public func image(_ reference: String, set: String = "basic") throws -> [String: Any] {
        let images = try pushed(set)["images"] as! [String: Any]
        return images[reference] as! [String: Any]
    }

    public func stop() {
        _ = try? runProcess(projectPython, [Self.script, "stop", "--dir", dir.path], timeout: 30)
        try? FileManager.default.removeItem(at: dir)
    }
}

/// The deliberately misbehaving registry stub (Tests/registry/misbehaving_registry.py): only for
/// misbehaviour the real registry will not produce on demand.
public final class MisbehavingRegistry {
    public let process: BackgroundProcess
    public let info: [String: Any]
    public let dir: URL
    public var url: String { info["url"] as! String }

    public init() throws {
        dir = try makeTemporaryDirectory("stub")
        (process, info) = try startPythonServerWithInfo("registry/misbehaving_registry.py", ["--dir", dir.path, "--max-lifetime", "900"])
    }

    public func image(_ scenario: String) -> [String: Any] { (info["images"] as! [String: Any])[scenario] as! [String: Any] }

    /// What the stub recorded (`GET /_stub/record`).
    public func record() throws -> [String: Any] {
        let r = try runProcess("curl", ["-sS", "\(url)/_stub/record"])
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    }

    public func reset() throws { _ = try runProcess("curl", ["-sS", "-X", "POST", "\(url)/_stub/reset"]) }

    public func stop() {
        _ = process.stop()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// Stand-ins for the registry vendors' own services (Tests/registry/vendor_standins.py), in front of a
/// real registry for the /v2 traffic: only because those services cannot run here.
public final class VendorStandIns {
    public let process: BackgroundProcess
    public let info: [String: Any]
    public let dir: URL

    /// Starts every vendor's stand-in in front of `registry` (a fixture started with auth none).
    public init(registry: RegistryFixture) throws {
        dir = try makeTemporaryDirectory("standins")
        (process, info) = try startPythonServerWithInfo("registry/vendor_standins.py",
                                                        ["--registry", registry.url, "--dir", dir.path, "--max-lifetime", "900"])
    }

    /// One vendor's entry: `url`, `base`, `host`, `users`, `service`, and `<role>_url` of its other ports.
    public func vendor(_ name: String) -> [String: Any] { (info["vendors"] as! [String: Any])[name] as! [String: Any] }

    var control: String { info["control_url"] as! String }

    /// Every request each stand-in received (`vendor`, `server`, `method`, `path`, `query`, `authorization`,
    /// `body`, `user_agent`) and every token it issued (`vendor`, `user`, `scopes`, `granted`, `service`).
    public func record() throws -> (requests: [[String: Any]], tokens: [[String: Any]]) {
        let r = try runProcess("curl", ["-sS", "\(control)/record"])
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        return (json["requests"] as! [[String: Any]], json["tokens"] as! [[String: Any]])
    }

    public func reset() throws { _ = try runProcess("curl", ["-sS", "-X", "POST", "\(control)/reset"]) }

    public func stop() {
        _ = process.stop()
        try? FileManager.default.removeItem(at: dir)
    }
}
