// OpenTelemetry for the app: the Node SDK exporting traces and metrics over OTLP, started only when
// OTEL_EXPORTER_OTLP_ENDPOINT is set. The SDK and its exporters are loaded here on demand, so an app
// started without them pays nothing for them at startup.
/* eslint-disable @typescript-eslint/no-require-imports -- loaded only when telemetry is on, see above */

type Protocol = 'http/protobuf' | 'http/json';

/**
 * Starts the SDK when the standard variables ask for it: `OTEL_EXPORTER_OTLP_ENDPOINT` (the collector,
 * e.g. `http://localhost:4318`), `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or
 * `http/json`), `OTEL_SERVICE_NAME` (default `food-delivery`), `OTEL_METRIC_EXPORT_INTERVAL` (ms,
 * default 60,000). Resolves with the function that flushes and stops it, or undefined when off.
 */
export function startTelemetry(env: NodeJS.ProcessEnv): (() => Promise<void>) | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf') as Protocol;
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json, got ${JSON.stringify(env.OTEL_EXPORTER_OTLP_PROTOCOL)}`);
  }
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? 60_000);
  if (!Number.isInteger(interval) || interval < 100) throw new Error(`OTEL_METRIC_EXPORT_INTERVAL must be a number of milliseconds (at least 100), got ${JSON.stringify(env.OTEL_METRIC_EXPORT_INTERVAL)}`);
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
  // The exporters read the endpoint (adding /v1/traces, /v1/metrics), headers and timeouts from the
  // standard variables themselves.
  const { OTLPTraceExporter } =
    protocol === 'http/json'
      ? (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http'))
      : (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto'));
  const { OTLPMetricExporter } =
    protocol === 'http/json'
      ? (require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http'))
      : (require('@opentelemetry/exporter-metrics-otlp-proto') as typeof import('@opentelemetry/exporter-metrics-otlp-proto'));
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'food-delivery',
    traceExporter: new OTLPTraceExporter(),
    metricReaders: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) })],
    instrumentations: [],
  });
  sdk.start();
  return () => sdk.shutdown();
}
