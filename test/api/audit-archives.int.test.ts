import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { defineAggregate, defineCommands, defineEvents, personal } from '../../src/domain';
import { archiveFolder, archiveStreamsToFile } from '../../src/event-store';
import { keyStoreFor, protectPersonalData, type PersonalDataStore } from '../../src/personal-data';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';

const parcelEvents = defineEvents(
  {
    ParcelSent: z.object({ customerId: z.string(), recipient: personal(z.string()) }),
    ParcelDelivered: z.object({ at: z.string() }),
  },
  { subjects: { ParcelSent: (data) => data.customerId } },
);

interface ParcelState {
  readonly status: string;
  readonly recipient: unknown;
}

/** A small aggregate with personal data, for the audit API to fold. */
const parcel = defineAggregate({
  category: 'parcel',
  commands: defineCommands({ Send: { schema: z.object({ customerId: z.string() }), stream: 'any' } }),
  events: parcelEvents,
  decider: {
    initialState: (): ParcelState => ({ status: 'none', recipient: null }),
    decide: () => [],
    evolve: (state, event) =>
      event.type === 'ParcelSent' ? { status: 'sent', recipient: event.data.recipient } : { ...state, status: 'delivered' },
  },
});

interface Page {
  streamEvents: { events: { revision: string; type: string; data: { recipient?: unknown } }[]; nextRevision: string | null };
}

describe('the audit API reads archived streams back (SQLite, real HTTP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-audit-archives-'));
  let inner: SqliteEventStore;
  let store: PersonalDataStore;
  let app: TestApi;
  let auditor: Record<string, string>;

  beforeAll(async () => {
    inner = SqliteEventStore.open(join(dir, 'events.db'));
    store = protectPersonalData(inner, { events: [parcelEvents], keys: await keyStoreFor(inner) });
    app = await startTestApi({ eventStore: store, aggregates: [parcel], archives: archiveFolder(join(dir, 'archive')) });
    auditor = bearer(await token('auditor-1', ['auditor']));
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const page = (streamName: string, extra = '') =>
    gql<Page>(app.url, `{ streamEvents(streamName: "${streamName}"${extra}) { events { revision type data } nextRevision } }`, {}, auditor);

  it('gives archived events decrypted, pages through them into live ones, folds them, and redacts them once their subject is forgotten', async () => {
    await store.appendToStream('parcel-1', [
      { id: randomUUID(), type: 'ParcelSent', data: { customerId: 'c-1', recipient: 'Ada Lovelace' } },
      { id: randomUUID(), type: 'ParcelDelivered', data: { at: '2026-01-02' } },
    ]);
    await store.appendToStream('parcel-2', [{ id: randomUUID(), type: 'ParcelSent', data: { customerId: 'c-2', recipient: 'Grace Hopper' } }]);
    await store.appendToStream('parcel-3', [{ id: randomUUID(), type: 'ParcelSent', data: { customerId: 'c-2', recipient: 'Grace Hopper' } }]);
    await archiveStreamsToFile(store, { streams: ['parcel-1', 'parcel-2'] }, join(dir, 'archive', 'parcels.ndjson.gz'));
    // Normal readers no longer see the archived streams; the archive holds ciphertext only.
    expect(await count(store.readStream('parcel-1'))).toBe(0);
    expect(gunzipSync(readFileSync(join(dir, 'archive', 'parcels.ndjson.gz'))).toString('utf8')).not.toContain('Ada Lovelace');

    const archived = await page('parcel-1');
    expect(archived.body.errors).toBeUndefined();
    expect(archived.body.data!.streamEvents.events.map((event) => [event.revision, event.type, event.data.recipient])).toEqual([
      ['0', 'ParcelSent', 'Ada Lovelace'],
      ['1', 'ParcelDelivered', undefined],
    ]);

    // Archived, then written again: a page runs from the archive into the store.
    await store.appendToStream('parcel-1', [{ id: randomUUID(), type: 'ParcelDelivered', data: { at: '2026-01-03' } }], { expectedRevision: 1n });
    const first = await page('parcel-1', ', first: 2');
    expect(first.body.data!.streamEvents).toMatchObject({ nextRevision: '2' });
    const rest = await page('parcel-1', ', fromRevision: "1", first: 5');
    expect(rest.body.data!.streamEvents.events.map((event) => event.revision)).toEqual(['1', '2']);

    const state = await gql<{ aggregateState: { revision: string; state: unknown } }>(
      app.url,
      '{ aggregateState(streamName: "parcel-1", revision: "0") { revision state } }',
      {},
      auditor,
    );
    expect(state.body.errors).toBeUndefined();
    expect(state.body.data!.aggregateState).toEqual({ revision: '0', state: { status: 'sent', recipient: 'Ada Lovelace' } });

    // Forgotten: the archived event is redacted exactly as the live one of the same subject.
    await store.forgetSubject('c-2');
    const [redactedArchived, redactedLive] = await Promise.all([page('parcel-2'), page('parcel-3')]);
    expect(redactedArchived.body.errors).toBeUndefined();
    const archivedRecipient = redactedArchived.body.data!.streamEvents.events[0]!.data.recipient;
    expect(archivedRecipient).toEqual(redactedLive.body.data!.streamEvents.events[0]!.data.recipient);
    expect(archivedRecipient).toMatchObject({ redacted: true });
  });

  it('refuses to serve an archive changed since it was written, and says it is unavailable when it is missing', async () => {
    await store.appendToStream('parcel-7', [{ id: randomUUID(), type: 'ParcelSent', data: { customerId: 'c-7', recipient: 'Alan Turing' } }]);
    const path = join(dir, 'archive', 'seven.ndjson.gz');
    await archiveStreamsToFile(store, { streams: ['parcel-7'] }, path);
    const original = readFileSync(path);
    writeFileSync(path, gzipSync(gunzipSync(original).toString('utf8').replace('"revision":"0"', '"revision":"0" ')));
    const changed = await page('parcel-7');
    expect(changed.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    rmSync(path);
    const missing = await page('parcel-7');
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    writeFileSync(path, original);
    expect((await page('parcel-7')).body.data!.streamEvents.events.map((event) => event.data.recipient)).toEqual(['Alan Turing']);
  });
});

async function count(iterable: AsyncIterable<unknown>): Promise<number> {
  let seen = 0;
  for await (const _item of iterable) seen++;
  return seen;
}
