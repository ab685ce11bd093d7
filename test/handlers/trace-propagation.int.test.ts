import { randomUUID } from 'node:crypto';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { attachMeterProvider } from '../../src/internal/metrics';
import { handleCommand } from '../../src/commands/handle-command';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import type { RecordedEvent } from '../../src/event-store/event-store';
import { createHttpFunction, createLambdaHandler, defineWebhookReactor, ReactorRunner, signDelivery, type ReactorHandler } from '../../src/handlers';
import { toDeliveryPayload } from '../../src/handlers/delivery-payload';
import { cart } from '../domain/shopping-cart';
import { startSink, type HttpSink } from './support/http-sink';

// The trace context travels with the work even in a process that runs no OpenTelemetry SDK (this test
// registers none): an event's `traceparent` goes out as the webhook's header, and the HTTP function's
// commands carry it on. A real webhook reactor POSTs over loopback HTTP to a real `createHttpFunction`.

const SECRET = 'a-long-enough-webhook-secret';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const traceIdOf = (event: RecordedEvent): string | undefined => (event.metadata.traceparent as string | undefined)?.split('-')[1];

/** The function's handler: adds an item to the delivered event's cart, through `context.send`. */
const addItem: ReactorHandler = async (event, context) => {
  await context.send(cart, { streamName: event.streamName, command: { type: 'AddItem', data: { sku: 'tea', quantity: 1, unitPriceCents: 250 } } });
};

async function openCart(store: InMemoryEventStore, traceparent: string | undefined): Promise<string> {
  const streamName = cart.streamName(randomUUID());
  await handleCommand({ store }, cart, {
    streamName,
    command: { type: 'OpenCart', data: { customerId: 'c-1', openedAt: '2026-01-01T00:00:00Z' } },
    // As a reactor's command carries the event that caused it.
    ...(traceparent ? { causedBy: { id: randomUUID(), metadata: { traceparent } } } : {}),
  });
  return streamName;
}

async function eventsOf(store: InMemoryEventStore, streamName: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(streamName)) events.push(event);
  return events;
}

let sink: HttpSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

test('a webhook delivery sends the event trace context, and the HTTP function continues it', async () => {
  const store = new InMemoryEventStore();
  const streamName = await openCart(store, TRACEPARENT);
  expect(traceIdOf((await eventsOf(store, streamName))[0]!)).toBe(TRACE_ID);

  const received: (string | undefined)[] = [];
  const receive = createHttpFunction(addItem, { secret: SECRET, commands: { store } });
  sink = await startSink((request, response) => {
    received.push(request.headers.traceparent as string | undefined);
    return receive(request, response);
  });
  // The deliveries are counted too: a meter provider of the SDK's, attached as `/metrics` attaches its own.
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const meters = new MeterProvider({ readers: [reader] });
  const detach = attachMeterProvider(meters);
  const webhook = defineWebhookReactor({ name: 'add-item', filter: { eventTypes: ['CartOpened'] }, url: sink.url, secret: SECRET });
  const runner = await ReactorRunner.start({ store, reactors: [webhook] });
  try {
    const [opened] = await eventsOf(store, streamName);
    await runner.waitForPosition('add-item', opened!.position, { timeoutMs: 5_000 });
  } finally {
    await runner.stop();
    await webhook.close();
  }
  const { resourceMetrics } = await reader.collect();
  detach();
  await meters.shutdown();
  const points = (name: string) => resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === name)?.dataPoints ?? [];
  expect(points('eventfold_webhook_deliveries').map((point) => [point.attributes, point.value])).toEqual([
    [{ 'eventfold.reactor.name': 'add-item', 'http.response.status_code': 200 }, 1],
  ]);
  expect(points('eventfold_reactor_attempts').map((point) => [point.attributes, point.value])).toEqual([
    [{ 'eventfold.reactor.name': 'add-item', 'eventfold.reactor.outcome': 'succeeded' }, 1],
  ]);
  expect(received).toEqual([TRACEPARENT]);
  const events = await eventsOf(store, streamName);
  expect(events.map((event) => event.type)).toEqual(['CartOpened', 'ItemAdded']);
  expect(events.map(traceIdOf)).toEqual([TRACE_ID, TRACE_ID]);
});

test('createLambdaHandler continues the traceparent header, else the event metadata', async () => {
  const store = new InMemoryEventStore();
  const handler = createLambdaHandler(addItem, { secret: SECRET, commands: { store } });
  const deliver = async (streamName: string, headers: Record<string, string>): Promise<void> => {
    const [opened] = await eventsOf(store, streamName);
    const body = JSON.stringify(toDeliveryPayload('add-item', opened!, { attempt: 1, maxAttempts: 3 }));
    const answer = await handler({ body, headers: { 'Eventfold-Signature': signDelivery(SECRET, body, Math.floor(Date.now() / 1000)), ...headers } });
    expect(answer.statusCode).toBe(200);
  };

  const otherTrace = '0af7651916cd43dd8448eb211c80319c';
  const fromHeader = await openCart(store, TRACEPARENT);
  await deliver(fromHeader, { Traceparent: `00-${otherTrace}-b7ad6b7169203331-01` });
  expect((await eventsOf(store, fromHeader)).map(traceIdOf)).toEqual([TRACE_ID, otherTrace]);

  const fromMetadata = await openCart(store, TRACEPARENT);
  await deliver(fromMetadata, {});
  expect((await eventsOf(store, fromMetadata)).map(traceIdOf)).toEqual([TRACE_ID, TRACE_ID]);

  // No context anywhere: no traceparent is written (tracing is off).
  const untraced = await openCart(store, undefined);
  await deliver(untraced, { traceparent: 'not-a-traceparent' });
  expect((await eventsOf(store, untraced)).map(traceIdOf)).toEqual([undefined, undefined]);
});
