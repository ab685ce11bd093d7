import { randomUUID } from 'node:crypto';
import { MAX_APPEND_ATTEMPTS, RETRY_LOOKBACK } from '../../../src/backends/eventstoredb/eventstoredb-append';
import { EventStoreDbEventStore } from '../../../src/backends/eventstoredb/eventstoredb-event-store';
import { CHAIN_METADATA_KEY } from '../../../src/backends/eventstoredb/eventstoredb-mapping';
import { DuplicateEventIdError, TamperedStreamError, WrongExpectedRevisionError, readStreamForFold, verifyStore, type ChainBreak } from '../../../src/event-store';
import { InMemoryKeyStore, protectPersonalData } from '../../../src/personal-data';
import { profileEvents } from '../../personal-data/profile';
import { FakeEsdbServer } from './fake-esdb-server';
import { collect, event, readFailure, runEsdbChainCases } from './chain-cases';

/*
 * The EventStoreDB hash chain, run against FakeEsdbServer: a MOCK of the server, because no
 * EventStoreDB/KurrentDB server can be obtained on this machine. The adapter, the client's read transform
 * and its record decoding are the real ones; only the server's side of the gRPC calls is played here.
 * The same shared cases run against a real server in event-store.int.test.ts when EVENTSTORE_URL is set.
 */

describe('EventStoreDB hash chain (on the in-process mock server)', () => {
  runEsdbChainCases(
    () => {
      const server = new FakeEsdbServer();
      return Promise.resolve({ store: EventStoreDbEventStore.onClient(server.client()), raw: server.client() });
    },
    (target) => target.store.close(),
  );
});

describe('EventStoreDB hash chain: history changed in the server storage (mock only: a real server cannot be edited through its API)', () => {
  let server: FakeEsdbServer;
  let store: EventStoreDbEventStore;

  /** The tamper scenarios' history: five appends to four streams. */
  beforeEach(async () => {
    server = new FakeEsdbServer();
    store = EventStoreDbEventStore.onClient(server.client());
    await store.appendToStream('order-1', [event('OrderPlaced', { total: 12.5 }, { userId: 'alice', correlationId: 'c-1' })]);
    await store.appendToStream('order-1', [event('OrderPaid', { by: 'card' }), event('OrderShipped', { carrier: 'dhl' })], { expectedRevision: 0n });
    await store.appendToStream('cart-1', [event('ItemAdded', { sku: 'a' }), event('ItemAdded', { sku: 'b' })]);
    await store.appendToStream('order-2', [event('OrderPlaced', { total: 3 })]);
    await store.appendToStream('order-3', [event('OrderPlaced', { total: 7 }), event('OrderPaid', { by: 'cash' })]);
  });
  afterEach(() => store.close());

  it('verifies the intact store: every stream listed through $all, every event checked', async () => {
    const progress: number[] = [];
    const report = await verifyStore(store, { onProgress: ({ eventsChecked }) => progress.push(eventsChecked) });
    expect(report).toMatchObject({ ok: true, eventsChecked: 8, streamsChecked: 4, breakCount: 0, unchainedEvents: 0 });
    expect(progress[progress.length - 1]).toBe(8);
    expect(report.notProven!.length).toBeGreaterThanOrEqual(3);
    for (const streamName of ['order-1', 'cart-1', 'order-2', 'order-3']) expect(await readFailure(store, streamName)).toBeUndefined();
  });

  const edit = (streamName: string, revision: bigint, change: (stored: { data: unknown; metadata: Record<string, unknown> }) => void) => {
    const record = server.record(streamName, revision);
    const stored = { data: JSON.parse(record.data.toString()) as unknown, metadata: JSON.parse(record.metadata.toString()) as Record<string, unknown> };
    change(stored);
    record.data = Buffer.from(JSON.stringify(stored.data));
    record.metadata = Buffer.from(JSON.stringify(stored.metadata));
  };

  const scenarios: readonly { name: string; tamper: () => void; streamName: string; expected: (found: ChainBreak) => boolean; readRevision: bigint }[] = [
    {
      name: 'edited data',
      tamper: () => edit('order-1', 0n, (stored) => void (stored.data = { total: 999 })),
      streamName: 'order-1',
      expected: (found) => found.kind === 'event-altered' && found.revision === 0n,
      readRevision: 0n,
    },
    {
      name: 'edited metadata',
      tamper: () => edit('order-1', 0n, (stored) => void (stored.metadata.userId = 'mallory')),
      streamName: 'order-1',
      expected: (found) => found.kind === 'event-altered' && found.revision === 0n,
      readRevision: 0n,
    },
    {
      name: 'edited type',
      tamper: () => void (server.record('order-1', 2n).type = 'OrderRefunded'),
      streamName: 'order-1',
      expected: (found) => found.kind === 'event-altered' && found.revision === 2n,
      readRevision: 2n,
    },
    {
      name: 'edited bytes that are no longer JSON',
      tamper: () => void (server.record('cart-1', 1n).data = Buffer.from('{"sku":"b"')),
      streamName: 'cart-1',
      expected: (found) => found.kind === 'event-altered' && found.revision === 1n,
      readRevision: 1n,
    },
    {
      name: 'removed hash',
      tamper: () => edit('order-3', 1n, (stored) => void delete stored.metadata[CHAIN_METADATA_KEY]),
      streamName: 'order-3',
      expected: (found) => found.kind === 'event-unhashed' && found.revision === 1n,
      readRevision: 1n,
    },
    {
      name: 'garbled chain record',
      tamper: () => edit('order-3', 0n, (stored) => void ((stored.metadata[CHAIN_METADATA_KEY] as Record<string, unknown>).v = 2)),
      streamName: 'order-3',
      expected: (found) => found.kind === 'event-altered' && found.revision === 0n,
      readRevision: 0n,
    },
    {
      name: 'deleted event',
      tamper: () => server.remove('order-1', 1n),
      streamName: 'order-1',
      expected: (found) => found.kind === 'event-missing' && found.revision === 1n,
      readRevision: 1n,
    },
    {
      name: 'deleted event, later ones renumbered',
      tamper: () => {
        server.remove('order-1', 1n);
        server.record('order-1', 2n).revision = 1n;
      },
      streamName: 'order-1',
      expected: (found) => found.kind === 'event-altered' && found.revision === 1n,
      readRevision: 1n,
    },
    {
      name: 'deleted first event',
      tamper: () => server.remove('order-3', 0n),
      streamName: 'order-3',
      expected: (found) => found.kind === 'event-missing' && found.revision === 0n,
      readRevision: 0n,
    },
    {
      name: 'swapped events',
      tamper: () => server.swap('order-1', 1n, 2n),
      streamName: 'order-1',
      expected: (found) => found.kind === 'event-altered' && found.revision === 1n,
      readRevision: 1n,
    },
  ];

  it.each(scenarios)('$name: verify names the stream and revision, and a read stops there with TamperedStreamError', async ({ tamper, streamName, expected, readRevision }) => {
    tamper();
    const report = await verifyStore(store);
    expect(report.ok).toBe(false);
    expect(report.breaks.some((found) => found.streamName === streamName && expected(found))).toBe(true);
    // The untouched streams still verify: every break is in the tampered one.
    expect(report.breaks.every((found) => found.streamName === streamName)).toBe(true);
    const failure = await readFailure(store, streamName);
    expect(failure).toBeInstanceOf(TamperedStreamError);
    expect(failure).toMatchObject({ streamName, revision: readRevision });
    expect((failure as Error).message).toContain(`stream "${streamName}"`);
    const fold = await collect(readStreamForFold(store, streamName)).catch((error: unknown) => error);
    expect(fold).toBeInstanceOf(TamperedStreamError);
  });

  it('delivers the events before a break, and none from it on', async () => {
    edit('order-1', 2n, (stored) => void (stored.data = { carrier: 'ups' }));
    const delivered: bigint[] = [];
    await expect(
      (async () => {
        for await (const recorded of store.readStream('order-1')) delivered.push(recorded.revision);
      })(),
    ).rejects.toBeInstanceOf(TamperedStreamError);
    expect(delivered).toEqual([0n, 1n]);
  });

  it('finds a break on a backwards read too', async () => {
    server.remove('order-1', 1n);
    expect(await readFailure(store, 'order-1', 'backwards')).toMatchObject({ streamName: 'order-1', revision: 1n });
  });

  it('checks a read that starts mid-stream from its first event on', async () => {
    edit('order-1', 2n, (stored) => void (stored.data = { carrier: 'ups' }));
    await expect(collect(store.readStream('order-1', { fromRevision: 2n }))).rejects.toMatchObject({ revision: 2n });
    expect(await collect(store.readStream('order-1', { maxCount: 2 }))).toHaveLength(2);
  });

  it('does not see a whole stream deleted: EventStoreDB has no $all chain, and the report says so', async () => {
    for (const record of server.stored('order-2')) server.remove('order-2', record.revision);
    const report = await verifyStore(store);
    expect(report).toMatchObject({ ok: true, streamsChecked: 3 });
    expect(report.notProven).toEqual(expect.arrayContaining([expect.stringContaining('a whole stream deleted')]));
  });

  it('verifies through the personal-data wrapper too (it passes the per-stream chain through), over the stored ciphertext', async () => {
    const sealed = protectPersonalData(store, { events: [profileEvents], keys: new InMemoryKeyStore() });
    const ada = { memberId: 'm-ada', plan: 'plus', name: 'Ada Lovelace', contact: { newsletter: true } };
    await sealed.appendToStream('member-ada', [event('MemberJoined', ada)]);
    expect(server.record('member-ada', 0n).data.toString()).not.toContain('Ada Lovelace');
    expect(await verifyStore(sealed)).toMatchObject({ ok: true, streamsChecked: 5, eventsChecked: 9 });
    await sealed.forgetSubject('m-ada');
    // Forgetting destroys the key and records SubjectForgotten; it changes no stored event.
    expect(await verifyStore(sealed)).toMatchObject({ ok: true, eventsChecked: 10 });
    edit('member-ada', 0n, (stored) => void ((stored.data as Record<string, unknown>).plan = 'basic'));
    expect((await verifyStore(sealed)).breaks).toEqual([expect.objectContaining({ streamName: 'member-ada', revision: 0n, kind: 'event-altered' })]);
  });

  it('names only the streams asked for', async () => {
    edit('cart-1', 0n, (stored) => void (stored.data = { sku: 'x' }));
    expect((await verifyStore(store, { streams: ['order-1', 'order-3'] })).ok).toBe(true);
    expect(await verifyStore(store, { streams: ['cart-1'] })).toMatchObject({ ok: false, streamsChecked: 1, breakCount: 1 });
  });
});

describe('EventStoreDB appends without an exact revision, bounded', () => {
  it(`looks for a retried any-append's original among the stream's last ${RETRY_LOOKBACK} events only (the documented bound)`, async () => {
    const server = new FakeEsdbServer();
    const store = EventStoreDbEventStore.onClient(server.client());
    const appended = [event('ItemAdded', { sku: 'a' })];
    await store.appendToStream('long-1', appended);
    await store.appendToStream('long-1', Array.from({ length: RETRY_LOOKBACK - 1 }, (_, index) => event('Ticked', { index })));
    expect((await store.appendToStream('long-1', appended)).revision).toBe(0n);
    await store.appendToStream('long-1', [event('Ticked', { index: -1 })]);
    // Now the original is one event past the lookback: the retry is written again, chained like any event.
    expect((await store.appendToStream('long-1', appended)).revision).toBe(BigInt(RETRY_LOOKBACK + 1));
    expect((await verifyStore(store)).ok).toBe(true);
    await store.close();
  });


  it('refuses an any-append whose first event a racing writer stored first with another decision, instead of writing the id twice', async () => {
    const server = new FakeEsdbServer();
    const store = EventStoreDbEventStore.onClient(server.client());
    const rival = EventStoreDbEventStore.onClient(server.client());
    await store.appendToStream('race-2', [event('Opened', {})]);
    const shared = event('ItemAdded', { sku: 'a' });
    // Between this append's head read and its write, another writer stores the same first event with a
    // different second one: the server refuses this write (the ids after the head differ).
    server.beforeAppend = async () => {
      server.beforeAppend = undefined;
      await rival.appendToStream('race-2', [shared, event('ItemAdded', { sku: 'b' })]);
    };
    const failure = await store.appendToStream('race-2', [shared, event('ItemAdded', { sku: 'c' })]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DuplicateEventIdError);
    expect(server.stored('race-2').filter((record) => record.id === shared.id)).toHaveLength(1);
    expect((await verifyStore(store)).ok).toBe(true);
  });


  it(`gives up with WrongExpectedRevisionError after ${MAX_APPEND_ATTEMPTS} lost races, and writes nothing of its own`, async () => {
    const server = new FakeEsdbServer();
    const store = EventStoreDbEventStore.onClient(server.client());
    const rival = server.client();
    await store.appendToStream('busy-1', [event('Opened', {})]);
    let rivalWrites = 0;
    // Another writer gets in between every head read and write of this one.
    const interfere = async (streamName: string): Promise<void> => {
      server.beforeAppend = undefined;
      rivalWrites++;
      await rival.appendToStream(streamName, { id: randomUUID(), type: 'Rival', contentType: 'application/json', data: {}, metadata: {} });
      server.beforeAppend = interfere;
    };
    server.beforeAppend = interfere;
    const mine = event('Mine', {});
    const before = server.appendCalls;
    const failure = await store.appendToStream('busy-1', [mine]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WrongExpectedRevisionError);
    expect(server.appendCalls - before - rivalWrites).toBe(MAX_APPEND_ATTEMPTS);
    expect(server.stored('busy-1').some((record) => record.id === mine.id)).toBe(false);
    await store.close();
  });
});
