import type { IncomingMessage, ServerResponse } from 'node:http';
import { attachMeterProvider } from '../internal/metrics';
import { assertInstalled } from '../internal/optional-package';
import type { Authenticator } from './auth';
import { ApiError } from './errors';

/**
 * `/metrics` in Prometheus text format: every `eventfold_…` metric of this process.
 *
 * @example
 * await createApi({ ...options, metrics: { path: '/metrics' } });            // admins only
 * await createApi({ ...options, metrics: { open: true } });                  // anyone who reaches the port
 */
export interface MetricsOptions {
  /** Where the metrics are served. Default `/metrics`. */
  readonly path?: string;
  /**
   * Serve them to anyone (a scraper inside a private network). Default false: the request needs a
   * token with the `admin` role (with auth off, the development user's roles count).
   */
  readonly open?: boolean;
}

/** A started `/metrics`: its request handler, and `close` to stop recording for it. */
export interface MetricsEndpoint {
  readonly path: string;
  handle(request: IncomingMessage, response: ServerResponse): void;
  close(): Promise<void>;
}

const NEEDED_BY = 'createApi({ metrics })';

/**
 * Starts recording the kit's metrics into a Prometheus exporter of its own (a meter provider beside any
 * the app registered, so an OTLP export goes on as before).
 *
 * @throws MissingPackageError when `@opentelemetry/sdk-metrics` or `@opentelemetry/exporter-prometheus` is not installed.
 */
export function startMetricsEndpoint(options: MetricsOptions | true, authenticate: Authenticator): MetricsEndpoint {
  const settings = options === true ? {} : options;
  const path = settings.path ?? '/metrics';
  if (!path.startsWith('/')) throw new TypeError(`metrics.path must start with "/", got ${JSON.stringify(path)}`);
  assertInstalled('@opentelemetry/sdk-metrics', NEEDED_BY);
  assertInstalled('@opentelemetry/exporter-prometheus', NEEDED_BY);
  /* eslint-disable @typescript-eslint/no-require-imports -- optional peers, loaded only when /metrics is on */
  const { MeterProvider } = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
  const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus') as typeof import('@opentelemetry/exporter-prometheus');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const detach = attachMeterProvider(provider);
  return {
    path,
    handle: (request, response) => {
      void allowed(settings.open === true, request, authenticate).then((refusal) => {
        if (refusal) {
          response.writeHead(refusal.status, { 'content-type': 'application/json', ...(refusal.status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
          response.end(JSON.stringify({ error: { code: refusal.code, message: refusal.message } }));
          return;
        }
        exporter.getMetricsRequestHandler(request, response);
      });
    },
    close: async () => {
      detach();
      await provider.shutdown();
    },
  };
}

async function allowed(
  open: boolean,
  request: IncomingMessage,
  authenticate: Authenticator,
): Promise<{ status: number; code: string; message: string } | undefined> {
  if (open) return undefined;
  try {
    const user = await authenticate(request.headers.authorization);
    if (!user) return { status: 401, code: 'UNAUTHENTICATED', message: 'metrics need a token with the admin role' };
    if (!user.roles.includes('admin')) return { status: 403, code: 'FORBIDDEN', message: 'metrics need the admin role' };
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return { status: 401, code: error.code, message: error.message };
    return { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'could not check the token' };
  }
}
