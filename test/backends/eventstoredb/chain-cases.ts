import { randomUUID } from 'node:crypto';
import type { EventStoreDBClient, RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import { MAX_APPEND_ATTEMPTS } from '../../../src/backends/eventstoredb/eventstoredb-append';
import { EventStoreDbEventStore } from '../../../src/backends/eventstoredb/eventstoredb-event-store';
import { CHAIN_METADATA_KEY } from '../../../src/backends/eventstoredb/eventstoredb-mapping';
import {
  DuplicateEventIdError,
  InvalidEventError,
  TamperedStreamError,
  WrongExpectedRevisionError,
  readStreamForFold,
  verifyStore,
  type EventData,
  type RecordedEvent,
} from '../../../src/event-store';
import { GENESIS_HASH, eventHash } from '../../../src/event-store/hash-chain';

/**
 * The hash-chain cases every EventStoreDB the adapter can meet must pass: the in-process mock
 * (eventstoredb-chain.unit.test.ts, because no server can run on this machine) and a real server
 * (event-store.int.test.ts, when `EVENTSTORE_URL` is set). `raw` is a client that writes and reads around
 * the kit, as another tool would; a real server's stored events cannot be edited through it, so changes
 * to stored bytes are tested on the mock only.
 */
export interface ChainCaseTarget {
  readonly store: EventStoreDbEventStore;
  readonly raw: EventStoreDBClient;
}

export const event = (type: string, data: EventData['data'], metadata?: EventData['metadata']): EventData => ({
  id: randomUUID(),
  type,
  data,
  ...(metadata ? { metadata } : {}),
});

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export async function rawRecords(raw: EventStoreDBClient, streamName: string): Promise<EsdbRecordedEvent[]> {
  const records: EsdbRecordedEvent[] = [];
  for await (const resolved of raw.readStream(streamName)) if (resolved.event) records.push(resolved.event);
  return records;
}

/** The chain record an event carries in its stored metadata. */
export function chainRecordOf(record: EsdbRecordedEvent): { v: number; hash: string; previous: string } {
  return (record.metadata as Record<string, { v: number; hash: string; previous: string }>)[CHAIN_METADATA_KEY]!;
}

/** What `readStream` throws, or undefined when it reads the whole stream. */
export async function readFailure(store: EventStoreDbEventStore, streamName: string, direction: 'forwards' | 'backwards' = 'forwards'): Promise<unknown> {
  try {
    await collect(store.readStream(streamName, { direction }));
    return undefined;
  } catch (error) {
    return error;
  }
}

export function runEsdbChainCases(open: () => Promise<ChainCaseTarget>, close: (target: ChainCaseTarget) => Promise<void>): void {
  let target: ChainCaseTarget;
  let prefix: string;
  const stream = (name: string) => `${prefix}${name}`;
  beforeEach(async () => {
    target = await open();
    prefix = `chain${randomUUID().replaceAll('-', '')}-`;
  });
  afterEach(() => close(target));

  it('writes each event with its hash, chained to the one before, computed as on every other backend', async () => {
    const { store, raw } = target;
    const name = stream('order-1');
    const placed = event('OrderPlaced', { total: 12.5, items: ['a', 'b'] }, { userId: 'alice', correlationId: 'c-1' });
    await store.appendToStream(name, [placed], { expectedRevision: 'no_stream' });
    await store.appendToStream(name, [event('OrderPaid', { by: 'card' }), event('OrderShipped', { carrier: 'dhl' })], { expectedRevision: 0n });
    await store.appendToStream(name, [event('OrderClosed', {})]);
    const records = await rawRecords(raw, name);
    expect(records).toHaveLength(4);
    let previous = GENESIS_HASH;
    for (const record of records) {
      const chain = chainRecordOf(record);
      const { [CHAIN_METADATA_KEY]: _chain, ...metadata } = record.metadata as Record<string, unknown>;
      const expected = eventHash(previous, {
        streamName: name,
        revision: record.revision,
        id: record.id,
        type: record.type,
        data: JSON.stringify(record.data),
        metadata: JSON.stringify(metadata),
      });
      expect(chain).toEqual({ v: 1, hash: expected.toString('hex'), previous: previous.toString('hex') });
      previous = expected;
    }
    // The hash covers the caller's metadata exactly as it was given.
    const { [CHAIN_METADATA_KEY]: _chain, ...first } = records[0]!.metadata as Record<string, unknown>;
    expect(JSON.stringify(first)).toBe(JSON.stringify(placed.metadata));
  });

  it('keeps the chain record out of every read: the caller sees its own metadata only', async () => {
    const { store } = target;
    const name = stream('cart-1');
    await store.appendToStream(name, [event('ItemAdded', { sku: 'a' }, { userId: 'bob' }), event('ItemAdded', { sku: 'b' })]);
    const read = await collect(store.readStream(name));
    expect(read.map((recorded) => recorded.metadata)).toEqual([{ userId: 'bob' }, {}]);
    const backwards = await collect(store.readStream(name, { direction: 'backwards' }));
    expect(backwards.map((recorded) => recorded.metadata)).toEqual([{}, { userId: 'bob' }]);
    // Unfiltered (the mock plays no subscriptions, which filtered reads of $all use): the newest events of $all.
    const recent = await collect(store.readAll({ direction: 'backwards', maxCount: 100 }));
    const fromAll = recent.filter((recorded) => recorded.streamName === name).reverse().map((recorded) => recorded.metadata);
    expect(fromAll).toEqual([{ userId: 'bob' }, {}]);
    const pages = await collect(readStreamForFold(store, name, { metadataKeys: [CHAIN_METADATA_KEY, 'userId'] }));
    expect(pages[0]!.events.map((folded) => folded.metadata)).toEqual([{ userId: 'bob' }, {}]);
    expect(Object.keys(pages[0]!.last.metadata)).not.toContain(CHAIN_METADATA_KEY);
  });

  it('refuses caller metadata that uses the reserved key, with a typed error, and writes nothing', async () => {
    const { store } = target;
    const name = stream('forged-1');
    const forged = event('OrderPlaced', {}, { [CHAIN_METADATA_KEY]: { v: 1, hash: '00', previous: '00' } });
    const failure = await store.appendToStream(name, [event('OrderPlaced', {}), forged]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidEventError);
    expect(failure).toMatchObject({ index: 1, field: `metadata.${CHAIN_METADATA_KEY}` });
    expect(await collect(store.readStream(name))).toEqual([]);
  });

  it('finds an event written around the kit after chained ones, on read and in verify, naming stream and revision', async () => {
    const { store, raw } = target;
    const name = stream('order-2');
    await store.appendToStream(name, [event('OrderPlaced', { total: 3 }), event('OrderPaid', {})]);
    await raw.appendToStream(name, { id: randomUUID(), type: 'OrderRefunded', contentType: 'application/json', data: { total: 3 }, metadata: {} }, { expectedRevision: 1n });
    const failure = await readFailure(store, name);
    expect(failure).toBeInstanceOf(TamperedStreamError);
    expect(failure).toMatchObject({ streamName: name, revision: 2n, code: 'TAMPERED_STREAM' });
    const report = await verifyStore(store, { streams: [name] });
    expect(report.ok).toBe(false);
    expect(report.breaks).toEqual([expect.objectContaining({ kind: 'event-unhashed', streamName: name, revision: 2n })]);
  });

  it('finds an event written around the kit with a copied chain record (a replayed hash)', async () => {
    const { store, raw } = target;
    const name = stream('order-3');
    await store.appendToStream(name, [event('OrderPlaced', { total: 7 })]);
    const [first] = await rawRecords(raw, name);
    await raw.appendToStream(
      name,
      { id: randomUUID(), type: 'OrderPlaced', contentType: 'application/json', data: { total: 7000 }, metadata: { [CHAIN_METADATA_KEY]: chainRecordOf(first!) } },
      { expectedRevision: 0n },
    );
    expect(await readFailure(store, name)).toMatchObject({ streamName: name, revision: 1n });
    const report = await verifyStore(store, { streams: [name] });
    expect(report.breaks.map((found) => [found.kind, found.revision])).toContainEqual(['event-altered', 1n]);
  });

  it('reads events written before the chain existed as unchained, not tampered, and chains the stream from its first hashed event on', async () => {
    const { store, raw } = target;
    const name = stream('legacy-1');
    await raw.appendToStream(name, [
      { id: randomUUID(), type: 'OrderPlaced', contentType: 'application/json', data: { total: 1 }, metadata: { userId: 'old' } },
      { id: randomUUID(), type: 'OrderPaid', contentType: 'application/json', data: {}, metadata: {} },
    ]);
    await store.appendToStream(name, [event('OrderShipped', {}), event('OrderClosed', {})]);
    const read = await collect(store.readStream(name));
    expect(read.map((recorded) => [recorded.revision, recorded.type])).toEqual([[0n, 'OrderPlaced'], [1n, 'OrderPaid'], [2n, 'OrderShipped'], [3n, 'OrderClosed']]);
    expect(await readFailure(store, name, 'backwards')).toBeUndefined();
    const records = await rawRecords(raw, name);
    expect(chainRecordOf(records[2]!).previous).toBe(GENESIS_HASH.toString('hex'));
    const report = await verifyStore(store, { streams: [name] });
    expect(report).toMatchObject({ ok: true, eventsChecked: 4, unchainedEvents: 2 });
    expect(report.notProven).toEqual(expect.arrayContaining([expect.stringMatching(/^2 event\(s\) carry no hash/)]));
  });

  it('answers a retried any-append with the original result, and refuses a different decision under the same ids', async () => {
    const { store } = target;
    const name = stream('retry-1');
    const appended = [event('ItemAdded', { sku: 'a' }), event('ItemAdded', { sku: 'b' })];
    const first = await store.appendToStream(name, appended);
    const again = await store.appendToStream(name, appended);
    expect(again.revision).toBe(first.revision);
    expect(again.position.equals(first.position)).toBe(true);
    expect(await collect(store.readStream(name))).toHaveLength(2);
    const changed = appended.map((original) => ({ ...original, data: { sku: 'z' } }));
    await expect(store.appendToStream(name, changed)).rejects.toBeInstanceOf(DuplicateEventIdError);
    // The exact-revision path keeps ESDB's own idempotency.
    const next = [event('ItemRemoved', { sku: 'a' })];
    const exact = await store.appendToStream(name, next, { expectedRevision: 1n });
    expect((await store.appendToStream(name, next, { expectedRevision: 1n })).revision).toBe(exact.revision);
    expect(await collect(store.readStream(name))).toHaveLength(3);
    expect((await verifyStore(store, { streams: [name] })).ok).toBe(true);
  });

  it('recognises a retried any-append behind later appends of other writers, and a no_stream retry at revision 0', async () => {
    const { store } = target;
    const name = stream('retry-2');
    const appended = [event('ItemAdded', { sku: 'a' }), event('ItemAdded', { sku: 'b' })];
    const first = await store.appendToStream(name, appended, { expectedRevision: 'no_stream' });
    await store.appendToStream(name, [event('ItemAdded', { sku: 'c' })]);
    await store.appendToStream(name, [event('ItemAdded', { sku: 'd' })]);
    expect((await store.appendToStream(name, appended)).revision).toBe(first.revision);
    expect((await store.appendToStream(name, appended, { expectedRevision: 'no_stream' })).revision).toBe(first.revision);
    await expect(store.appendToStream(name, [appended[1]!, event('ItemAdded', { sku: 'e' })])).rejects.toBeInstanceOf(DuplicateEventIdError);
    expect(await collect(store.readStream(name))).toHaveLength(4);
  });

  it('settles a retry that races its original: the events are written once and both get the same result', async () => {
    const { store } = target;
    const name = stream('race-1');
    await store.appendToStream(name, [event('CartOpened', {})]);
    const appended = [event('ItemAdded', { sku: 'a' })];
    const results = await Promise.all([store.appendToStream(name, appended), store.appendToStream(name, appended)]);
    expect(results[0].revision).toBe(1n);
    expect(results[1].revision).toBe(1n);
    expect((await collect(store.readStream(name))).map((recorded) => recorded.id)).toEqual([expect.any(String), appended[0]!.id]);
  });

  it(`chains concurrent any-appends to one stream correctly: each re-reads the head and retries (at most ${MAX_APPEND_ATTEMPTS} times)`, async () => {
    const { store } = target;
    const name = stream('busy-1');
    const writers = 6;
    const results = await Promise.all(Array.from({ length: writers }, (_, index) => store.appendToStream(name, [event('Ticked', { index })])));
    expect(results.map((result) => result.revision).sort()).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    const read: RecordedEvent[] = await collect(store.readStream(name));
    expect(read.map((recorded) => (recorded.data as { index: number }).index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await verifyStore(store, { streams: [name] })).toMatchObject({ ok: true, eventsChecked: writers, unchainedEvents: 0 });
  });

  it('keeps no_stream and stream_exists as conflicts, with the typed error', async () => {
    const { store } = target;
    const name = stream('exists-1');
    await expect(store.appendToStream(name, [event('A', {})], { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await store.appendToStream(name, [event('A', {})], { expectedRevision: 'no_stream' });
    await expect(store.appendToStream(name, [event('B', {})], { expectedRevision: 'no_stream' })).rejects.toMatchObject({ actual: 0n });
    expect((await store.appendToStream(name, [event('B', {})], { expectedRevision: 'stream_exists' })).revision).toBe(1n);
    await expect(store.appendToStream(name, [event('C', {})], { expectedRevision: 0n })).rejects.toMatchObject({ actual: 1n });
  });

  it('chains a stream recreated after a soft delete, whose revisions keep counting', async () => {
    const { store } = target;
    const name = stream('deleted-1');
    await store.appendToStream(name, [event('A', {}), event('B', {})]);
    await store.deleteStream(name);
    await expect(store.appendToStream(name, [event('X', {})], { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    const recreated = await store.appendToStream(name, [event('C', {}), event('D', {})], { expectedRevision: 'no_stream' });
    expect(recreated.revision).toBe(3n);
    expect((await collect(store.readStream(name))).map((recorded) => [recorded.revision, recorded.type])).toEqual([[2n, 'C'], [3n, 'D']]);
    await store.appendToStream(name, [event('E', {})]);
    expect(await verifyStore(store, { streams: [name] })).toMatchObject({ ok: true, eventsChecked: 3 });
  });

  it('reads and verifies a stream whose start its own settings hide (truncateBefore, maxCount), without a false alarm', async () => {
    const { store } = target;
    const truncated = stream('truncated-1');
    const capped = stream('capped-1');
    await store.appendToStream(truncated, [event('A', {}), event('B', {}), event('C', {})]);
    await store.appendToStream(capped, [event('A', {}), event('B', {}), event('C', {})]);
    await store.setStreamMetadata(truncated, { truncateBefore: 1n });
    await store.setStreamMetadata(capped, { maxCount: 1 });
    expect((await collect(store.readStream(truncated))).map((recorded) => recorded.revision)).toEqual([1n, 2n]);
    expect((await collect(store.readStream(capped))).map((recorded) => recorded.revision)).toEqual([2n]);
    expect(await verifyStore(store, { streams: [truncated, capped] })).toMatchObject({ ok: true, eventsChecked: 3 });
  });

  it('says in the report what it cannot prove on EventStoreDB', async () => {
    const { store } = target;
    const name = stream('report-1');
    await store.appendToStream(name, [event('A', {})]);
    const report = await verifyStore(store, { streams: [name] });
    expect(report.ok).toBe(true);
    expect(report.notProven).toEqual(expect.arrayContaining([expect.stringMatching(/no \$all chain: a whole stream deleted, the log truncated/)]));
    await expect(verifyStore(store, { expectHead: { batch: 1n, hash: '0'.repeat(64) } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
}
