import { randomUUID } from 'node:crypto';
import {
  BatchTooLargeError,
  DuplicateEventIdError,
  InvalidArgumentError,
  InvalidEventError,
  InvalidPositionError,
  InvalidStreamNameError,
  Position,
  StoreClosedError,
  WrongExpectedRevisionError,
  type EventData,
  type EventStore,
  type ExpectedRevision,
  type RecordedEvent,
  type StreamFoldPage,
} from '../../src/event-store';
import { runStreamLifecycleTests } from './stream-lifecycle.conformance';
import { SubscriptionReader, seededRandom } from './subscription-helpers';

export interface ConformanceOptions {
  /** Seeds for the gap torture test; more seeds, more confidence. */
  readonly tortureSeeds?: readonly number[];
}

const event = (type = 'Happened', data: EventData['data'] = {}, metadata?: EventData['metadata']): EventData => ({
  id: randomUUID(),
  type,
  data,
  ...(metadata ? { metadata } : {}),
});

const events = (count: number, type = 'Happened'): EventData[] =>
  Array.from({ length: count }, (_, index) => event(type, { index }));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/**
 * The one suite every event-store backend passes. A backend's test file is one call with a factory that
 * opens a fresh, empty store; tests isolate themselves by stream-name prefixes, so one store serves
 * the whole suite.
 */
export function runConformanceSuite(
  backendName: string,
  factory: () => Promise<EventStore>,
  options: ConformanceOptions = {},
): void {
  describe(`${backendName} event store conformance`, () => {
    let store: EventStore;
    let prefix: string;
    const stream = (name: string): string => `${prefix}${name}`;
    const readStream = (name: string, ...rest: Parameters<EventStore['readStream']> extends [string, ...infer R] ? R : never) =>
      collect(store.readStream(name, ...rest));
    const readOwnAll = (extra: Parameters<EventStore['readAll']>[0] = {}) =>
      collect(store.readAll({ ...extra, filter: { streamPrefixes: [prefix], ...extra.filter } }));

    beforeAll(async () => {
      store = await factory();
    });
    afterAll(async () => {
      await store.close();
    });
    beforeEach(() => {
      prefix = `t${randomUUID().slice(0, 8)}_`;
    });

    describe('append and read', () => {
      it('numbers a stream from revision 0 and reads it back in order', async () => {
        const appended = events(3);
        const result = await store.appendToStream(stream('order-1'), appended, { expectedRevision: 'no_stream' });
        expect(result.revision).toBe(2n);
        const read = await readStream(stream('order-1'));
        expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
        expect(read.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        expect(read.map((e) => e.data)).toEqual([{ index: 0 }, { index: 1 }, { index: 2 }]);
        expect(read.every((e) => e.streamName === stream('order-1') && e.type === 'Happened')).toBe(true);
        expect(read[2]!.position.equals(result.position)).toBe(true);
      });

      it('keeps $all in append order across streams, with strictly increasing positions', async () => {
        const order: Array<[string, number]> = [];
        for (let i = 0; i < 12; i++) {
          const name = stream(`s-${i % 3}`);
          await store.appendToStream(name, [event('Numbered', { i })]);
          order.push([name, i]);
        }
        const all = await readOwnAll();
        expect(all.map((e) => [e.streamName, (e.data as { i: number }).i])).toEqual(order);
        for (let i = 1; i < all.length; i++) expect(all[i]!.position.isAfter(all[i - 1]!.position)).toBe(true);
        const perStream = all.filter((e) => e.streamName === stream('s-1')).map((e) => e.revision);
        expect(perStream).toEqual([0n, 1n, 2n, 3n]);
      });

      it('stamps the recorded time and keeps metadata as given', async () => {
        const before = Date.now();
        const metadata = { correlationId: 'c-1', causationId: 'x-1', userId: 'u-1', time: '2026-01-01T00:00:00.000Z', custom: { deep: [1, 'two'] } };
        await store.appendToStream(stream('m'), [event('WithMetadata', { a: 1 }, metadata)]);
        const [read] = await readStream(stream('m'));
        expect(read!.metadata).toEqual(metadata);
        expect(read!.recordedAt).toBeInstanceOf(Date);
        expect(read!.recordedAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
        expect(read!.recordedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
      });

      it('round-trips Unicode payloads, type and stream names exactly', async () => {
        const data = {
          emoji: '🍕🚚💨 👩🏽‍🍳',
          cjk: '注文が届きました',
          rtl: 'طلب جديد',
          combining: 'e\u0301 n\u0303',
          nul: 'a\u0000b',
          separators: 'line\u2028para\u2029',
          lone: '\ud800',
          keys: { 'ключ': 'значение', '': 'empty key' },
          numbers: [0, -0.5, 1e21, 123456789.123],
        };
        const name = stream('заказ-🍕');
        await store.appendToStream(name, [{ id: randomUUID(), type: 'ЗаказСоздан✓', data }]);
        const [read] = await readStream(name);
        expect(read!.data).toEqual(data);
        expect(read!.type).toBe('ЗаказСоздан✓');
        expect(read!.streamName).toBe(name);
        const [fromAll] = await readOwnAll({ filter: { eventTypes: ['ЗаказСоздан✓'] } });
        expect(fromAll!.data).toEqual(data);
      });

      it('appends 10,000 events in one atomic append', async () => {
        const many = events(10_000);
        const result = await store.appendToStream(stream('big'), many, { expectedRevision: 'no_stream' });
        expect(result.revision).toBe(9_999n);
        const read = await readStream(stream('big'));
        expect(read).toHaveLength(10_000);
        expect(read[9_999]!.revision).toBe(9_999n);
        expect(read.every((e, i) => e.id === many[i]!.id && e.revision === BigInt(i))).toBe(true);
        expect(read[9_999]!.position.equals(result.position)).toBe(true);
      }, 60_000);

      it('reads a stream from a revision, backwards, and up to a count', async () => {
        await store.appendToStream(stream('r'), events(10));
        const revisions = async (options: Parameters<EventStore['readStream']>[1]) =>
          (await readStream(stream('r'), options)).map((e) => Number(e.revision));
        expect(await revisions({ fromRevision: 7n })).toEqual([7, 8, 9]);
        expect(await revisions({ maxCount: 2 })).toEqual([0, 1]);
        expect(await revisions({ direction: 'backwards', maxCount: 3 })).toEqual([9, 8, 7]);
        expect(await revisions({ direction: 'backwards', fromRevision: 2n })).toEqual([2, 1, 0]);
        expect(await revisions({ fromRevision: 20n })).toEqual([]);
        expect(await readStream(stream('never-written'))).toEqual([]);
      });

      it('reads $all after a position, backwards, with maxCount, and filtered by prefix and type', async () => {
        await store.appendToStream(stream('a-1'), [event('Created'), event('Updated')]);
        await store.appendToStream(stream('b-1'), [event('Created')]);
        await store.appendToStream(stream('a-2'), [event('Created'), event('Deleted')]);
        const all = await readOwnAll();
        expect(all).toHaveLength(5);
        const afterSecond = await readOwnAll({ fromPosition: all[1]!.position });
        expect(afterSecond.map((e) => e.id)).toEqual(all.slice(2).map((e) => e.id));
        const backwards = await readOwnAll({ direction: 'backwards', maxCount: 2 });
        expect(backwards.map((e) => e.id)).toEqual([all[4]!.id, all[3]!.id]);
        const backwardsBefore = await readOwnAll({ direction: 'backwards', fromPosition: all[2]!.position });
        expect(backwardsBefore.map((e) => e.id)).toEqual([all[1]!.id, all[0]!.id]);
        const onlyA = await collect(store.readAll({ filter: { streamPrefixes: [stream('a-')] } }));
        expect(onlyA.map((e) => e.streamName)).toEqual([stream('a-1'), stream('a-1'), stream('a-2'), stream('a-2')]);
        const created = await readOwnAll({ filter: { eventTypes: ['Created'] } });
        expect(created).toHaveLength(3);
        const both = await collect(store.readAll({ filter: { streamPrefixes: [stream('a-')], eventTypes: ['Created', 'Deleted'] } }));
        expect(both.map((e) => e.type)).toEqual(['Created', 'Created', 'Deleted']);
        const twoPrefixes = await collect(store.readAll({ filter: { streamPrefixes: [stream('a-2'), stream('b-')] } }));
        expect(twoPrefixes).toHaveLength(3);
        expect(await readOwnAll({ fromPosition: 'end' })).toEqual([]);
        const limited = await readOwnAll({ maxCount: 3 });
        expect(limited.map((e) => e.id)).toEqual(all.slice(0, 3).map((e) => e.id));
      });

      it('finds a workflow by correlation id across streams, in order', async () => {
        const correlationId = `corr-${prefix}`;
        await store.appendToStream(stream('w-1'), [event('Started', {}, { correlationId })]);
        await store.appendToStream(stream('w-2'), [event('Other', {}, { correlationId: 'someone-else' })]);
        await store.appendToStream(stream('w-2'), [event('Continued', {}, { correlationId })]);
        await store.appendToStream(stream('w-1'), [event('Finished', {}, { correlationId })]);
        const workflow = await collect(store.readCorrelation(correlationId));
        expect(workflow.map((e) => e.type)).toEqual(['Started', 'Continued', 'Finished']);
      });
    });

    describe('reading a stream for a fold', () => {
      const keys = ['schemaVersion', 'commandId'];
      /** Metadata that takes every path of a store's key picking: flat, nested, escaped, look-alikes. */
      const trickyMetadata: EventData['metadata'][] = [
        { correlationId: 'c-1', commandId: 'cmd-1', commandType: 'Increment', time: '2026-01-01T00:00:00.000Z', schemaVersion: 2 },
        {},
        { commandId: 'outer', nested: { commandId: 'inner', schemaVersion: 9 } },
        { nested: { schemaVersion: 9, commandId: 'inner only' } },
        { list: ['commandId', 'schemaVersion'], schemaVersion: 4 },
        { note: 'say "commandId": "no"', schemaVersion: 3 },
        { commandType: 'commandId', other: 'schemaVersion' },
        { commandId: 'a,b}c:d', schemaVersion: 1.5e3 },
        { 'commandId ': 'a key with a space', schemaVersion: null },
        { list: [1, { commandId: 'in a list' }], commandId: 'ü-1', ünïcode: 'ß' },
        { commandId: '', schemaVersion: -7, flag: true },
        { 'a"commandId': 'quoted', schemaVersion: false },
      ];
      const trickyEvents = (count: number): EventData[] =>
        Array.from({ length: count }, (_, index) => event(`Type${index % 3}`, { index, text: `é${index}` }, trickyMetadata[index % trickyMetadata.length]));
      const readPages = (name: string, options?: Parameters<NonNullable<EventStore['readStreamForFold']>>[1]) =>
        collect(store.readStreamForFold!(name, options));
      const picked = (recorded: RecordedEvent) =>
        Object.fromEntries(keys.filter((key) => Object.prototype.hasOwnProperty.call(recorded.metadata, key)).map((key) => [key, recorded.metadata[key]]));
      const expectSameAsReadStream = (pages: StreamFoldPage[], full: RecordedEvent[]) => {
        expect(pages.flatMap((page) => page.events)).toEqual(full.map((e) => ({ type: e.type, data: e.data, metadata: picked(e) })));
        let next = full[0]?.revision;
        for (const page of pages) {
          expect(page.events.length).toBeGreaterThan(0);
          expect(page.fromRevision).toBe(next);
          const last = full.find((e) => e.revision === page.fromRevision + BigInt(page.events.length) - 1n)!;
          expect(page.last).toEqual(last);
          expect(page.last.position.equals(last.position)).toBe(true);
          next = page.last.revision + 1n;
        }
      };

      it('gives the events readStream gives, a page at a time, each page ending with its last event in full', async () => {
        expect(typeof store.readStreamForFold).toBe('function');
        const name = stream('fold');
        await store.appendToStream(name, trickyEvents(1_200));
        await store.appendToStream(name, trickyEvents(1_300));
        const full = await readStream(name);
        const pages = await readPages(name, { metadataKeys: keys });
        expect(pages.length).toBeGreaterThan(1);
        expect(pages.reduce((sum, page) => sum + page.events.length, 0)).toBe(2_500);
        expectSameAsReadStream(pages, full);
        expect(pages[pages.length - 1]!.last.revision).toBe(2_499n);
        expect(pages[pages.length - 1]!.last.metadata).toEqual(full[2_499]!.metadata);
      });

      it('reads from a revision; a missing stream or a revision past the end gives no pages', async () => {
        const name = stream('fold-from');
        await store.appendToStream(name, trickyEvents(25));
        const full = await readStream(name);
        expectSameAsReadStream(await readPages(name, { fromRevision: 7n, metadataKeys: keys }), full.slice(7));
        expectSameAsReadStream(await readPages(name, { fromRevision: 24n, metadataKeys: keys }), full.slice(24));
        expect(await readPages(name, { fromRevision: 25n })).toEqual([]);
        expect(await readPages(stream('fold-missing'))).toEqual([]);
        const [page] = await readPages(name, { fromRevision: 'start' });
        expect(page!.events.every((e) => Object.keys(e.metadata).length === 0)).toBe(true);
        expect(page!.events.map((e) => e.data)).toEqual(full.map((e) => e.data));
      });

      it('refuses bad arguments with typed errors', () => {
        expect(() => store.readStreamForFold!('')).toThrow(InvalidStreamNameError);
        expect(() => store.readStreamForFold!(stream('x'), { fromRevision: -1n })).toThrow(InvalidArgumentError);
        expect(() => store.readStreamForFold!(stream('x'), { fromRevision: 'end' as 'start' })).toThrow(InvalidArgumentError);
        expect(() => store.readStreamForFold!(stream('x'), { metadataKeys: [1] as unknown as string[] })).toThrow(InvalidArgumentError);
      });
    });

    describe('positions', () => {
      it('serialise to a string and parse back, keeping order', async () => {
        await store.appendToStream(stream('p'), events(3));
        const all = await readOwnAll();
        const parsed = all.map((e) => Position.parse(e.position.toString()));
        parsed.forEach((position, i) => expect(position.equals(all[i]!.position)).toBe(true));
        expect(parsed[1]!.compareTo(parsed[0]!)).toBeGreaterThan(0);
        expect([...all.map((e) => e.position.toString())].sort()).toEqual(all.map((e) => e.position.toString()));
        expect(JSON.stringify({ at: all[0]!.position })).toBe(JSON.stringify({ at: all[0]!.position.toString() }));
      });

      it.each(['', 'abc', '12', 'zz'.repeat(16), ' '.repeat(32), `${'0'.repeat(31)}G`, `${'F'.repeat(32)}`])(
        'rejects the malformed position %j with a typed error',
        (text) => {
          expect(() => Position.parse(text)).toThrow(InvalidPositionError);
        },
      );

      it('reports the head position', async () => {
        const result = await store.appendToStream(stream('h'), events(2));
        const head = await store.headPosition();
        expect(head).toBeDefined();
        expect(head!.compareTo(result.position)).toBeGreaterThanOrEqual(0);
      });
    });

    describe('expected revision', () => {
      it("'no_stream' creates a stream and refuses an existing one", async () => {
        await store.appendToStream(stream('n'), [event()], { expectedRevision: 'no_stream' });
        const error = await store.appendToStream(stream('n'), [event()], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', expected: 'no_stream', actual: 0n, streamName: stream('n') });
      });

      it("'stream_exists' refuses a missing stream and appends to an existing one", async () => {
        const error = await store.appendToStream(stream('e'), [event()], { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ expected: 'stream_exists', actual: -1n });
        expect(await readStream(stream('e'))).toEqual([]);
        await store.appendToStream(stream('e'), [event()]);
        const result = await store.appendToStream(stream('e'), [event()], { expectedRevision: 'stream_exists' });
        expect(result.revision).toBe(1n);
      });

      it('an exact revision appends when current and refuses a stale one, writing nothing', async () => {
        await store.appendToStream(stream('x'), events(2));
        const ok = await store.appendToStream(stream('x'), [event()], { expectedRevision: 1n });
        expect(ok.revision).toBe(2n);
        const stale = await store.appendToStream(stream('x'), events(3), { expectedRevision: 1n }).catch((e: unknown) => e);
        expect(stale).toBeInstanceOf(WrongExpectedRevisionError);
        expect(stale).toMatchObject({ expected: 1n, actual: 2n });
        expect(await readStream(stream('x'))).toHaveLength(3);
        const ahead = await store.appendToStream(stream('missing'), [event()], { expectedRevision: 0n }).catch((e: unknown) => e);
        expect(ahead).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', actual: -1n });
        expect(await readStream(stream('missing'))).toEqual([]);
      });

      it("'any' appends whatever the state", async () => {
        expect((await store.appendToStream(stream('y'), [event()], { expectedRevision: 'any' })).revision).toBe(0n);
        expect((await store.appendToStream(stream('y'), [event()])).revision).toBe(1n);
      });

      it('lets exactly one of many racing writers win', async () => {
        await store.appendToStream(stream('race'), [event()]);
        const attempts = await Promise.allSettled(
          Array.from({ length: 8 }, (_, writer) =>
            store.appendToStream(stream('race'), [event('Raced', { writer })], { expectedRevision: 0n }),
          ),
        );
        const won = attempts.filter((a) => a.status === 'fulfilled');
        const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(7);
        for (const loss of lost) expect(loss.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await readStream(stream('race'))).toHaveLength(2);
      });

      it('a failed append in a group of concurrent appends leaves the others whole', async () => {
        await store.appendToStream(stream('g-1'), [event()]);
        const results = await Promise.allSettled([
          store.appendToStream(stream('g-2'), events(2), { expectedRevision: 'no_stream' }),
          store.appendToStream(stream('g-1'), events(5), { expectedRevision: 'no_stream' }),
          store.appendToStream(stream('g-3'), events(3), { expectedRevision: 'no_stream' }),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(await readStream(stream('g-1'))).toHaveLength(1);
        expect(await readStream(stream('g-2'))).toHaveLength(2);
        expect(await readStream(stream('g-3'))).toHaveLength(3);
      });
    });

    describe('idempotent append', () => {
      it('returns the original result and writes nothing when the same events are appended again', async () => {
        const batch = events(3);
        const first = await store.appendToStream(stream('i'), batch, { expectedRevision: 'no_stream' });
        await store.appendToStream(stream('i'), [event()]);
        const again = await store.appendToStream(stream('i'), batch, { expectedRevision: 'no_stream' });
        expect(again.revision).toBe(first.revision);
        expect(again.position.equals(first.position)).toBe(true);
        const anyAgain = await store.appendToStream(stream('i'), batch, { expectedRevision: 'any' });
        expect(anyAgain.revision).toBe(2n);
        expect(await readStream(stream('i'))).toHaveLength(4);
      });

      it('is idempotent at an exact expected revision', async () => {
        await store.appendToStream(stream('j'), events(2));
        const batch = events(2);
        const first = await store.appendToStream(stream('j'), batch, { expectedRevision: 1n });
        const again = await store.appendToStream(stream('j'), batch, { expectedRevision: 1n });
        expect(again).toEqual(first);
        expect(await readStream(stream('j'))).toHaveLength(4);
      });

      it('treats concurrent retries of one append as one append', async () => {
        const batch = events(2);
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store.appendToStream(stream('k'), batch, { expectedRevision: 'no_stream' })),
        );
        for (const result of results) expect(result.revision).toBe(1n);
        expect(await readStream(stream('k'))).toHaveLength(2);
      });

      // Within a stream on every backend; across streams see event-id-uniqueness.int.test.ts (EventStoreDB
      // deduplicates per stream only).
      it('refuses an event id already used in the stream for other events, writing nothing', async () => {
        const used = event();
        await store.appendToStream(stream('owner'), [used]);
        const partial = await store.appendToStream(stream('owner'), [event(), used]).catch((e: unknown) => e);
        expect(partial).toBeInstanceOf(DuplicateEventIdError);
        const changed = await store.appendToStream(stream('owner'), [used, event()]).catch((e: unknown) => e);
        expect(changed).toBeInstanceOf(DuplicateEventIdError);
        expect(await readStream(stream('owner'))).toHaveLength(1);
      });

      it('refuses the same event ids carrying a different decision, writing nothing', async () => {
        const ids = [randomUUID(), randomUUID()];
        const decided = (amount: number, hash: string): EventData[] =>
          ids.map((id, index) => ({ id, type: 'Paid', data: { amount, index }, metadata: { commandHash: hash } }));
        const first = await store.appendToStream(stream('d'), decided(1, 'h1'), { expectedRevision: 'no_stream' });
        const otherData = await store
          .appendToStream(stream('d'), decided(2, 'h1'), { expectedRevision: 'no_stream' })
          .catch((e: unknown) => e);
        expect(otherData).toBeInstanceOf(DuplicateEventIdError);
        // The same events under another fingerprint are another caller's decision, not a retry.
        const otherFingerprint = await store
          .appendToStream(stream('d'), decided(1, 'h2'), { expectedRevision: 'no_stream' })
          .catch((e: unknown) => e);
        expect(otherFingerprint).toBeInstanceOf(DuplicateEventIdError);
        const otherType = await store
          .appendToStream(stream('d'), decided(1, 'h1').map((e) => ({ ...e, type: 'Refunded' })), { expectedRevision: 'any' })
          .catch((e: unknown) => e);
        expect(otherType).toBeInstanceOf(DuplicateEventIdError);
        // Key order and metadata other than the fingerprint (time, trace) do not make a retry another decision.
        const reordered = decided(1, 'h1').map((e, index) => ({
          ...e,
          data: { index, amount: 1 },
          metadata: { commandHash: 'h1', time: new Date().toISOString() },
        }));
        const retry = await store.appendToStream(stream('d'), reordered, { expectedRevision: 'no_stream' });
        expect(retry.revision).toBe(first.revision);
        expect(retry.position.equals(first.position)).toBe(true);
        const stored = await readStream(stream('d'));
        expect(stored.map((e) => e.data)).toEqual([{ amount: 1, index: 0 }, { amount: 1, index: 1 }]);
      });

      it('lets one of many racing appends of the same ids with different data win, refusing every other', async () => {
        for (let round = 0; round < 5; round++) {
          const ids = [randomUUID(), randomUUID()];
          const name = stream(`race-${round}`);
          const outcomes = await Promise.allSettled(
            Array.from({ length: 8 }, (_, writer) =>
              store.appendToStream(
                name,
                ids.map((id) => ({ id, type: 'Paid', data: { writer }, metadata: { commandHash: `h${writer}` } })),
                { expectedRevision: 'no_stream' },
              ),
            ),
          );
          const won = outcomes.flatMap((outcome, writer) => (outcome.status === 'fulfilled' ? [writer] : []));
          expect(won).toHaveLength(1);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected') {
              expect([DuplicateEventIdError, WrongExpectedRevisionError].some((type) => outcome.reason instanceof type)).toBe(true);
            }
          }
          const stored = await readStream(name);
          expect(stored.map((e) => e.data)).toEqual([{ writer: won[0] }, { writer: won[0] }]);
        }
      });
    });

    describe('bad input', () => {
      const nothingWritten = async (name: string) => expect(await readStream(name)).toEqual([]);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const cases: Array<[string, unknown, new (...args: never[]) => Error]> = [
        ['undefined data', { id: randomUUID(), type: 'T', data: undefined }, InvalidEventError],
        ['an undefined property', { id: randomUUID(), type: 'T', data: { a: undefined } }, InvalidEventError],
        ['NaN', { id: randomUUID(), type: 'T', data: { n: NaN } }, InvalidEventError],
        ['Infinity', { id: randomUUID(), type: 'T', data: [Infinity] }, InvalidEventError],
        ['a bigint', { id: randomUUID(), type: 'T', data: { n: 1n } }, InvalidEventError],
        ['a function', { id: randomUUID(), type: 'T', data: { f: () => 1 } }, InvalidEventError],
        ['a Date instance', { id: randomUUID(), type: 'T', data: { at: new Date() } }, InvalidEventError],
        ['a Map', { id: randomUUID(), type: 'T', data: new Map() }, InvalidEventError],
        ['a cycle', { id: randomUUID(), type: 'T', data: circular }, InvalidEventError],
        ['metadata that is an array', { id: randomUUID(), type: 'T', data: {}, metadata: [] }, InvalidEventError],
        ['an empty type', { id: randomUUID(), type: '', data: {} }, InvalidEventError],
        ['an over-long type', { id: randomUUID(), type: 'T'.repeat(256), data: {} }, InvalidEventError],
        ['a type with control characters', { id: randomUUID(), type: 'T\n', data: {} }, InvalidEventError],
        ['a system-reserved type', { id: randomUUID(), type: '$metadata', data: {} }, InvalidEventError],
        ['a non-UUID id', { id: 'not-a-uuid', type: 'T', data: {} }, InvalidEventError],
        ['a missing id', { type: 'T', data: {} }, InvalidEventError],
        ['null instead of an event', null, InvalidEventError],
      ];

      it.each(cases)('refuses %s with a typed error and writes nothing', async (_label, bad, errorClass) => {
        const name = stream('bad');
        const error = await store.appendToStream(name, [event(), bad as EventData]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(errorClass);
        expect((error as Error).message).toMatch(/event #1/);
        await nothingWritten(name);
      });

      it('names the failing field in the message', async () => {
        const error = await store
          .appendToStream(stream('bad'), [{ id: randomUUID(), type: 'T', data: { order: { lines: [{ price: NaN }] } } }])
          .catch((e: unknown) => e);
        expect((error as Error).message).toContain('data.order.lines[0].price');
      });

      it.each([
        ['empty', ''],
        ['over-long', 's'.repeat(256)],
        ['system-reserved', '$all'],
        ['control characters', 'a\u0000b'],
      ])('refuses a stream name that is %s', async (_label, name) => {
        await expect(store.appendToStream(name, [event()])).rejects.toBeInstanceOf(InvalidStreamNameError);
        expect(() => store.readStream(name)).toThrow(InvalidStreamNameError);
      });

      it('refuses an empty batch, a duplicate id within a batch, and a batch over the size limit', async () => {
        const name = stream('limits');
        await expect(store.appendToStream(name, [])).rejects.toBeInstanceOf(InvalidArgumentError);
        const twice = event();
        await expect(store.appendToStream(name, [twice, twice])).rejects.toBeInstanceOf(InvalidEventError);
        const tooMany = Array.from({ length: 50_001 }, () => ({ id: '00000000-0000-4000-8000-000000000000', type: 'T', data: {} }));
        await expect(store.appendToStream(name, tooMany)).rejects.toBeInstanceOf(BatchTooLargeError);
        const tooBig = { id: randomUUID(), type: 'T', data: 'x'.repeat(4 * 1024 * 1024 + 1) };
        await expect(store.appendToStream(name, [tooBig])).rejects.toBeInstanceOf(BatchTooLargeError);
        await nothingWritten(name);
      });

      it('refuses malformed options with typed errors', async () => {
        const name = stream('opts');
        await expect(
          store.appendToStream(name, [event()], { expectedRevision: 'sometimes' as unknown as ExpectedRevision }),
        ).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(store.appendToStream(name, [event()], { expectedRevision: -2n })).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(store.appendToStream(name, [event()], { expectedRevision: 3 as unknown as bigint })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        expect(() => store.readAll({ maxCount: -1 })).toThrow(InvalidArgumentError);
        expect(() => store.readAll({ fromPosition: 'abc' as unknown as Position })).toThrow(InvalidArgumentError);
        expect(() => store.readAll({ filter: { eventTypes: [''] } })).toThrow(InvalidArgumentError);
        expect(() => store.readStream(name, { fromRevision: -1n })).toThrow(InvalidArgumentError);
        expect(() => store.subscribeToAll({ fromPosition: 7 as unknown as Position })).toThrow(InvalidArgumentError);
        await nothingWritten(name);
      });
    });

    describe('subscriptions', () => {
      it('delivers stored events, signals caught-up once, then delivers live events', async () => {
        await store.appendToStream(stream('live'), events(3));
        const reader = new SubscriptionReader(store.subscribeToAll({ filter: { streamPrefixes: [prefix] } }));
        try {
          await reader.untilCaughtUp();
          expect(reader.events).toHaveLength(3);
          await store.appendToStream(stream('live'), events(2));
          await store.appendToStream(stream('other'), events(1));
          await reader.untilCount(6);
          expect(reader.events.map((e) => e.streamName)).toEqual([...Array(5).fill(stream('live')), stream('other')]);
        } finally {
          await reader.subscription.close();
        }
      });

      it('resumes after a checkpoint with exactly the later events', async () => {
        await store.appendToStream(stream('cp'), events(5));
        const all = await readOwnAll();
        const checkpoint = Position.parse(all[1]!.position.toString());
        const reader = new SubscriptionReader(store.subscribeToAll({ fromPosition: checkpoint, filter: { streamPrefixes: [prefix] } }));
        try {
          await reader.untilCaughtUp();
          expect(reader.events.map((e) => e.id)).toEqual(all.slice(2).map((e) => e.id));
        } finally {
          await reader.subscription.close();
        }
      });

      it("from 'end' delivers only what is appended afterwards", async () => {
        await store.appendToStream(stream('end'), events(2));
        const reader = new SubscriptionReader(store.subscribeToAll({ fromPosition: 'end', filter: { streamPrefixes: [prefix] } }));
        try {
          await reader.untilCaughtUp();
          expect(reader.events).toEqual([]);
          const [later] = events(1);
          await store.appendToStream(stream('end'), [later!]);
          await reader.untilCount(1);
          expect(reader.events[0]!.id).toBe(later!.id);
        } finally {
          await reader.subscription.close();
        }
      });

      it('subscribes to one stream from a revision', async () => {
        await store.appendToStream(stream('one'), events(3));
        await store.appendToStream(stream('two'), events(3));
        const reader = new SubscriptionReader(store.subscribeToStream(stream('one'), { fromRevision: 0n }));
        try {
          await reader.untilCaughtUp();
          expect(reader.events.map((e) => e.revision)).toEqual([1n, 2n]);
          await store.appendToStream(stream('two'), events(1));
          await store.appendToStream(stream('one'), events(1));
          await reader.untilCount(3);
          expect(reader.events.map((e) => [e.streamName, e.revision])).toEqual([
            [stream('one'), 1n],
            [stream('one'), 2n],
            [stream('one'), 3n],
          ]);
        } finally {
          await reader.subscription.close();
        }
      });

      it('filters a subscription by event type', async () => {
        const reader = new SubscriptionReader(
          store.subscribeToAll({ fromPosition: 'end', filter: { streamPrefixes: [prefix], eventTypes: ['Wanted'] } }),
        );
        try {
          await reader.untilCaughtUp();
          await store.appendToStream(stream('f'), [event('Unwanted'), event('Wanted'), event('Unwanted'), event('Wanted')]);
          await reader.untilCount(2);
          expect(reader.events.map((e) => e.type)).toEqual(['Wanted', 'Wanted']);
        } finally {
          await reader.subscription.close();
        }
      });

      it('ends iteration when closed', async () => {
        const reader = new SubscriptionReader(store.subscribeToAll({ fromPosition: 'end' }));
        await reader.untilCaughtUp();
        await reader.subscription.close();
        expect(await reader.ended()).toBe(true);
      });

      it('ends iteration when the consumer breaks out of the loop', async () => {
        await store.appendToStream(stream('brk'), events(3));
        const subscription = store.subscribeToAll({ filter: { streamPrefixes: [prefix] } });
        let seen = 0;
        for await (const message of subscription) {
          if (message.kind === 'event') seen++;
          if (seen === 2) break;
        }
        expect(seen).toBe(2);
        const again = new SubscriptionReader(store.subscribeToAll({ filter: { streamPrefixes: [prefix] } }));
        await again.untilCaughtUp();
        expect(again.events).toHaveLength(3);
        await again.subscription.close();
      });
    });

    describe('gap torture', () => {
      it.each((options.tortureSeeds ?? [1, 2, 3]).map((seed) => [seed]))(
        'a subscriber sees exactly the committed events, once each, in per-stream order (seed %i)',
        async (seed) => {
          const random = seededRandom(seed);
          const writers = 8;
          const appendsPerWriter = 40;
          const reader = new SubscriptionReader(store.subscribeToAll({ filter: { streamPrefixes: [prefix] } }));
          const committed: RecordedEvent['id'][] = [];
          // Per stream, each append's events keyed by the revision its result reports: the order the
          // store committed them in, which is not always the order the callers' promises resolved in.
          const committedByStream = new Map<string, Map<bigint, string>>();
          let refused = 0;
          await Promise.all(
            Array.from({ length: writers }, async (_, writer) => {
              for (let i = 0; i < appendsPerWriter; i++) {
                const name = stream(`torture-${Math.floor(random() * 6)}`);
                const batch = events(1 + Math.floor(random() * 4), `W${writer}`);
                // Some appends are meant to fail (a stale revision): their transaction rolls back.
                const expectedRevision: ExpectedRevision = random() < 0.2 ? 1_000_000n : 'any';
                try {
                  const result = await store.appendToStream(name, batch, { expectedRevision });
                  committed.push(...batch.map((e) => e.id));
                  const slots = committedByStream.get(name) ?? new Map<bigint, string>();
                  batch.forEach((e, index) => slots.set(result.revision - BigInt(batch.length - 1 - index), e.id));
                  committedByStream.set(name, slots);
                } catch (error) {
                  if (!(error instanceof WrongExpectedRevisionError)) throw error;
                  refused++;
                }
                if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve));
              }
            }),
          );
          expect(refused).toBeGreaterThan(0);
          try {
            await reader.untilCount(committed.length, 30_000);
            const lastPosition = reader.events[reader.events.length - 1]!.position;
            // Anything extra would arrive now: append a marker and read up to it.
            const marker = event('Marker');
            await store.appendToStream(stream('torture-marker'), [marker]);
            await reader.until((r) => r.events.some((e) => e.id === marker.id), 10_000, 'the marker');
            const seen = reader.events.filter((e) => e.id !== marker.id);
            expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
            expect(new Set(seen.map((e) => e.id))).toEqual(new Set(committed));
            for (const [name, slots] of committedByStream) {
              const delivered = seen.filter((e) => e.streamName === name);
              const expectedIds = [...slots.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, id]) => id);
              expect(delivered.map((e) => e.id)).toEqual(expectedIds);
              expect(delivered.map((e) => e.revision)).toEqual(expectedIds.map((_, i) => BigInt(i)));
            }
            for (let i = 1; i < reader.events.length; i++) {
              expect(reader.events[i]!.position.isAfter(reader.events[i - 1]!.position)).toBe(true);
            }
            expect(lastPosition).toBeDefined();
          } finally {
            await reader.subscription.close();
          }
        },
        60_000,
      );
    });

    runStreamLifecycleTests(() => store, stream);

    describe('closing', () => {
      it('refuses work after close and ends open subscriptions', async () => {
        const own = await factory();
        const reader = new SubscriptionReader(own.subscribeToAll());
        await reader.untilCaughtUp();
        await own.close();
        expect(await reader.ended()).toBe(true);
        await expect(own.appendToStream(stream('closed'), [event()])).rejects.toBeInstanceOf(StoreClosedError);
        expect(() => own.readAll()).toThrow(StoreClosedError);
        expect(() => own.readStreamForFold!(stream('closed'))).toThrow(StoreClosedError);
        await own.close();
      });
    });
  });
}
