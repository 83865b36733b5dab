import Foundation
import Metrics
import Prometheus

/// The service's metrics, recorded through swift-metrics into this server's own Prometheus registry
/// (not the process-wide metrics system, so several servers in one process keep separate counts).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let batchSize: Metrics.Recorder
    let batchTokens: Metrics.Recorder
    let queueDepth: Metrics.Gauge
    let queueTime: Metrics.Timer
    let inferenceTime: Metrics.Timer

    static let routes: Set<String> = ["/predict", "/tokenize", "/info", "/health", "/metrics"]

    init(options: ServerOptions) {
        var factory = PrometheusMetricsFactory(registry: registry)
        let seconds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        let durations = seconds.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        factory.defaultDurationHistogramBuckets = durations
        var sizes: [Double] = []
        var s = 1
        while s < options.maxBatchRequests { sizes.append(Double(s)); s *= 2 }
        sizes.append(Double(options.maxBatchRequests))
        var tokens: [Double] = []
        var t = 16
        while t < options.maxBatchTokens { tokens.append(Double(t)); t *= 2 }
        tokens.append(Double(options.maxBatchTokens))
        factory.valueHistogramBuckets = ["kobert_batch_size": sizes, "kobert_batch_tokens": tokens]
        self.factory = factory
        batchSize = Metrics.Recorder(label: "kobert_batch_size", factory: factory)
        batchTokens = Metrics.Recorder(label: "kobert_batch_tokens", factory: factory)
        queueDepth = Metrics.Gauge(label: "kobert_queue_depth", factory: factory)
        queueTime = Metrics.Timer(label: "kobert_queue_duration_seconds", factory: factory)
        inferenceTime = Metrics.Timer(label: "kobert_request_inference_duration_seconds", factory: factory)
        queueDepth.record(0)
    }

    /// Counts one answered request and its latency, labelled by route and status.
    func request(path: String, status: Int, seconds: Double) {
        let route = Self.routes.contains(path) ? path : "other"
        Metrics.Counter(label: "kobert_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory).increment()
        Metrics.Timer(label: "kobert_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    func prometheusText() -> String { registry.emitToString() }
}
