// The service process's registry counters for /metrics: the per-host limiter (listing, metadata and
// systemcheck requests; scans run in worker processes with their own) and the AWS session cache.
import Core

enum RegistryMetrics {
    static func render(limiter: HostLimiter = .shared, aws: AWSSessionCache = .shared) -> String {
        let t = limiter.totals
        let a = aws.stats
        var out = PrometheusText()
        out.single("cr_agent_registry_hosts", .gauge, "Registry hosts the service process has talked to.", t.hosts)
        out.single("cr_agent_registry_requests_in_flight", .gauge, "Registry requests under way (REGISTRY_MAX_CONCURRENCY per host).", t.inFlight)
        out.single("cr_agent_registry_requests_waiting", .gauge, "Registry requests waiting for their host's allowance.", t.waiting)
        out.single("cr_agent_registry_throttled_total", .counter, "429 answers that halved a host's allowance.", t.throttles)
        out.family("cr_agent_aws_exchanges_total", .counter, "AWS exchanges that succeeded, by kind (identity, role session, ECR login).", label: "kind",
                   [("identity", a.identityFetches), ("role_session", a.roleSessions), ("ecr_login", a.ecrLogins)])
        out.single("cr_agent_aws_cache_hits_total", .counter, "AWS credentials and ECR logins served from the cache.", a.hits)
        out.single("cr_agent_aws_cache_joined_total", .counter, "Requests that waited for an AWS exchange already under way.", a.joined)
        out.single("cr_agent_aws_cache_kept_after_failed_renewal_total", .counter, "Renewals that failed while the cached value was kept.",
                   a.keptAfterFailedRenewal)
        return out.text
    }
}
