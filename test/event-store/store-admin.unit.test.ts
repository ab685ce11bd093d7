import { randomUUID } from 'node:crypto';
import { DEFAULT_LIMITS, ImportConflictError, InMemoryEventStore, InvalidEventError, InvalidStreamNameError, storeAdminOf } from '../../src';
import { planImport, prepareImport, type ImportedEvent } from '../../src/event-store/store-admin';

const checkpoint = { source: 'sqlite:/tmp/source.db', position: '1', count: 1 };
const event = (streamName: string, revision: bigint, id = randomUUID()): ImportedEvent => ({
  id,
  type: 'Happened',
  streamName,
  revision,
  data: { revision: Number(revision) },
  metadata: { correlationId: 'c-1' },
  recordedAt: new Date('2026-03-01T10:00:00.123Z'),
});

describe('importing recorded events', () => {
  it('writes what continues each stream and skips what the target already holds at the same place', () => {
    const held = event('a-1', 0n);
    const batch = prepareImport([held, event('a-1', 1n), event('b-1', 0n), event('a-1', 2n)], DEFAULT_LIMITS, checkpoint);
    const writes = planImport(batch, new Map([['a-1', 0n], ['b-1', -1n]]), new Map([[held.id, { streamName: 'a-1', revision: 0n }]]));
    expect(writes.map((write) => `${write.streamName}@${write.revision}`)).toEqual(['a-1@1', 'b-1@0', 'a-1@2']);
    expect(writes[0]).toMatchObject({ data: '{"revision":1}', metadata: '{"correlationId":"c-1"}', correlationId: 'c-1' });
    expect(writes[0]!.recordedAt.toISOString()).toBe('2026-03-01T10:00:00.123Z');
  });

  it('refuses another event at a revision, an id held elsewhere, and a gap', () => {
    const [first] = prepareImport([event('a-1', 0n)], DEFAULT_LIMITS, checkpoint);
    expect(() => planImport([first!], new Map([['a-1', 0n]]), new Map())).toThrow(ImportConflictError);
    expect(() => planImport([first!], new Map(), new Map([[first!.id, { streamName: 'z-9', revision: 4n }]]))).toThrow(/already in the target as z-9@4/);
    const [late] = prepareImport([event('a-1', 3n)], DEFAULT_LIMITS, checkpoint);
    expect(() => planImport([late!], new Map([['a-1', 1n]]), new Map())).toThrow(/is at revision 1; .* at revision 3 would leave a gap/);
  });

  it('checks every event before anything is written: stream name, revision, time, payload', () => {
    expect(() => prepareImport([{ ...event('a-1', 0n), streamName: '$all' }], DEFAULT_LIMITS, checkpoint)).toThrow(InvalidStreamNameError);
    expect(() => prepareImport([{ ...event('a-1', 0n), revision: -1n }], DEFAULT_LIMITS, checkpoint)).toThrow(InvalidEventError);
    expect(() => prepareImport([{ ...event('a-1', 0n), recordedAt: new Date(Number.NaN) }], DEFAULT_LIMITS, checkpoint)).toThrow(/recordedAt/);
    expect(() => prepareImport([{ ...event('a-1', 0n), id: 'not-a-uuid' }], DEFAULT_LIMITS, checkpoint)).toThrow(/must be a UUID/);
    expect(() => prepareImport([event('a-1', 0n)], DEFAULT_LIMITS, { ...checkpoint, count: -1 })).toThrow(/checkpoint/);
  });
});

describe('the in-memory store as a StoreAdmin', () => {
  it('lists streams by prefix in name order, a page at a time, and counts what it holds', async () => {
    const store = new InMemoryEventStore();
    for (const name of ['order-2', 'order-1', 'cart-1', 'order-1']) await store.appendToStream(name, [{ id: randomUUID(), type: 'Happened', data: {} }]);
    const admin = storeAdminOf(store)!;
    expect(await admin.listStreams({ prefix: 'order-', limit: 1 })).toEqual([{ streamName: 'order-1', revision: 1n }]);
    expect(await admin.listStreams({ prefix: 'order-', after: 'order-1' })).toEqual([{ streamName: 'order-2', revision: 0n }]);
    const stats = await admin.statistics();
    expect(stats).toMatchObject({ streams: 3, events: 4, bytes: undefined });
    expect(stats.oldest!.getTime()).toBeLessThanOrEqual(stats.newest!.getTime());
    await expect(admin.listStreams({ limit: 0 })).rejects.toThrow(/limit must be from 1/);
  });
});
