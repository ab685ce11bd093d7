import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '../../src/event-store/event-store';
import { Position } from '../../src/event-store/position';
import {
  defineReactor,
  InvalidDeliveryError,
  InvalidReactorError,
  InvalidSignatureError,
  parseDelivery,
  partitionOf,
  reactorCommandId,
  signDelivery,
  verifySignature,
  type ReactorDefinition,
} from '../../src/handlers';
import { toDeliveryPayload } from '../../src/handlers/delivery-payload';
import { matchesFilter, resolveReactor } from '../../src/handlers/reactor';
import { parseRetryAfter } from '../../src/handlers/webhook-reactor';

const handle = (): Promise<void> => Promise.resolve();
const valid: ReactorDefinition = { name: 'notify', filter: { eventTypes: ['OrderPlaced'] }, handle };

describe('defineReactor', () => {
  it('applies the defaults', () => {
    expect(resolveReactor(defineReactor(valid))).toMatchObject({
      kind: 'function',
      ordering: 'per-stream',
      concurrency: 32,
      whenStreamBlocked: 'wait',
      retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 30_000, maxAgeMs: 3_600_000 },
    });
    expect(resolveReactor(defineReactor({ ...valid, retry: { maxAttempts: 2 } })).retry).toMatchObject({ maxAttempts: 2, initialDelayMs: 100 });
  });

  it.each([
    ['an empty name', { name: '' }, /name/],
    ['a name with spaces', { name: 'a b' }, /name/],
    ['no handler', { handle: undefined }, /handle/],
    ['no filter', { filter: undefined }, /filter/],
    ['an empty filter', { filter: {} }, /eventTypes and\/or streamPrefixes/],
    ['an empty type list', { filter: { eventTypes: [] } }, /eventTypes/],
    ['an empty prefix', { filter: { streamPrefixes: [''] } }, /streamPrefixes/],
    ['an unknown ordering', { ordering: 'random' }, /ordering/],
    ['no concurrency', { concurrency: 0 }, /concurrency/],
    ['a fractional attempt count', { retry: { maxAttempts: 1.5 } }, /maxAttempts/],
    ['a negative delay', { retry: { initialDelayMs: -1 } }, /initialDelayMs/],
    ['a maximum delay below the first', { retry: { initialDelayMs: 500, maxDelayMs: 100 } }, /maxDelayMs/],
    ['an unknown blocking mode', { whenStreamBlocked: 'skip' }, /whenStreamBlocked/],
  ])('rejects %s', (_what, change, message) => {
    expect(() => defineReactor({ ...valid, ...change } as unknown as ReactorDefinition)).toThrow(InvalidReactorError);
    expect(() => defineReactor({ ...valid, ...change } as unknown as ReactorDefinition)).toThrow(message);
  });

  it('matches events by type and stream prefix (both when both are given)', () => {
    const event = { type: 'OrderPlaced', streamName: 'order-1' };
    expect(matchesFilter({ eventTypes: ['OrderPlaced'] }, event)).toBe(true);
    expect(matchesFilter({ streamPrefixes: ['cart-', 'order-'] }, event)).toBe(true);
    expect(matchesFilter({ eventTypes: ['OrderPlaced'], streamPrefixes: ['cart-'] }, event)).toBe(false);
    expect(matchesFilter({ eventTypes: ['OrderShipped'] }, event)).toBe(false);
  });
});

describe('partitions and command ids', () => {
  it('puts a stream in the same partition every time, spread over all of them', () => {
    const counts = new Array<number>(8).fill(0);
    for (let index = 0; index < 8_000; index++) {
      const partition = partitionOf(`order-${index}`, 8);
      expect(partitionOf(`order-${index}`, 8)).toBe(partition);
      counts[partition]!++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
    // Fixed forever: stored checkpoints and leases depend on it.
    expect([partitionOf('order-42', 16), partitionOf('cart-7', 16), partitionOf('', 16)]).toEqual([4, 3, 0x811c9dc5 % 16]);
  });

  it('derives a command id from reactor, event and key', () => {
    const eventId = randomUUID();
    const id = reactorCommandId('ship', eventId, 'order-1:Ship');
    expect(reactorCommandId('ship', eventId, 'order-1:Ship')).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(reactorCommandId('bill', eventId, 'order-1:Ship')).not.toBe(id);
    expect(reactorCommandId('ship', eventId, 'order-2:Ship')).not.toBe(id);
    expect(reactorCommandId('ship', randomUUID(), 'order-1:Ship')).not.toBe(id);
  });
});

describe('signed deliveries', () => {
  const secret = 'a-long-enough-webhook-secret';
  const event: RecordedEvent = {
    id: randomUUID(),
    type: 'OrderPlaced',
    streamName: 'order-1',
    revision: 12345678901234567n,
    position: Position.of(5n, 7n),
    data: { total: 12.5, lines: [{ sku: 'tea' }] },
    metadata: { correlationId: 'c-1' },
    recordedAt: new Date('2026-03-01T10:00:00.000Z'),
  };

  it('round-trips an event through the payload, bigints and positions included', () => {
    const body = JSON.stringify(toDeliveryPayload('notify', event, { attempt: 2, maxAttempts: 5 }));
    expect(parseDelivery(body)).toEqual({ reactor: 'notify', event, delivery: { attempt: 2, maxAttempts: 5 } });
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no event', '{"reactor":"r","delivery":{"attempt":1,"maxAttempts":1}}', /event must be an object/],
    ['a bad revision', () => JSON.stringify({ ...toDeliveryPayload('r', event, { attempt: 1, maxAttempts: 1 }), event: { ...toDeliveryPayload('r', event, { attempt: 1, maxAttempts: 1 }).event, revision: '-1' } }), /event.revision/],
    ['a bad attempt', () => JSON.stringify({ ...toDeliveryPayload('r', event, { attempt: 1, maxAttempts: 1 }), delivery: { attempt: 0, maxAttempts: 1 } }), /delivery.attempt/],
    ['a key that is not the event id', () => JSON.stringify({ ...toDeliveryPayload('r', event, { attempt: 1, maxAttempts: 1 }), idempotencyKey: 'other' }), /idempotencyKey/],
  ])('refuses a delivery with %s', (_what, body, message) => {
    const text = typeof body === 'function' ? body() : body;
    expect(() => parseDelivery(text)).toThrow(InvalidDeliveryError);
    expect(() => parseDelivery(text)).toThrow(message);
  });

  it('verifies the HMAC over timestamp and body, in a replay window, with rotating secrets', () => {
    const body = '{"a":1}';
    const now = 1_800_000_000_000;
    const header = signDelivery(secret, body, now / 1000);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(() => verifySignature(secret, header, body, { now: () => now })).not.toThrow();
    expect(() => verifySignature(['old-secret-0123456789', secret], header, body, { now: () => now })).not.toThrow();
    expect(() => verifySignature(secret, header, '{"a":2}', { now: () => now })).toThrow(/does not match/);
    expect(() => verifySignature(secret, header, body, { now: () => now + 301_000 })).toThrow(/outside the 300 s window/);
    expect(() => verifySignature(secret, header, body, { now: () => now - 301_000 })).toThrow(InvalidSignatureError);
    expect(() => verifySignature(secret, header, body, { now: () => now + 500_000, toleranceSeconds: 600 })).not.toThrow();
    // The timestamp is signed: moving it breaks the signature.
    expect(() => verifySignature(secret, header.replace('t=1800000000', 't=1800000001'), body, { now: () => now })).toThrow(/does not match/);
    expect(() => verifySignature(secret, undefined, body)).toThrow(/missing/);
    expect(() => verifySignature(secret, 'garbage', body)).toThrow(/malformed/);
    expect(() => verifySignature([], header, body, { now: () => now })).toThrow(/no secret/);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-03-01T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 10:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
