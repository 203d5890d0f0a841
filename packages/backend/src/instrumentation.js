// Loaded with `node --require` before the backend (see package.json "start" and the
// Dockerfile) so OpenTelemetry metrics, Storeplane's included, can be scraped as Prometheus
// text. Off unless PROMETHEUS_METRICS_PORT is set, e.g. PROMETHEUS_METRICS_PORT=9464.
const port = process.env.PROMETHEUS_METRICS_PORT;
if (port) {
  const { metrics } = require('@opentelemetry/api');
  const { MeterProvider } = require('@opentelemetry/sdk-metrics');
  const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');
  const exporter = new PrometheusExporter({ port: Number(port) });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
}
