import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { z } from 'zod';
import { defineAggregate, defineCommands, defineEvents, type Decider } from '../../src/domain';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import type { RecordedEvent } from '../../src/event-store/event-store';
import {
  createHttpFunction,
  createLambdaHandler,
  defineWebhookReactor,
  InvalidReactorError,
  InvalidSignatureError,
  NonRetryableError,
  ReactorRunner,
  RetryLaterError,
  reactorCommandId,
  signDelivery,
  verifySignature,
  type ReactorContext,
  type WebhookReactor,
} from '../../src/handlers';
import { toDeliveryPayload } from '../../src/handlers/delivery-payload';
import { appendEach, until } from './support/reactor-fixtures';
import { readBody, startSink, type HttpSink } from './support/http-sink';

const SECRET = 'a-long-enough-webhook-secret';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sinkWith(handler: HttpSink['handler']): Promise<HttpSink> {
  const sink = await startSink(handler);
  cleanups.push(() => sink.close());
  return sink;
}

async function run(store: InMemoryEventStore, hook: WebhookReactor): Promise<ReactorRunner> {
  const runner = await ReactorRunner.start({ store, reactors: [hook], checkpointIntervalMs: 5 });
  cleanups.push(async () => {
    await runner.stop();
    await hook.close();
  });
  return runner;
}

function hook(url: string, options: Partial<Parameters<typeof defineWebhookReactor>[0]> = {}): WebhookReactor {
  return defineWebhookReactor({
    name: 'hook',
    filter: { streamPrefixes: ['order-'] },
    url,
    secret: SECRET,
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2_000 },
    ...options,
  });
}

describe('webhook reactor and HTTP function (real HTTP on 127.0.0.1)', () => {
  it('delivers a signed event that createHttpFunction verifies and hands to the same handler, with send working remotely', async () => {
    const decider: Decider<{ type: 'Charge'; data: { orderId: string } }, { type: 'Charged'; data: { orderId: string } }, null> = {
      initialState: () => null,
      decide: (command) => [{ type: 'Charged', data: command.data }],
      evolve: (state) => state,
    };
    const payments = defineAggregate({
      category: 'payment',
      decider,
      commands: defineCommands({ Charge: { schema: z.object({ orderId: z.string() }), stream: 'any' } }),
      events: defineEvents({ Charged: z.object({ orderId: z.string() }) }),
    });
    const remoteStore = new InMemoryEventStore();
    const received: { event: RecordedEvent; context: ReactorContext }[] = [];
    const handler = async (event: RecordedEvent, context: ReactorContext): Promise<void> => {
      received.push({ event, context });
      await context.send(payments, { streamName: `payment-${event.streamName}`, command: { type: 'Charge', data: { orderId: event.streamName } } });
    };
    const fn = createHttpFunction(handler, { secret: [SECRET.toUpperCase(), SECRET], commands: { store: remoteStore } });
    const headersSeen: Record<string, string | string[] | undefined>[] = [];
    const sink = await sinkWith((request, response) => {
      headersSeen.push(request.headers);
      return fn(request, response);
    });
    const store = new InMemoryEventStore();
    const runner = await run(store, hook(sink.url, { headers: { Authorization: 'Bearer t0ken' } }));
    const { position } = await store.appendToStream('order-7', [
      { id: randomUUID(), type: 'PaymentRequested', data: { total: 12.5, big: [1, 2] }, metadata: { correlationId: 'c-9' } },
    ]);
    await runner.waitForPosition('hook', position);
    expect(received).toHaveLength(1);
    const [{ event, context }] = received as [{ event: RecordedEvent; context: ReactorContext }];
    const [original] = await (async () => {
      const all: RecordedEvent[] = [];
      for await (const item of store.readStream('order-7')) all.push(item);
      return all;
    })();
    expect(event).toEqual(original);
    expect(context.idempotencyKey).toBe(original!.id);
    expect(context.delivery).toEqual({ attempt: 1, maxAttempts: 3 });
    expect(headersSeen[0]!.authorization).toBe('Bearer t0ken');
    expect(headersSeen[0]!['eventfold-idempotency-key']).toBe(original!.id);
    expect(headersSeen[0]!['eventfold-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // The remote command has the id the in-process reactor would have used.
    const charged: RecordedEvent[] = [];
    for await (const item of remoteStore.readStream('payment-order-7')) charged.push(item);
    expect(charged).toHaveLength(1);
    expect(charged[0]!.metadata.commandId).toBe(reactorCommandId('hook', original!.id, 'payment-order-7:Charge'));
    expect(charged[0]!.metadata.correlationId).toBe('c-9');
    expect(charged[0]!.metadata.causationId).toBe(original!.id);
  });

  it('answers 401 for a wrong secret, an altered body or a stale timestamp, 400 for a malformed delivery, and 405 for GET', async () => {
    let calls = 0;
    const fn = createHttpFunction(() => void calls++, { secret: SECRET });
    const sink = await sinkWith(fn);
    const event: RecordedEvent = {
      id: randomUUID(),
      type: 'T',
      streamName: 'order-1',
      revision: 0n,
      position: (await appendEach(new InMemoryEventStore(), [{ streamName: 'order-1', type: 'T' }])),
      data: {},
      metadata: {},
      recordedAt: new Date(),
    };
    const body = JSON.stringify(toDeliveryPayload('hook', event, { attempt: 1, maxAttempts: 1 }));
    const now = Math.floor(Date.now() / 1000);
    const post = (text: string, signature: string | undefined, method = 'POST') =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest(sink.url, { method, headers: signature ? { 'eventfold-signature': signature } : {} }, (response) => {
          void readBody(response).then((answer) => resolve({ status: response.statusCode!, body: answer }));
        });
        request.on('error', reject);
        request.end(text);
      });
    expect((await post(body, signDelivery(SECRET, body, now))).status).toBe(200);
    expect((await post(body, signDelivery('another-secret-of-length', body, now))).status).toBe(401);
    expect((await post(body.replace('order-1', 'order-2'), signDelivery(SECRET, body, now))).status).toBe(401);
    const stale = await post(body, signDelivery(SECRET, body, now - 301));
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.body)).toMatchObject({ error: { code: 'INVALID_SIGNATURE' } });
    expect((await post(body, undefined)).status).toBe(401);
    const malformed = '{"reactor":"hook"}';
    expect((await post(malformed, signDelivery(SECRET, malformed, now))).status).toBe(400);
    expect((await post('', undefined, 'GET')).status).toBe(405);
    expect(calls).toBe(1);
  });

  it('maps handler outcomes to statuses: NonRetryableError 422, RetryLaterError 503 with Retry-After, other errors 500', async () => {
    const outcomes: (() => void)[] = [
      () => {
        throw new NonRetryableError('bad card');
      },
      () => {
        throw new RetryLaterError('busy', { retryAfterMs: 2_500 });
      },
      () => {
        throw new Error('boom');
      },
    ];
    let index = 0;
    const lambda = createLambdaHandler(() => outcomes[index++]!(), { secret: SECRET });
    const event: RecordedEvent = {
      id: randomUUID(),
      type: 'T',
      streamName: 'order-1',
      revision: 3n,
      position: await appendEach(new InMemoryEventStore(), [{ streamName: 'order-1', type: 'T' }]),
      data: { a: 1 },
      metadata: {},
      recordedAt: new Date(),
    };
    const body = JSON.stringify(toDeliveryPayload('hook', event, { attempt: 2, maxAttempts: 4 }));
    const signed = { 'Eventfold-Signature': signDelivery(SECRET, body, Math.floor(Date.now() / 1000)) };
    const answers = [];
    for (let call = 0; call < 3; call++) answers.push(await lambda({ body: Buffer.from(body).toString('base64'), isBase64Encoded: true, headers: signed }));
    expect(answers.map((answer) => answer.statusCode)).toEqual([422, 503, 500]);
    expect(answers[1]!.headers['retry-after']).toBe('3');
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ error: { code: 'NON_RETRYABLE', message: 'bad card' } });
    expect((await lambda({ body, headers: {} })).statusCode).toBe(401);
  });

  it('retries 5xx, 408, 429 (honouring Retry-After), timeouts and dropped connections; parks other 4xx at once with the status', async () => {
    const attempts = new Map<string, number>();
    const times = new Map<string, number[]>();
    const sink = await sinkWith(async (request, response) => {
      const payload = JSON.parse(await readBody(request)) as { event: { streamName: string } };
      const stream = payload.event.streamName;
      const attempt = (attempts.get(stream) ?? 0) + 1;
      attempts.set(stream, attempt);
      times.set(stream, [...(times.get(stream) ?? []), Date.now()]);
      const firstTime = attempt === 1;
      switch (stream) {
        case 'order-500':
          response.writeHead(firstTime ? 503 : 200).end();
          return;
        case 'order-408':
          response.writeHead(firstTime ? 408 : 204).end();
          return;
        case 'order-429':
          if (firstTime) response.writeHead(429, { 'retry-after': '1' }).end();
          else response.writeHead(200).end();
          return;
        case 'order-slow':
          if (firstTime) return; // never answers: the client times out
          response.writeHead(200).end();
          return;
        case 'order-drop':
          if (firstTime) request.socket.destroy();
          else response.writeHead(200).end();
          return;
        case 'order-404':
          response.writeHead(404).end('no such hook');
          return;
        default:
          response.writeHead(200).end();
      }
    });
    const store = new InMemoryEventStore();
    const runner = await run(store, hook(sink.url, { timeoutMs: 300, ordering: 'unordered' }));
    const last = await appendEach(
      store,
      ['order-500', 'order-408', 'order-429', 'order-slow', 'order-drop', 'order-404'].map((streamName) => ({ streamName, type: 'T' })),
    );
    await runner.waitForPosition('hook', last, { timeoutMs: 10_000 });
    expect(Object.fromEntries(attempts)).toEqual({
      'order-500': 2,
      'order-408': 2,
      'order-429': 2,
      'order-slow': 2,
      'order-drop': 2,
      'order-404': 1,
    });
    const [first429, second429] = times.get('order-429')!;
    expect(second429! - first429!).toBeGreaterThanOrEqual(950);
    const { items } = await runner.listParked({ reactor: 'hook' });
    expect(items).toHaveLength(1);
    expect(items[0]!.streamName).toBe('order-404');
    expect(items[0]!.error.code).toBe('WEBHOOK_FAILED');
    expect(items[0]!.reason).toMatch(/answered 404: no such hook/);
    const log = await runner.invocations({ reactor: 'hook', limit: 100 });
    const slowFailure = log.find((entry) => entry.streamName === 'order-slow' && entry.outcome === 'retrying');
    expect(slowFailure?.error?.message).toMatch(/timed out/);
  });

  it('keeps connections alive and opens at most `concurrency` of them', async () => {
    const sink = await sinkWith((_request, response) => void response.writeHead(200).end());
    const store = new InMemoryEventStore();
    const runner = await run(store, hook(sink.url, { concurrency: 4, ordering: 'unordered' }));
    const last = await appendEach(store, Array.from({ length: 200 }, (_, index) => ({ streamName: `order-${index}`, type: 'T' })));
    await runner.waitForPosition('hook', last, { timeoutMs: 10_000 });
    expect(sink.connections).toBeGreaterThanOrEqual(1);
    expect(sink.connections).toBeLessThanOrEqual(4);
  });

  it('checks its configuration', () => {
    expect(() => hook('ftp://127.0.0.1/x')).toThrow(InvalidReactorError);
    expect(() => hook('not a url')).toThrow(InvalidReactorError);
    expect(() => hook('http://127.0.0.1/x', { secret: 'short' })).toThrow(/secret/);
    expect(() => hook('http://127.0.0.1/x', { timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => hook('http://127.0.0.1/x', { headers: { 'bad header': 'x' } })).toThrow(/header/);
    expect(() => hook('http://127.0.0.1/x', { headers: { ok: 'a\r\nb' } })).toThrow(/header/);
    expect(() => createHttpFunction(() => undefined, { secret: 'short' })).toThrow(InvalidSignatureError);
    expect(() => verifySignature(SECRET, 't=1,v1=zz', '{}', { now: () => 1_000 })).toThrow(/does not match/);
    expect(() => verifySignature(SECRET, 'v1=ab', '{}')).toThrow(InvalidSignatureError);
  });

  it('retries a target that refuses connections, then parks with the reason', async () => {
    const sink = await sinkWith((_request, response) => void response.end());
    const url = sink.url;
    await sink.close();
    const store = new InMemoryEventStore();
    const runner = await run(store, hook(url, { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } }));
    const last = await appendEach(store, [{ streamName: 'order-1', type: 'T' }]);
    await runner.waitForPosition('hook', last);
    const { items } = await runner.listParked();
    expect(items[0]!.attempts).toBe(2);
    expect(items[0]!.reason).toMatch(/ECONNREFUSED/);
    await until(async () => (await runner.invocations()).length === 2, 'both attempts to be logged');
  });
});
