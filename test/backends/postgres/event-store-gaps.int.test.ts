import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { connectEventStore, type EventStore, type RecordedEvent } from '../../../src/event-store';
import { PostgresEventStore } from '../../../src/backends/postgres';
import { migratePostgres } from '../../../src/backends/postgres/migrations';
import { createPool } from '../../../src/backends/postgres/pool';
import { MIGRATIONS } from '../../../src/backends/postgres/postgres-schema';
import { testDatabase } from '../../support/postgres';
import { SubscriptionReader, seededRandom } from '../../event-store/subscription-helpers';

/**
 * PostgreSQL-specific proofs of gap safety: transactions held open and rolled back on their own
 * connections, the way concurrent processes write, while a subscriber runs.
 */
describe('PostgreSQL gap safety', () => {
  let database: { url: string; drop(): Promise<void> };
  let store: EventStore;

  beforeAll(async () => {
    database = await testDatabase('eventfold_gaps');
    store = await connectEventStore(database.url);
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  const openClient = async (): Promise<Client> => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    return client;
  };

  /** One append through the store's own SQL function, inside a transaction the test controls. */
  const appendIn = (client: Client, stream: string, ids: string[]) =>
    client.query('SELECT * FROM eventfold_append($1, $2, $3, $4, $5, $6, $7, $8)', [
      [stream],
      ['any'],
      [ids.length],
      ids,
      ids.map(() => 'Held'),
      ids.map((id) => JSON.stringify({ id })),
      ids.map(() => '{}'),
      ids.map(() => null),
    ]);

  const collect = async (iterable: AsyncIterable<RecordedEvent>) => {
    const out: RecordedEvent[] = [];
    for await (const item of iterable) out.push(item);
    return out;
  };

  it('hides a later-committed event until the earlier, still-open transaction finishes', async () => {
    const prefix = `hold-${randomUUID().slice(0, 8)}-`;
    const first = await openClient();
    const second = await openClient();
    const reader = new SubscriptionReader(store.subscribeToAll({ fromPosition: 'end', filter: { streamPrefixes: [prefix] } }));
    try {
      await reader.untilCaughtUp();
      const early = randomUUID();
      const late = randomUUID();
      await first.query('BEGIN');
      await appendIn(first, `${prefix}x`, [early]); // takes the lower sequence number, stays open
      await appendIn(second, `${prefix}y`, [late]); // autocommits with a higher sequence number
      // This is the classic gap: a reader by sequence number would see `late` now and checkpoint past `early`.
      const visibleMeanwhile = await collect(store.readAll({ filter: { streamPrefixes: [prefix] } }));
      expect(visibleMeanwhile.map((e) => e.id)).not.toContain(late);
      await first.query('COMMIT');
      await reader.untilCount(2);
      expect(reader.events.map((e) => e.id)).toEqual([early, late]);
    } finally {
      await reader.subscription.close();
      await first.end();
      await second.end();
    }
  });

  it.each([[11], [12], [13]])(
    'with 8 connections holding transactions open and rolling some back, the subscriber gets exactly the committed events (seed %i)',
    async (seed) => {
      const random = seededRandom(seed);
      const prefix = `torture-${seed}-${randomUUID().slice(0, 8)}-`;
      const clients = await Promise.all(Array.from({ length: 8 }, openClient));
      const reader = new SubscriptionReader(store.subscribeToAll({ fromPosition: 'end', filter: { streamPrefixes: [prefix] } }));
      const committed = new Set<string>();
      const rolledBack = new Set<string>();
      try {
        await reader.untilCaughtUp();
        await Promise.all(
          clients.map(async (client) => {
            for (let i = 0; i < 25; i++) {
              const ids = Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomUUID());
              await client.query('BEGIN');
              await appendIn(client, `${prefix}${Math.floor(random() * 5)}`, ids);
              // Deliberate interleaving, not a wait for a result: other transactions commit meanwhile.
              const hold = Math.floor(random() * 8);
              if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
              if (random() < 0.25) {
                await client.query('ROLLBACK');
                ids.forEach((id) => rolledBack.add(id));
              } else {
                await client.query('COMMIT');
                ids.forEach((id) => committed.add(id));
              }
            }
          }),
        );
        expect(rolledBack.size).toBeGreaterThan(0);
        await reader.untilCount(committed.size, 30_000);
        const marker = randomUUID();
        await store.appendToStream(`${prefix}marker`, [{ id: marker, type: 'Marker', data: {} }]);
        await reader.until((r) => r.events.some((e) => e.id === marker), 10_000, 'the marker');
        const seen = reader.events.filter((e) => e.id !== marker).map((e) => e.id);
        expect(seen).toHaveLength(committed.size);
        expect(new Set(seen)).toEqual(committed);
        const byStream = new Map<string, bigint[]>();
        for (const e of reader.events) byStream.set(e.streamName, [...(byStream.get(e.streamName) ?? []), e.revision]);
        for (const revisions of byStream.values()) expect(revisions).toEqual(revisions.map((_, i) => BigInt(i)));
      } finally {
        await reader.subscription.close();
        await Promise.all(clients.map((client) => client.end()));
      }
    },
    60_000,
  );

  it('wakes a subscriber in another store instance through LISTEN/NOTIFY, without polling', async () => {
    const listener = await PostgresEventStore.connect(database.url, { pollIntervalMs: 600_000 });
    const writer = await PostgresEventStore.connect(database.url);
    const stream = `notify-${randomUUID()}`;
    const reader = new SubscriptionReader(listener.subscribeToStream(stream));
    try {
      await reader.untilCaughtUp();
      await writer.appendToStream(stream, [{ id: randomUUID(), type: 'Pinged', data: {} }]);
      await reader.untilCount(1, 5_000);
      expect(reader.events[0]!.type).toBe('Pinged');
    } finally {
      await reader.subscription.close();
      await listener.close();
      await writer.close();
    }
  });

  it("wakes its readers once per own commit: the NOTIFY of its own pool's connections is dropped, another's is heard", async () => {
    const own = await PostgresEventStore.connect(database.url, { pollIntervalMs: 600_000 });
    const other = await openClient();
    const signal = (own as unknown as { signal: { current: number } }).signal;
    try {
      const before = signal.current;
      // Sent from one of the store's own connections, as its appends do (they wake readers in memory).
      await own.pool.query(`SELECT pg_notify('eventfold_events', '')`);
      // A listener hears notifications in commit order: once this one has woken the store, the one
      // from its own connection has been heard (and dropped) before it.
      await other.query(`SELECT pg_notify('eventfold_events', '')`);
      await eventually(() => signal.current !== before);
      expect(signal.current).toBe(before + 1);
    } finally {
      await other.end();
      await own.close();
    }
  });

  it('wakes $all subscribers for events hidden behind a transaction that wrote no events, without waiting for the poll', async () => {
    const listener = await PostgresEventStore.connect(database.url, { pollIntervalMs: 600_000 });
    const prefix = `hidden-${randomUUID().slice(0, 8)}-`;
    const reader = new SubscriptionReader(listener.subscribeToAll({ fromPosition: 'end', filter: { streamPrefixes: [prefix] } }));
    const blocker = await openClient();
    // Resolves once a reader has looked past the visible head and found the hidden event.
    type AllPage = { events: readonly RecordedEvent[]; hidden: boolean };
    const reads = (listener as unknown as { reads: { allPageForwards(...args: unknown[]): Promise<AllPage> } }).reads;
    const original = reads.allPageForwards.bind(reads);
    let sawHidden!: () => void;
    const hiddenSeen = new Promise<void>((resolve) => (sawHidden = resolve));
    reads.allPageForwards = async (...args: unknown[]) => {
      const page = await original(...args);
      if (page.hidden) sawHidden();
      return page;
    };
    // Every statement the readers send: the page read itself says whether events are hidden.
    const statements: string[] = [];
    const query = listener.pool.query.bind(listener.pool) as (...args: unknown[]) => unknown;
    (listener.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const config = args[0] as { name?: string } | string;
      statements.push(typeof config === 'string' ? config : (config.name ?? 'unnamed'));
      return query(...args);
    };
    try {
      await reader.untilCaughtUp();
      statements.length = 0;
      await blocker.query('BEGIN');
      // Holds a transaction id: events of later transactions stay unread until it ends, and its end
      // sends no notification (it writes no events).
      await blocker.query('SELECT pg_current_xact_id()');
      await listener.appendToStream(`${prefix}1`, [{ id: randomUUID(), type: 'Hidden', data: {} }]);
      // The reader pulls (reads) from here on; no poll would come for ten minutes, so only the wake
      // for hidden events can deliver the event once the blocker ends.
      const arrival = reader.untilCount(1, 20_000);
      await hiddenSeen;
      expect(reader.events).toHaveLength(0);
      await blocker.query('COMMIT');
      await arrival;
      expect(reader.events[0]!.type).toBe('Hidden');
      // One round trip per read: no separate look for hidden events.
      expect(new Set(statements.filter((name) => name !== 'eventfold_append'))).toEqual(new Set(['eventfold_read_all_forwards_v4']));
    } finally {
      await blocker.end();
      await reader.subscription.close();
      await listener.close();
    }
  }, 30_000);

  it('reconnects its LISTEN connection after the server drops it, and wakes subscribers again', async () => {
    const listener = await PostgresEventStore.connect(database.url, { pollIntervalMs: 600_000 });
    const writer = await PostgresEventStore.connect(database.url);
    const admin = await openClient();
    const stream = `relisten-${randomUUID()}`;
    const reader = new SubscriptionReader(listener.subscribeToStream(stream));
    try {
      await reader.untilCaughtUp();
      const killed = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
      );
      expect(killed.rows.length).toBeGreaterThan(0);
      for (const { pid } of killed.rows) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await writer.appendToStream(stream, [{ id: randomUUID(), type: 'AfterDrop', data: {} }]);
      // No poll would come for ten minutes: only the re-established listener can deliver this.
      await reader.untilCount(1, 10_000);
      expect(reader.events[0]!.type).toBe('AfterDrop');
    } finally {
      await reader.subscription.close();
      await listener.close();
      await writer.close();
      await admin.end();
    }
  });

  it('keeps per-stream order in $all when two store instances write the same streams concurrently', async () => {
    const other = await PostgresEventStore.connect(database.url, { maxConcurrentCommits: 4 });
    const prefix = `two-${randomUUID().slice(0, 8)}-`;
    try {
      await Promise.all(
        [store, other].flatMap((instance) =>
          Array.from({ length: 8 }, async (_, writer) => {
            for (let i = 0; i < 20; i++) {
              await instance.appendToStream(`${prefix}${(writer + i) % 3}`, [{ id: randomUUID(), type: 'Both', data: { writer } }]);
            }
          }),
        ),
      );
      const all = await collect(store.readAll({ filter: { streamPrefixes: [prefix] } }));
      expect(all).toHaveLength(320);
      const byStream = new Map<string, bigint[]>();
      for (const e of all) byStream.set(e.streamName, [...(byStream.get(e.streamName) ?? []), e.revision]);
      for (const revisions of byStream.values()) expect(revisions).toEqual(revisions.map((_, i) => BigInt(i)));
    } finally {
      await other.close();
    }
  });

  it('moves a store made before the planned append function (schema 2) onto it, keeping its streams', async () => {
    const old = await testDatabase('eventfold_step2');
    try {
      const pool = createPool(old.url, 2);
      await migratePostgres(pool, { table: 'eventfold_schema', steps: MIGRATIONS.slice(0, 2) });
      await pool.query('SELECT * FROM eventfold_append($1, $2, $3, $4, $5, $6, $7, $8)', [
        ['kept-1'], ['no_stream'], [2], [randomUUID(), randomUUID()], ['A', 'B'], ['{}', '{}'], ['{}', '{}'], [null, null],
      ]);
      const before = await pool.query<{ body: string }>("SELECT prosrc AS body FROM pg_proc WHERE proname = 'eventfold_append'");
      expect(before.rows[0]!.body).toContain('RETURN QUERY');
      const migrated = await PostgresEventStore.connect(old.url);
      try {
        const after = await pool.query<{ body: string }>("SELECT prosrc AS body FROM pg_proc WHERE proname = 'eventfold_append'");
        expect(after.rows[0]!.body).not.toContain('RETURN QUERY');
        const result = await migrated.appendToStream('kept-1', [{ id: randomUUID(), type: 'C', data: {} }], { expectedRevision: 1n });
        expect(result.revision).toBe(2n);
        const events = await collect(migrated.readStream('kept-1'));
        expect(events.map((event) => [event.type, event.revision])).toEqual([['A', 0n], ['B', 1n], ['C', 2n]]);
        expect(events[2]!.position.compareTo(events[1]!.position)).toBeGreaterThan(0);
      } finally {
        await migrated.close();
        await pool.end();
      }
    } finally {
      await old.drop();
    }
  });

  it('migrates once when many processes start together, and again is a no-op', async () => {
    const fresh = await testDatabase('eventfold_migrate');
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresEventStore.connect(fresh.url)));
      const client = new Client({ connectionString: fresh.url });
      await client.connect();
      const versions = await client.query<{ version: number }>('SELECT version FROM eventfold_schema ORDER BY version');
      await client.end();
      expect(versions.rows.map((row) => row.version)).toEqual(MIGRATIONS.map((_step, index) => index + 1));
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await fresh.drop();
    }
  });
});

/** Asks `check` again on every turn of the event loop until it holds; Jest's timeout bounds it. */
async function eventually(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}
