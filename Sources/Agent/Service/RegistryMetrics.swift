// The service process's registry counters for /metrics: the per-host limiter (listing, metadata and
// systemcheck requests; scans run in worker processes with their own) and the AWS session cache.

enum RegistryMetrics {
    static func render(limiter: HostLimiter = .shared, aws: AWSSessionCache = .shared) -> String {
        let t = limiter.totals
        let a = aws.stats
        var out = ""
        func gauge(_ name: String, _ help: String, _ value: Int, type: String = "gauge") {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        gauge("cr_agent_registry_hosts", "Registry hosts the service process has talked to.", t.hosts)
        gauge("cr_agent_registry_requests_in_flight", "Registry requests under way (REGISTRY_MAX_CONCURRENCY per host).", t.inFlight)
        gauge("cr_agent_registry_requests_waiting", "Registry requests waiting for their host's allowance.", t.waiting)
        gauge("cr_agent_registry_throttled_total", "429 answers that halved a host's allowance.", t.throttles, type: "counter")
        out += "# HELP cr_agent_aws_exchanges_total AWS exchanges that succeeded, by kind (identity, role session, ECR login).\n"
        out += "# TYPE cr_agent_aws_exchanges_total counter\n"
        for (kind, n) in [("identity", a.identityFetches), ("role_session", a.roleSessions), ("ecr_login", a.ecrLogins)] {
            out += "cr_agent_aws_exchanges_total{kind=\"\(kind)\"} \(n)\n"
        }
        gauge("cr_agent_aws_cache_hits_total", "AWS credentials and ECR logins served from the cache.", a.hits, type: "counter")
        gauge("cr_agent_aws_cache_joined_total", "Requests that waited for an AWS exchange already under way.", a.joined, type: "counter")
        gauge("cr_agent_aws_cache_kept_after_failed_renewal_total", "Renewals that failed while the cached value was kept.", a.keptAfterFailedRenewal, type: "counter")
        return out
    }
}
