// The Prometheus text writer every /metrics section uses: the exact lines of format 0.0.4.
import Core
import XCTest

final class PrometheusTextTests: XCTestCase {
    func testSingleFamilyAndHistogramLines() {
        var out = PrometheusText()
        out.single("jobs_running", .gauge, "Jobs running now.", 3)
        out.family("jobs_total", .counter, "Jobs ended, by outcome.", label: "outcome", [("done", 5), ("failed", 0)])
        out.describe("job_seconds", .histogram, "Time one job took.")
        out.histogramSamples("job_seconds", labels: "queue=\"a\"", bounds: [0.5, 1], counts: [2, 1] as [Int], count: 4, sum: 7.25)
        out.histogramSamples("job_seconds", bounds: [0.5, 1], counts: [0, 0] as [UInt64], count: 0, sum: 0)
        XCTAssertEqual(out.text, """
            # HELP jobs_running Jobs running now.
            # TYPE jobs_running gauge
            jobs_running 3
            # HELP jobs_total Jobs ended, by outcome.
            # TYPE jobs_total counter
            jobs_total{outcome="done"} 5
            jobs_total{outcome="failed"} 0
            # HELP job_seconds Time one job took.
            # TYPE job_seconds histogram
            job_seconds_bucket{queue="a",le="0.5"} 2
            job_seconds_bucket{queue="a",le="1.0"} 3
            job_seconds_bucket{queue="a",le="+Inf"} 4
            job_seconds_sum{queue="a"} 7.25
            job_seconds_count{queue="a"} 4
            job_seconds_bucket{le="0.5"} 0
            job_seconds_bucket{le="1.0"} 0
            job_seconds_bucket{le="+Inf"} 0
            job_seconds_sum 0.0
            job_seconds_count 0

            """)
    }
}
