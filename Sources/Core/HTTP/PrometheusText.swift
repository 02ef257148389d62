// Writing the Prometheus text exposition (format 0.0.4): HELP and TYPE once per metric, then its samples.

public struct PrometheusText {
    public enum Kind: String { case counter, gauge, histogram }

    public private(set) var text = ""

    public init() {}

    /// The HELP and TYPE lines of `name`; its samples follow.
    public mutating func describe(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line, `name{labels} value`; `labels` is written as given (`outcome="x"`), none when empty.
    public mutating func sample(_ name: String, labels: String = "", _ value: some CustomStringConvertible) {
        text += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n"
    }

    /// A metric with one sample and no labels.
    public mutating func single(_ name: String, _ kind: Kind, _ help: String, _ value: some CustomStringConvertible) {
        describe(name, kind, help)
        sample(name, value)
    }

    /// A metric with one sample per value of one label, in the order given (values are plain words).
    public mutating func family<V: CustomStringConvertible>(_ name: String, _ kind: Kind, _ help: String, label: String, _ samples: [(String, V)]) {
        describe(name, kind, help)
        for (value, n) in samples { sample(name, labels: "\(label)=\"\(value)\"", n) }
    }

    /// A histogram's samples: cumulative `_bucket` lines for `bounds` (`counts[i]` observations in bucket
    /// `i` alone), `+Inf`, `_sum` and `_count`. `labels` go before `le` on every line.
    public mutating func histogramSamples<C: BinaryInteger & CustomStringConvertible>(_ name: String, labels: String = "", bounds: [Double],
                                                                                      counts: [C], count: C, sum: Double) {
        let prefix = labels.isEmpty ? "" : labels + ","
        var cumulative: C = 0
        for (i, b) in bounds.enumerated() {
            cumulative += counts[i]
            sample(name + "_bucket", labels: "\(prefix)le=\"\(b)\"", cumulative)
        }
        sample(name + "_bucket", labels: "\(prefix)le=\"+Inf\"", count)
        sample(name + "_sum", labels: labels, sum)
        sample(name + "_count", labels: labels, count)
    }
}
