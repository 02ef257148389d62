// `broker client`'s settings read from its environment: every variable checked at once, every missing or
// contradictory one named in a single error (per CR_TYPE), so a deployment is fixed in one round.
import Core

public struct BrokerClientSettingsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// One line per problem, each starting with the variable it is about.
    public let problems: [String]
    public var description: String {
        "broker client: \(problems.count == 1 ? "a setting is" : "\(problems.count) settings are") wrong:\n"
            + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}

extension BrokerClientSettings {
    /// snyk's default broker server (config.default.json).
    public static let defaultServerURL = "https://broker.snyk.io"
    public static let defaultPort = 7341
    public static let defaultClientVersion = "4.200.0"
    /// snyk's server refuses clients below this version (identifyHandler.ts, MINIMAL_SUPPORTED_BROKER_VERSION).
    public static let minimumClientVersion = "4.100.0"
    public static let defaultMaxMessageBytes = 33_554_432

    /// The CR_TYPE values the client knows: the agent's twelve types, the alias `azure-cr`, and snyk's
    /// legacy `ElasticCR` (the entrypoint treats it as `ecr`).
    public static let knownRegistryTypes = ["docker-hub", "artifactory-cr", "harbor-cr", "quay-cr", "github-cr", "nexus-cr",
                                            "digitalocean-cr", "gitlab-cr", "acr", "google-artifact-cr", "gcr", "ecr"]
    static let aliasRegistryTypes = ["azure-cr", "ElasticCR"]
    /// Self-hosted products: no default registry, so CR_BASE is required (the agent's types say the same).
    static let typesNeedingBase: Set<String> = ["artifactory-cr", "harbor-cr", "nexus-cr", "acr", "azure-cr", "google-artifact-cr"]

    /// Whether a variable is kept from a caller's `${VAR}` placeholders: a secret by its name (the logger's
    /// sensitive names, and AUTH, PASS, PWD, PROXY: `HTTPS_PROXY` may carry a user and password), the
    /// validation URL, or a value that is a URL with user information.
    static func isSecretForCallers(name: String, value: String) -> Bool {
        let upper = name.uppercased()
        if Redaction.isSensitiveName(name) || ["AUTH", "PASS", "PWD", "PROXY"].contains(where: { upper.contains($0) }) { return true }
        if upper == "BROKER_CLIENT_VALIDATION_URL" { return true }
        let bytes = Array(value.utf8)
        guard let colon = (0..<max(bytes.count - 2, 0)).first(where: { bytes[$0] == 0x3A && bytes[$0 + 1] == 0x2F && bytes[$0 + 2] == 0x2F })
        else { return false }
        let authority = bytes[(colon + 3)...].prefix { $0 != 0x2F && $0 != 0x3F && $0 != 0x23 }   // up to / ? #
        return authority.contains(0x40)   // @
    }

    public static func fromEnvironment(_ env: [String: String]) -> Result<BrokerClientSettings, BrokerClientSettingsError> {
        var problems: [String] = []
        func value(_ name: String) -> String? {
            guard let v = env[name]?.trimmed(" \t"), !v.isEmpty else { return nil }
            return v
        }
        func required(_ name: String, _ why: String) -> String {
            if let v = value(name) { return v }
            problems.append("\(name) is not set: \(why)")
            return ""
        }

        let token = required("BROKER_TOKEN", "the token that names this client at the broker server")
        let serverURL = value("BROKER_SERVER_URL") ?? defaultServerURL
        if !isHTTPURL(serverURL) { problems.append("BROKER_SERVER_URL must be an http:// or https:// URL with a host") }
        let clientURL = required("BROKER_CLIENT_URL", "the URL (scheme, host and port) the agent calls back through")
        if !clientURL.isEmpty && !isHTTPURL(clientURL) {
            problems.append("BROKER_CLIENT_URL must be an http:// or https:// URL with a host (e.g. http://broker-client:7341)")
        }
        var agentURL = required("CR_AGENT_URL", "where the agent listens (e.g. http://cr-agent:17500)")
        if !agentURL.isEmpty && !agentURL.hasPrefix("http") { agentURL = "https://" + agentURL }   // as snyk does
        if !agentURL.isEmpty && !isHTTPURL(agentURL) { problems.append("CR_AGENT_URL must be a URL with a host") }

        problems += registryProblems(value)

        let port = integer(value("PORT"), name: "PORT", default: defaultPort, range: 1...65535, problems: &problems)
        let maxMessage = integer(value("BROKER_MAX_MESSAGE_BYTES"), name: "BROKER_MAX_MESSAGE_BYTES",
                                 default: defaultMaxMessageBytes, range: 1024...(1 << 30), problems: &problems)

        let maxConcurrent = integer(value("BROKER_CLIENT_MAX_CONCURRENT_REQUESTS"), name: "BROKER_CLIENT_MAX_CONCURRENT_REQUESTS",
                                    default: 64, range: 1...65536, problems: &problems)
        let day = 86_400_000
        var downstreamTimeout = integer(value("BROKER_DOWNSTREAM_TIMEOUT"), name: "BROKER_DOWNSTREAM_TIMEOUT",
                                        default: 0, range: 0...day, problems: &problems)
        if downstreamTimeout > 0 && downstreamTimeout < 1000 {
            problems.append("BROKER_DOWNSTREAM_TIMEOUT \(downstreamTimeout) is below 1000 ms (0 means no limit)")
            downstreamTimeout = 0
        }
        let downstreamIdle = integer(value("BROKER_DOWNSTREAM_IDLE_TIMEOUT"), name: "BROKER_DOWNSTREAM_IDLE_TIMEOUT",
                                     default: 660_000, range: 1000...day, problems: &problems)
        let postTimeout = integer(value("BROKER_CLIENT_POST_TIMEOUT"), name: "BROKER_CLIENT_POST_TIMEOUT",
                                  default: 1_200_000, range: 1000...day, problems: &problems)
        let version = value("BROKER_CLIENT_VERSION") ?? defaultClientVersion
        if let v = SemanticVersion(version) {
            if v < SemanticVersion(minimumClientVersion)! {
                problems.append("BROKER_CLIENT_VERSION \(version) is below \(minimumClientVersion), which broker servers refuse")
            }
        } else {
            problems.append("BROKER_CLIENT_VERSION \(version.debugDescription) is not a version like 4.200.0")
        }

        let validationURL = value("BROKER_CLIENT_VALIDATION_URL")
        if let validationURL, !isHTTPURL(validationURL) {
            problems.append("BROKER_CLIENT_VALIDATION_URL must be an http:// or https:// URL with a host")
        }

        let cert = value("HTTPS_CERT"), key = value("HTTPS_KEY")
        switch (cert, key) {
        case (.some, nil): problems.append("HTTPS_KEY is not set but HTTPS_CERT is: set both or neither")
        case (nil, .some): problems.append("HTTPS_CERT is not set but HTTPS_KEY is: set both or neither")
        case (.some(let c), .some(let k)):
            for (name, path) in [("HTTPS_CERT", c), ("HTTPS_KEY", k)] where readFile(path, limit: 1) == nil {
                problems.append("\(name) \(path) cannot be read")
            }
        default: break
        }

        var logLevel = LogLevel.info
        do { logLevel = try Environment(env).logLevel() } catch { problems.append(error.description) }

        // The environment the filter fills `${VAR}` from: the process's, with CR_AGENT_URL as used and
        // CR_CREDENTIALS as built (the entrypoint exports it, so custom rules may name it).
        let credentials = CRCredentials.build(env)
        var filterEnv = env
        if !agentURL.isEmpty { filterEnv["CR_AGENT_URL"] = agentURL }
        filterEnv["CR_CREDENTIALS"] = credentials

        // A caller's `${VAR}` placeholders (x-broker-var-sub headers, BROKER_VAR_SUB body paths) are never
        // filled with a secret: the credentials and the token go only where this client sends them itself,
        // never to a rule's other origin at a caller's request. Rule origins and `auth` (written by the
        // operator) still read every variable.
        let callerVariables = filterEnv.filter { !Self.isSecretForCallers(name: $0.key, value: $0.value) }
        var filter: AcceptFilter?
        switch AcceptFilter.load(acceptPath: value("ACCEPT"), environment: filterEnv, requestVariables: callerVariables) {
        case .success(let f): filter = f
        case .failure(let e): problems.append("ACCEPT: \(e.description)")
        }

        guard problems.isEmpty, let filter else { return .failure(BrokerClientSettingsError(problems: problems)) }
        var settings = BrokerClientSettings(brokerToken: token, serverURL: serverURL, clientURL: clientURL, agentURL: agentURL,
                                            crCredentials: credentials, port: port, validationURL: validationURL, filter: filter,
                                            clientVersion: version, environment: filterEnv, tlsCertificatePath: cert, tlsKeyPath: key)
        settings.maxMessageBytes = maxMessage
        settings.maxConcurrentRequests = maxConcurrent
        settings.maxQueuedRequests = max(4096, maxConcurrent * 4)
        settings.downstreamTimeoutMilliseconds = downstreamTimeout
        settings.downstreamIdleTimeoutMilliseconds = downstreamIdle
        settings.uploadIdleTimeoutMilliseconds = postTimeout
        settings.logLevel = logLevel
        settings.crType = value("CR_TYPE")
        return .success(settings)
    }

    /// What CR_TYPE needs, and what contradicts it; nothing when CR_CREDENTIALS is given (kept as is).
    static func registryProblems(_ value: (String) -> String?) -> [String] {
        if value("CR_CREDENTIALS") != nil { return [] }
        guard let type = value("CR_TYPE") else {
            return ["CR_TYPE is not set (and neither is CR_CREDENTIALS): one of \(knownRegistryTypes.joined(separator: ", "))"]
        }
        guard knownRegistryTypes.contains(type) || aliasRegistryTypes.contains(type) else {
            return ["CR_TYPE \(type.debugDescription) is not a known registry type: one of \(knownRegistryTypes.joined(separator: ", ")) (or ElasticCR, azure-cr)"]
        }
        var problems: [String] = []
        func need(_ names: [String], _ why: String) {
            for n in names where value(n) == nil { problems.append("\(n) is not set: CR_TYPE=\(type) needs it (\(why))") }
        }
        func refuse(_ names: [String], _ why: String) {
            for n in names where value(n) != nil { problems.append("\(n) is set but CR_TYPE=\(type) does not use it (\(why)): unset it") }
        }
        if CRCredentials.isECR(type) {
            need(["CR_ROLE_ARN", "CR_REGION"], "the role the agent assumes and its region")
            refuse(["CR_USERNAME", "CR_PASSWORD", "CR_TOKEN"], "ECR credentials are the role's")
        } else if type == "digitalocean-cr" {
            need(["CR_TOKEN"], "the DigitalOcean API token, sent as username and password")
            refuse(["CR_USERNAME", "CR_PASSWORD"], "the token is both")
            refuse(["CR_ROLE_ARN", "CR_EXTERNAL_ID"], "only ecr assumes a role")
        } else {
            need(["CR_USERNAME", "CR_PASSWORD"], "the registry login")
            if typesNeedingBase.contains(type) { need(["CR_BASE"], "a self-hosted registry has no default host") }
            refuse(["CR_TOKEN"], "only digitalocean-cr takes a token")
            refuse(["CR_ROLE_ARN", "CR_EXTERNAL_ID"], "only ecr assumes a role")
        }
        return problems
    }

    static func integer(_ raw: String?, name: String, default d: Int, range: ClosedRange<Int>, problems: inout [String]) -> Int {
        guard let raw else { return d }
        guard let v = Int(raw), range.contains(v) else {
            problems.append("\(name) \(raw.debugDescription) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return d
        }
        return v
    }

    static func isHTTPURL(_ s: String) -> Bool {
        let lower = s.lowercased()
        for scheme in ["http://", "https://"] where lower.hasPrefix(scheme) {
            let rest = lower.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return !host.isEmpty && !host.hasPrefix(":") && !s.contains(where: { $0 == " " || $0.isNewline })
        }
        return false
    }
}

/// `major.minor.patch` (a pre-release or build suffix is ignored), compared numerically.
struct SemanticVersion: Comparable {
    let parts: [Int]
    init?(_ s: String) {
        let core = s.split(whereSeparator: { $0 == "-" || $0 == "+" }).first.map(String.init) ?? ""
        let fields = core.split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 3 else { return nil }
        var p: [Int] = []
        for f in fields {
            guard !f.isEmpty, f.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(f) else { return nil }
            p.append(n)
        }
        parts = p
    }
    static func < (a: SemanticVersion, b: SemanticVersion) -> Bool { a.parts.lexicographicallyPrecedes(b.parts) }
}

extension BrokerClientSettings {
    /// Registers every secret of these settings with the log redaction: the sensitive variables of the
    /// environment (BROKER_TOKEN, CR_PASSWORD, CR_TOKEN, ...) and CR_CREDENTIALS as built, which the process
    /// environment does not hold. Call once at start-up, before the first log line.
    public func registerSecrets() {
        Redaction.registerSecrets(fromEnvironment: environment)
        Redaction.register(secret: brokerToken)
        Redaction.register(secret: crCredentials)
    }
}
