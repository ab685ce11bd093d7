import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AppProcess, killAll, tempDataDir } from './support/app-process';

// The app started with the standard OpenTelemetry variables exports its traces and metrics over OTLP,
// in both HTTP encodings, to a collector: here a real loopback HTTP server that records what it gets.

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** A stand-in OTLP/HTTP collector: answers 200 to every POST and keeps it. */
class Recorder {
  readonly received: Received[] = [];
  private waiters: (() => void)[] = [];
  private constructor(readonly server: Server) {}

  static async start(): Promise<Recorder> {
    const recorder = new Recorder(createServer((request, response) => void recorder.take(request, response)));
    await new Promise<void>((resolve) => recorder.server.listen(0, '127.0.0.1', () => resolve()));
    return recorder;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async take(request: IncomingMessage, response: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    this.received.push({ path: request.url ?? '', contentType: request.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
    response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/json' }).end(request.headers['content-type']?.includes('json') ? '{}' : '');
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves with the first request that matches, woken by each arrival; fails after `timeoutMs`. */
  async waitFor(match: (received: Received) => boolean, timeoutMs: number): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching OTLP request within ${timeoutMs} ms; got ${this.received.map((r) => `${r.path} ${r.contentType}`).join(', ')}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const PLACE = `mutation PlaceTracedOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { streamName } }`;

async function placeOrder(app: AppProcess): Promise<void> {
  const input = { orderId: randomUUID(), customerId: 'c-otlp', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }] };
  const response = await fetch(app.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: PLACE, variables: { input } }) });
  const body = (await response.json()) as { errors?: unknown };
  expect(body.errors).toBeUndefined();
}

jest.setTimeout(120_000);
afterEach(() => killAll());

describe.each([
  ['http/protobuf', 'application/x-protobuf'],
  ['http/json', 'application/json'],
])('OTLP over %s', (protocol, contentType) => {
  test('exports the traces and the eventfold_ metrics to the collector', async () => {
    const collector = await Recorder.start();
    const dir = tempDataDir();
    const serviceName = `food-delivery-${protocol.replace('/', '-')}`;
    const app = await AppProcess.start({
      dataDir: dir.path,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: serviceName,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_METRIC_EXPORT_INTERVAL: '300',
      },
    });
    try {
      expect(app.output).toContain(`Telemetry         OTLP ${protocol} to ${collector.url}`);
      await placeOrder(app);
      const hasText = (received: Received, ...texts: string[]): boolean => texts.every((text) => received.body.includes(Buffer.from(text)));
      const traces = await collector.waitFor(
        (received) => received.path === '/v1/traces' && hasText(received, 'mutation PlaceTracedOrder', 'handle PlaceOrder'),
        20_000,
      );
      expect(traces.contentType).toContain(contentType);
      expect(hasText(traces, serviceName)).toBe(true);
      const metrics = await collector.waitFor((received) => received.path === '/v1/metrics' && hasText(received, 'eventfold_command_duration_seconds'), 20_000);
      expect(metrics.contentType).toContain(contentType);
      expect(hasText(metrics, serviceName)).toBe(true);

      if (protocol === 'http/json') {
        // The JSON encoding, read as such: the operation and its command are one trace.
        const spans = (JSON.parse(traces.body.toString('utf8')) as { resourceSpans: { scopeSpans: { spans: { name: string; traceId: string }[] }[] }[] }).resourceSpans
          .flatMap((resource) => resource.scopeSpans)
          .flatMap((scope) => scope.spans);
        const operation = spans.find((span) => span.name === 'mutation PlaceTracedOrder')!;
        const command = spans.find((span) => span.name === 'handle PlaceOrder')!;
        expect(command.traceId).toBe(operation.traceId);
      }
    } finally {
      await app.interrupt();
      await collector.close();
      dir.remove();
    }
  });
});
