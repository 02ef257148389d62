// The deployment artifacts of deploy/: Dockerfiles (hadolint), compose (docker-compose config),
// Kubernetes manifests (kubernetes-validate and what they must say), and the images built and run.
@testable import AgentKit
import Core
import Foundation
import TestSupport
import XCTest

final class DeployArtifactsTests: XCTestCase {
    let deploy = repositoryRoot.appendingPathComponent("deploy")
    var kubernetes: URL { deploy.appendingPathComponent("kubernetes") }
    /// A current Kubernetes release whose schemas kubernetes-validate ships.
    let kubernetesVersion = "1.37.0"

    func venvTool(_ name: String) -> String { repositoryRoot.appendingPathComponent(".venv/bin/\(name)").path }

    func files(in dir: URL, ending suffix: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasSuffix(suffix) }.sorted { $0.path < $1.path }
    }

    /// Every YAML document of a file, as JSON objects (PyYAML in the project's .venv reads them).
    func documents(_ file: URL) throws -> [[String: Any]] {
        let r = try runProcess(projectPython, ["-c", "import sys, yaml, json; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))", file.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
    }

    /// The one document of `kind` named `name` among the kustomization's manifests.
    func manifest(_ kind: String, _ name: String) throws -> [String: Any] {
        for file in try files(in: kubernetes, ending: ".yaml") where file.lastPathComponent != "kustomization.yaml" {
            for d in try documents(file) where d["kind"] as? String == kind && dig(d, "metadata", "name") as? String == name {
                return d
            }
        }
        throw NSError(domain: "deploy", code: 1, userInfo: [NSLocalizedDescriptionKey: "no \(kind) \(name) in deploy/kubernetes"])
    }

    func dig(_ value: Any?, _ path: Any...) -> Any? {
        var v = value
        for step in path {
            if let key = step as? String { v = (v as? [String: Any])?[key] } else if let i = step as? Int {
                guard let a = v as? [Any], a.indices.contains(i) else { return nil }
                v = a[i]
            }
        }
        return v
    }

    func container(_ deployment: [String: Any]) -> [String: Any] {
        dig(deployment, "spec", "template", "spec", "containers", 0) as? [String: Any] ?? [:]
    }

    func env(_ c: [String: Any]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for e in c["env"] as? [[String: Any]] ?? [] { out[e["name"] as! String] = e }
        return out
    }

    /// Kubernetes quantities as bytes (the binary and decimal suffixes the manifests use).
    func bytes(_ quantity: String) -> Int {
        let units: [(String, Int)] = [("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40), ("k", 1000), ("M", 1_000_000), ("G", 1_000_000_000)]
        for (suffix, factor) in units where quantity.hasSuffix(suffix) { return Int(quantity.dropLast(suffix.count))! * factor }
        return Int(quantity)!
    }

    // MARK: Dockerfiles

    func testHadolintPassesOnEveryDockerfile() throws {
        let dockerfiles = try files(in: deploy, ending: ".Dockerfile") + files(in: deploy.appendingPathComponent("examples"), ending: ".Dockerfile")
        XCTAssertEqual(Set(dockerfiles.map(\.lastPathComponent)), ["cr-agent.Dockerfile", "broker.Dockerfile", "broker-client-baked.Dockerfile"])
        for file in dockerfiles {
            let r = try runProcess(venvTool("hadolint"), [file.path])
            XCTAssertEqual(r.status, 0, "\(file.lastPathComponent): \(r.stdout)\(r.stderr)")
        }
    }

    func testEachProgramDockerfileHasBaseArgumentsNonRootUserHealthcheckAndAPrebuiltTarget() throws {
        for (file, binary) in [("cr-agent.Dockerfile", "cr-agent"), ("broker.Dockerfile", "broker")] {
            let text = try String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8)
            let lines = text.split(separator: "\n").map(String.init)
            XCTAssertTrue(lines.contains { $0.hasPrefix("ARG SWIFT_IMAGE=swift:") }, file)
            XCTAssertTrue(lines.contains("ARG RUNTIME_IMAGE=debian:bookworm-slim"), file)
            XCTAssertTrue(lines.contains { $0.hasPrefix("HEALTHCHECK ") }, file)
            XCTAssertTrue(text.contains("/healthcheck"), file)
            XCTAssertTrue(text.contains("ENTRYPOINT [\"/usr/local/bin/\(binary)\"]"), file)
            // Each final stage runs as the unprivileged user, never root.
            let stages = lines.enumerated().filter { $0.element.hasPrefix("FROM ") }
            let names = stages.map { $0.element.components(separatedBy: " AS ").last ?? "" }
            XCTAssertEqual(names, ["runtime-base", "prebuilt", "build", "runtime"], file)
            for stage in ["prebuilt", "runtime"] {
                let start = stages[names.firstIndex(of: stage)!].offset
                let end = stages.first { $0.offset > start }?.offset ?? lines.count
                XCTAssertTrue(lines[start..<end].contains("USER 10001:10001"), "\(file) stage \(stage) does not switch to 10001")
                XCTAssertTrue(lines[start..<end].contains { $0.hasPrefix("COPY ") && $0.hasSuffix("/usr/local/bin/\(binary)") }, "\(file) stage \(stage)")
            }
            XCTAssertFalse(lines.contains { $0.hasPrefix("USER root") || $0 == "USER 0" }, file)
            // The build stage installs what scripts/deps.sh lists for the release build.
            for package in ["libisal-dev", "nasm", "libzstd-dev", "libcurl4-openssl-dev", "dpkg-dev"] {
                XCTAssertTrue(text.contains(package), "\(file) misses \(package)")
            }
        }
    }

    // MARK: compose

    func testComposeFilePassesDockerComposeConfigOnTheHostNetwork() throws {
        let compose = deploy.appendingPathComponent("compose.yaml").path
        let env = ["PATH": "/usr/bin:/bin:/usr/local/bin", "BROKER_TOKEN": "7f0c4e62-3b1a-4d5e-9c2a-0d1e2f3a4b5c",
                   "CR_TYPE": "harbor-cr", "CR_BASE": "harbor.example", "CR_USERNAME": "robot", "CR_PASSWORD": "pw"]
        let r = try runProcess(try which("docker-compose"), ["-f", compose, "--profile", "try", "config"], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("compose-\(getpid()).yaml")
        try r.stdout.write(to: out, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: out) }
        let services = try documents(out).first?["services"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(Set(services.keys), ["cr-agent", "broker-client", "broker-server", "registry"])
        for (name, s) in services { XCTAssertEqual(s["network_mode"] as? String, "host", name) }
        let client = dig(services["broker-client"], "environment") as? [String: Any] ?? [:]
        XCTAssertEqual(client["CR_AGENT_URL"] as? String, "http://127.0.0.1:17500")
        XCTAssertEqual(client["BROKER_CLIENT_URL"] as? String, "http://127.0.0.1:7341")
        XCTAssertEqual(dig(services["broker-server"], "environment", "BROKER_TOKENS") as? String, env["BROKER_TOKEN"])
        // Without the token the file refuses to resolve, naming it.
        var noToken = env
        noToken["BROKER_TOKEN"] = nil
        let refused = try runProcess(try which("docker-compose"), ["-f", compose, "config", "-q"], environment: noToken)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("set BROKER_TOKEN"), refused.stderr)
    }

    // MARK: Kubernetes

    func testKubernetesManifestsPassKubernetesValidateAndAreAllInTheKustomization() throws {
        let manifests = try files(in: kubernetes, ending: ".yaml").filter { $0.lastPathComponent != "kustomization.yaml" }
        let examples = try files(in: kubernetes.appendingPathComponent("examples"), ending: ".yaml")
        let r = try runProcess(venvTool("kubernetes-validate"), ["--strict", "-k", kubernetesVersion] + (manifests + examples).map(\.path), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let passed = (r.stdout + r.stderr).split(separator: "\n").filter { $0.contains(" passed for resource ") }
        // 2 Deployments, 2 Services, 2 Secrets, HPA, PDB, NetworkPolicy; the queue-depth HPA example.
        XCTAssertEqual(passed.count, 10, r.stdout + r.stderr)
        let kustomization = try documents(kubernetes.appendingPathComponent("kustomization.yaml")).first ?? [:]
        let resources = Set(kustomization["resources"] as? [String] ?? [])
        XCTAssertEqual(resources, Set(manifests.map(\.lastPathComponent)))
    }

    func testAgentDeploymentHasSnykSizingProbesSpoolAndGracePeriod() throws {
        let d = try manifest("Deployment", "container-registry-agent-cra")
        let c = container(d), e = env(c)
        XCTAssertEqual(dig(c, "resources", "limits", "cpu") as? String, "1")
        XCTAssertEqual(dig(c, "resources", "limits", "memory") as? String, "2Gi")
        XCTAssertEqual(dig(c, "resources", "requests", "memory") as? String, "2Gi")
        XCTAssertEqual(e["MAX_ACTIVE_OPERATIONS"]?["value"] as? String, "1")
        XCTAssertEqual(dig(c, "livenessProbe", "httpGet", "path") as? String, "/healthcheck")
        XCTAssertEqual(dig(c, "readinessProbe", "httpGet", "path") as? String, "/ready")
        XCTAssertEqual(dig(c, "ports", 0, "containerPort") as? Int, Int(e["SNYK_PORT"]?["value"] as? String ?? ""))

        // The settings as the agent reads them from this environment.
        var values: [String: String] = [:]
        for (k, v) in e { if let s = v["value"] as? String { values[k] = s } }
        let settings = try OperationSettings(Environment(values))
        let grace = dig(d, "spec", "template", "spec", "terminationGracePeriodSeconds") as? Int ?? 30
        // Scans end (SHUTDOWN_TIMEOUT_MS), callbacks flush (15 s), open requests drain (SHUTDOWN_TIMEOUT_MS).
        XCTAssertGreaterThan(grace * 1000, 2 * settings.shutdownTimeoutMilliseconds + 15_000, "SIGKILL before the drain ends")
        XCTAssertLessThanOrEqual(OperationSettings().shutdownTimeoutMilliseconds, settings.shutdownTimeoutMilliseconds)

        // The spool volume is where TMPDIR points and holds a whole image per operation plus the cache.
        let mount = (c["volumeMounts"] as? [[String: Any]] ?? []).first { $0["mountPath"] as? String == values["TMPDIR"] ?? "/tmp" }
        XCTAssertNotNil(mount, "no volume at TMPDIR")
        let volume = (dig(d, "spec", "template", "spec", "volumes") as? [[String: Any]] ?? []).first { $0["name"] as? String == mount?["name"] as? String }
        let sizeLimit = bytes(dig(volume, "emptyDir", "sizeLimit") as? String ?? "0")
        XCTAssertGreaterThanOrEqual(sizeLimit, settings.maxImageBytes * settings.maxActive + settings.cacheMaxBytes)
        XCTAssertGreaterThanOrEqual(bytes(dig(c, "resources", "limits", "ephemeral-storage") as? String ?? "0"), sizeLimit)
    }

    func testEveryContainerIsHardened() throws {
        for name in ["container-registry-agent-cra", "container-registry-agent-broker"] {
            let d = try manifest("Deployment", name)
            let pod = dig(d, "spec", "template", "spec", "securityContext") as? [String: Any] ?? [:]
            XCTAssertEqual(pod["runAsNonRoot"] as? Bool, true, name)
            XCTAssertEqual(pod["runAsUser"] as? Int, 10001, name)
            XCTAssertEqual(dig(pod, "seccompProfile", "type") as? String, "RuntimeDefault", name)
            let s = container(d)["securityContext"] as? [String: Any] ?? [:]
            XCTAssertEqual(s["allowPrivilegeEscalation"] as? Bool, false, name)
            XCTAssertEqual(s["readOnlyRootFilesystem"] as? Bool, true, name)
            XCTAssertEqual(s["privileged"] as? Bool, false, name)
            XCTAssertEqual(dig(s, "capabilities", "drop") as? [String], ["ALL"], name)
            XCTAssertNil(dig(s, "capabilities", "add"), name)
            XCTAssertNotNil(dig(container(d), "resources", "limits", "memory"), name)
            XCTAssertEqual(dig(d, "spec", "template", "spec", "automountServiceAccountToken") as? Bool, false, name)
        }
    }

    func testServicesPoliciesAndScalersSelectTheAgentAndTheClientReachesIt() throws {
        let agent = try manifest("Deployment", "container-registry-agent-cra")
        let client = try manifest("Deployment", "container-registry-agent-broker")
        let agentLabels = dig(agent, "spec", "template", "metadata", "labels") as? [String: String] ?? [:]
        let clientLabels = dig(client, "spec", "template", "metadata", "labels") as? [String: String] ?? [:]
        func selects(_ selector: Any?, _ labels: [String: String]) -> Bool {
            guard let s = selector as? [String: String], !s.isEmpty else { return false }
            return s.allSatisfy { labels[$0.key] == $0.value }
        }
        XCTAssertFalse(selects(dig(agent, "spec", "selector", "matchLabels"), clientLabels), "agent and client pods share labels")

        let service = try manifest("Service", "cra-service")
        XCTAssertTrue(selects(dig(service, "spec", "selector"), agentLabels))
        XCTAssertEqual(dig(service, "spec", "ports", 0, "targetPort") as? String, dig(container(agent), "ports", 0, "name") as? String)
        let port = dig(service, "spec", "ports", 0, "port") as! Int

        let policy = try manifest("NetworkPolicy", "container-registry-agent-cra")
        XCTAssertTrue(selects(dig(policy, "spec", "podSelector", "matchLabels"), agentLabels))
        let ingress = dig(policy, "spec", "ingress") as? [[String: Any]] ?? []
        XCTAssertEqual(ingress.count, 2, "only the client and monitoring")
        XCTAssertTrue(selects(dig(ingress.first, "from", 0, "podSelector", "matchLabels"), clientLabels))
        XCTAssertFalse(selects(dig(ingress.first, "from", 0, "podSelector", "matchLabels"), agentLabels))
        XCTAssertEqual(dig(ingress.last, "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") as? String, "monitoring")
        for rule in ingress { XCTAssertEqual(dig(rule, "ports", 0, "port") as? Int, dig(container(agent), "ports", 0, "containerPort") as? Int) }

        let pdb = try manifest("PodDisruptionBudget", "container-registry-agent-cra")
        XCTAssertTrue(selects(dig(pdb, "spec", "selector", "matchLabels"), agentLabels))
        let hpa = try manifest("HorizontalPodAutoscaler", "container-registry-agent-cra")
        XCTAssertEqual(dig(hpa, "spec", "scaleTargetRef", "name") as? String, "container-registry-agent-cra")
        XCTAssertEqual(dig(hpa, "spec", "metrics", 0, "resource", "name") as? String, "cpu")
        XCTAssertGreaterThanOrEqual(dig(hpa, "spec", "minReplicas") as? Int ?? 0, (dig(pdb, "spec", "minAvailable") as? Int ?? 0) + 1)

        // The client calls the agent's Service, and the agent calls back through the client's Service.
        let e = env(container(client))
        XCTAssertEqual(e["CR_AGENT_URL"]?["value"] as? String, "http://cra-service:\(port)")
        let clientService = try manifest("Service", "container-registry-agent-broker-service")
        XCTAssertTrue(selects(dig(clientService, "spec", "selector"), clientLabels))
        XCTAssertEqual(e["BROKER_CLIENT_URL"]?["value"] as? String,
                       "http://container-registry-agent-broker-service:\(dig(clientService, "spec", "ports", 0, "port") as! Int)")
        XCTAssertEqual(e["PORT"]?["value"] as? String, String(dig(container(client), "ports", 0, "containerPort") as! Int))
    }

    func testBrokerClientReadsTokenAndPasswordFromTheSecretsShipped() throws {
        let e = env(container(try manifest("Deployment", "container-registry-agent-broker")))
        for name in ["BROKER_TOKEN", "CR_PASSWORD"] {
            XCTAssertNil(e[name]?["value"], "\(name) written in the Deployment")
            let secretName = dig(e[name], "valueFrom", "secretKeyRef", "name") as? String ?? ""
            let key = dig(e[name], "valueFrom", "secretKeyRef", "key") as? String ?? ""
            let secret = try manifest("Secret", secretName)
            XCTAssertNotNil(dig(secret, "stringData", key), "\(secretName) has no key \(key)")
        }
        // The chart's names, so a user of snyk's helm chart finds them.
        XCTAssertEqual(dig(e["BROKER_TOKEN"], "valueFrom", "secretKeyRef", "key") as? String, "container-registry-agent-broker-token-key")
    }

    /// The probe paths and the queue-depth example's metric are what the agent really serves.
    func testProbePathsAndTheQueueMetricAreServedByTheAgent() throws {
        let c = container(try manifest("Deployment", "container-registry-agent-cra"))
        let paths = ["livenessProbe", "readinessProbe"].compactMap { dig(c, $0, "httpGet", "path") as? String }
        XCTAssertEqual(paths.count, 2)
        let hpa = try documents(kubernetes.appendingPathComponent("examples/cr-agent-hpa-queue-depth.yaml")).first
        let metric = try XCTUnwrap(dig(hpa, "spec", "metrics", 0, "pods", "metric", "name") as? String)
        let (agent, port) = try startAgentService()
        defer { _ = agent.stop() }
        XCTAssertGreaterThan(port, 0, agent.stderr)
        for path in paths {
            let r = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)\(path)"])
            XCTAssertEqual(r.stdout, "200", path)
        }
        let metrics = try runProcess("curl", ["-fsS", "http://127.0.0.1:\(port)/metrics"]).stdout
        XCTAssertTrue(metrics.contains("# TYPE \(metric) gauge"), "the agent serves no gauge \(metric)")
    }

    // MARK: images

    /// deploy/test-images.sh: both runtime images built from a local Debian base and run. Needs Docker
    /// (apt docker.io; the script starts dockerd when none runs) and the release binaries: scripts/test.sh
    /// runs it in its release pass only (CR_AGENT_BINARY, broker beside it); run alone, RELEASE_DIR names
    /// the binaries' folder, else the script builds them (scripts/build-release.sh).
    func testRuntimeImagesBuildAndRun() throws {
        var env = ProcessInfo.processInfo.environment
        if env["RELEASE_DIR"] == nil, let agent = env["CR_AGENT_BINARY"] {
            env["RELEASE_DIR"] = URL(fileURLWithPath: agent).deletingLastPathComponent().path
        }
        env["SWIFT_BACKTRACE"] = "enable=no"
        let r = try runProcess("/usr/bin/timeout", ["-k", "10", "900", deploy.appendingPathComponent("test-images.sh").path], environment: env, timeout: 960)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("agent container: healthy, lists the registry, scan found"), r.stderr)
        XCTAssertTrue(r.stderr.contains("broker: client container connected to the server container"), r.stderr)
    }
}
