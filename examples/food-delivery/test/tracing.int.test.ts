import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { randomUUID } from 'node:crypto';
import type { EventStore, RecordedEvent } from 'eventfold';
import { startApp, type RunningApp } from '../src/app';
import { tempDataDir } from './support/app-process';

// One order's whole workflow — mutation, command, append, validation, payment webhook, payment function,
// approval, driver assignment — is one trace: the spans come from an in-memory exporter of the real
// OpenTelemetry SDK, the app runs in this process on a real SQLite file and real loopback HTTP.

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { streamName position } }`;

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const dir = tempDataDir();
let app: RunningApp;

beforeAll(async () => {
  provider.register();
  app = await startApp({
    store: `sqlite:${dir.path}/events.db`,
    dataDir: dir.path,
    host: '127.0.0.1',
    port: 0,
    paymentPort: 0,
    paymentSecret: 'a-test-secret-of-enough-length',
    restaurantApproval: 'auto',
    approvalTimeoutMs: 300_000,
    logger: silent,
  });
});

afterAll(async () => {
  await app?.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
  dir.remove();
});

/** Resolves with the stream's events once one of `type` is stored (a live subscription, bounded in time). */
async function eventsUntil(store: EventStore, streamName: string, type: string, timeoutMs: number): Promise<RecordedEvent[]> {
  const subscription = store.subscribeToStream(streamName, { fromRevision: 'start' });
  const seen: RecordedEvent[] = [];
  const timer = setTimeout(() => void subscription.close(), timeoutMs);
  try {
    for await (const message of subscription) {
      if (message.kind !== 'event') continue;
      seen.push(message.event);
      if (message.event.type === type) return seen;
    }
    throw new Error(`no ${type} on ${streamName} within ${timeoutMs} ms; saw ${seen.map((event) => event.type).join(', ')}`);
  } finally {
    clearTimeout(timer);
    await subscription.close();
  }
}

const traceIdOf = (traceparent: unknown): string => String(traceparent).split('-')[1]!;

test("one order's spans share one trace id across the webhook hop", async () => {
  const orderId = randomUUID();
  const input = { orderId, customerId: 'c-trace', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }] };
  const response = await fetch(app.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: PLACE, variables: { input } }),
  });
  const body = (await response.json()) as { data?: { placeOrder: { streamName: string } }; errors?: unknown };
  expect(body.errors).toBeUndefined();
  const streamName = body.data!.placeOrder.streamName;

  const events = await eventsUntil(app.api.services.eventStore, streamName, 'DriverAssigned', 15_000);
  const last = events[events.length - 1]!;
  await app.reactors.waitForPosition('driver-assignment', last.position, { timeoutMs: 10_000 });
  await app.api.engine!.waitForPosition('orders', last.position, { timeoutMs: 10_000 });

  // Every event of the order carries the trace context, all of one trace.
  expect(events.map((event) => event.type)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderApproved', 'DriverAssigned']);
  const traceId = traceIdOf(events[0]!.metadata.traceparent);
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  for (const event of events) expect(traceIdOf(event.metadata.traceparent)).toBe(traceId);

  const spans = exporter.getFinishedSpans();
  const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
  const named = (name: string): ReadableSpan[] => inTrace.filter((span) => span.name === name);
  const parentOf = (span: ReadableSpan): ReadableSpan | undefined => inTrace.find((other) => other.spanContext().spanId === span.parentSpanContext?.spanId);

  // The root: the GraphQL operation, a server span with the semantic conventions' attributes.
  const [operation] = named('mutation Place');
  expect(operation).toBeDefined();
  expect(operation!.kind).toBe(SpanKind.SERVER);
  expect(operation!.attributes['graphql.operation.type']).toBe('mutation');
  expect(operation!.parentSpanContext).toBeUndefined();

  // The command under it, with load, decide and append as children.
  const [placeOrder] = named('handle PlaceOrder');
  expect(parentOf(placeOrder!)).toBe(operation);
  const children = inTrace.filter((span) => parentOf(span) === placeOrder).map((span) => span.name);
  expect(children).toEqual(expect.arrayContaining(['load', 'decide', 'append']));
  const append = inTrace.find((span) => span.name === 'append' && parentOf(span) === placeOrder)!;
  expect(append.kind).toBe(SpanKind.PRODUCER);
  expect(append.attributes['messaging.destination.name']).toBe(streamName);
  expect(append.attributes['db.system.name']).toBe('sqlite');

  // Each reactor continues the trace from the event it handles, and its command is its child.
  for (const [reactor, command] of [
    ['order-validation', 'handle ValidateOrder'],
    ['restaurant-approval', 'handle ApproveOrder'],
    ['driver-assignment', 'handle AssignDriver'],
  ] as const) {
    const [process] = named(`process ${reactor}`);
    expect(process?.kind).toBe(SpanKind.CONSUMER);
    expect(named(command).some((span) => parentOf(span) === process)).toBe(true);
  }

  // The webhook hop: the reactor's client span, and the payment function's server span as its child
  // (through the traceparent header), whose RecordPayment command stays in the trace.
  const [delivery] = named('process payment');
  const client = inTrace.find((span) => span.name === 'POST' && span.kind === SpanKind.CLIENT);
  expect(parentOf(client!)).toBe(delivery);
  expect(client!.attributes['http.response.status_code']).toBe(200);
  const server = named('POST payment')[0]!;
  expect(server.kind).toBe(SpanKind.SERVER);
  expect(server.parentSpanContext?.spanId).toBe(client!.spanContext().spanId);
  expect(named('handle RecordPayment').some((span) => parentOf(span) === server)).toBe(true);

  // Projection batches mix workflows: they link to the traces of their events.
  const batches = spans.filter((span) => span.name === 'process orders');
  expect(batches.some((span) => span.links.some((link) => link.context.traceId === traceId))).toBe(true);
});
