import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from '../../../src/backends/postgres';
import { migratePostgres } from '../../../src/backends/postgres/migrations';
import { MIGRATIONS } from '../../../src/backends/postgres/postgres-schema';
import { verifyStore, type EventStore } from '../../../src/event-store';
import { testDatabase } from '../../support/postgres';
import { runHashChainSuite } from '../../event-store/hash-chain.conformance';
import { TAMPER_SCENARIOS, writeHistory } from '../../event-store/tamper-scenarios';

const databases: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
}, 60_000);
async function newDatabase(): Promise<string> {
  const database = await testDatabase();
  databases.push(database);
  return database.url;
}

/** Runs statements on the database through a connection of its own, as someone with database access would. */
async function tamper(url: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

runHashChainSuite('PostgreSQL', async (): Promise<EventStore> => PostgresEventStore.connect(await newDatabase()));

describe('PostgreSQL tampering, done directly in the database', () => {
  it.each(TAMPER_SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s is found and named', async (_name, scenario) => {
    const url = await newDatabase();
    const store = await PostgresEventStore.connect(url);
    try {
      await writeHistory(store);
      expect((await verifyStore(store)).ok).toBe(true);
      await tamper(url, scenario.sql.postgres);
      const report = await verifyStore(store);
      expect(report.ok).toBe(false);
      expect(report.breaks.filter(scenario.expected)).not.toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('finds a log cut back consistently (events, batches and stream rows) only against a recorded head', async () => {
    const url = await newDatabase();
    const store = await PostgresEventStore.connect(url);
    try {
      await writeHistory(store);
      // The next append seals order-3's batch into the chain; its own batch stays pending.
      await store.appendToStream('order-4', [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]);
      const { head } = await verifyStore(store);
      await tamper(url, [
        `DELETE FROM eventfold_events WHERE stream_name IN ('order-3', 'order-4')`,
        `DELETE FROM eventfold_streams WHERE stream_name IN ('order-3', 'order-4')`,
        `DELETE FROM eventfold_chain WHERE batch IS NULL OR batch = (SELECT max(batch) FROM eventfold_chain)`,
      ]);
      expect((await verifyStore(store)).ok).toBe(true);
      const report = await verifyStore(store, { expectHead: head! });
      expect(report.breaks[0]).toMatchObject({ kind: 'head-mismatch', batch: head!.batch });
    } finally {
      await store.close();
    }
  });

  it('never makes an append wait for another transaction: a batch is sealed once every older transaction has finished', async () => {
    const url = await newDatabase();
    const store = await PostgresEventStore.connect(url);
    const held = new pg.Client({ connectionString: url });
    await held.connect();
    try {
      await store.appendToStream('first-1', [{ id: randomUUID(), type: 'A', data: {} }]);
      await held.query('BEGIN');
      await held.query(`SELECT * FROM eventfold_append('{held-1}', '{any}', '{1}', ARRAY['${randomUUID()}']::uuid[], '{H}', '{"{}"}', '{"{}"}', '{NULL}')`);
      // The open transaction holds nothing any other append needs.
      await store.appendToStream('second-1', [{ id: randomUUID(), type: 'B', data: {} }]);
      await store.appendToStream('third-1', [{ id: randomUUID(), type: 'C', data: {} }]);
      await held.query('COMMIT');
      await store.appendToStream('fourth-1', [{ id: randomUUID(), type: 'D', data: {} }]);
      const report = await verifyStore(store);
      expect(report).toMatchObject({ ok: true, eventsChecked: 5, batchesChecked: 5 });
      expect(report.head?.batch).toBe(4n);
    } finally {
      await held.end();
      await store.close();
    }
  });

  it('chains a group commit of many concurrent appends, two of them to one stream, sealing every append', async () => {
    const store = await PostgresEventStore.connect(await newDatabase());
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          store.appendToStream(`group-${index % 7}`, [
            { id: randomUUID(), type: 'Tick', data: { index } },
            { id: randomUUID(), type: 'Tock', data: { index } },
          ]),
        ),
      );
      const report = await verifyStore(store);
      expect(report).toMatchObject({ ok: true, eventsChecked: 80, streamsChecked: 7 });
      // Every committed group is one batch of the $all chain (schema step 7: the append function records
      // its call's events as one batch), so there are exactly as many batches as committing transactions
      // (a position's commit part is its transaction id). Before step 7 each append was a batch of its own.
      const transactions = new Set<bigint>();
      for await (const event of store.readAll()) transactions.add(event.position.commit);
      expect(transactions.size).toBeLessThan(40);
      expect(report.batchesChecked).toBe(transactions.size);
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL stores written before the hash chain', () => {
  it('get the chain computed for their events by the migration, and keep chaining after it', async () => {
    const url = await newDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await migratePostgres(pool, { table: 'eventfold_schema', steps: MIGRATIONS.slice(0, 2) });
      const append = (streams: string[], counts: number[], types: string[], data: string[]) =>
        pool.query('SELECT * FROM eventfold_append($1, $2, $3, $4, $5, $6, $7, $8)', [
          streams,
          streams.map(() => 'any'),
          counts,
          types.map(() => randomUUID()),
          types,
          data,
          types.map(() => '{}'),
          types.map(() => null),
        ]);
      await append(['order-1'], [2], ['OrderPlaced', 'OrderPaid'], ['{"total":1}', '{}']);
      await append(['order-2', 'order-1'], [1, 1], ['OrderPlaced', 'OrderShipped'], ['{"total":2}', '{}']);
      expect((await pool.query('SELECT count(*)::int AS count FROM eventfold_events')).rows[0]).toEqual({ count: 4 });
    } finally {
      await pool.end();
    }
    const store = await PostgresEventStore.connect(url);
    try {
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 4, batchesChecked: 2, streamsChecked: 2 });
      await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderDelivered', data: {} }], { expectedRevision: 2n });
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 5, batchesChecked: 3 });
      await tamper(url, [`UPDATE eventfold_events SET data = '{"total":100}' WHERE stream_name = 'order-2'`]);
      expect((await verifyStore(store)).breaks[0]).toMatchObject({ kind: 'event-altered', streamName: 'order-2', revision: 0n });
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL stores written before the append function hashed its own events (schema step 7)', () => {
  const appendRaw = (pool: pg.Pool, streams: string[], counts: number[], types: string[]) =>
    pool.query('SELECT * FROM eventfold_append($1, $2, $3, $4, $5, $6, $7, $8)', [
      streams,
      streams.map(() => 'any'),
      counts,
      types.map(() => randomUUID()),
      types,
      types.map((_type, index) => `{"index":${index}}`),
      types.map(() => '{}'),
      types.map(() => null),
    ]);

  it('keep verifying after the upgrade, chain new events from the old heads, and still find tampering', async () => {
    const url = await newDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await migratePostgres(pool, { table: 'eventfold_schema', steps: MIGRATIONS.slice(0, 6) });
      await appendRaw(pool, ['order-1'], [2], ['OrderPlaced', 'OrderPaid']);
      await appendRaw(pool, ['order-2', 'order-1', 'order-2'], [1, 1, 2], ['OrderPlaced', 'OrderShipped', 'OrderPaid', 'OrderShipped']);
      // The triggers of step 4 recorded one batch per INSERT statement: here one per append.
      expect((await pool.query('SELECT count(*)::int AS count FROM eventfold_chain')).rows[0]).toEqual({ count: 4 });
    } finally {
      await pool.end();
    }
    const store = await PostgresEventStore.connect(url);
    try {
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 6, batchesChecked: 4, streamsChecked: 2 });
      // One call of the upgraded function, three appends (two to one stream): one batch.
      const upgraded = new pg.Pool({ connectionString: url, max: 1 });
      try {
        await appendRaw(upgraded, ['order-4', 'order-1', 'order-4'], [2, 1, 1], ['OrderPlaced', 'OrderPaid', 'OrderNoted', 'OrderShipped']);
        expect((await upgraded.query('SELECT count(*)::int AS count FROM eventfold_chain')).rows[0]).toEqual({ count: 5 });
      } finally {
        await upgraded.end();
      }
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 10, batchesChecked: 5, streamsChecked: 3 });
      await Promise.all([
        store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderDelivered', data: {} }], { expectedRevision: 3n }),
        store.appendToStream('order-2', [
          { id: randomUUID(), type: 'OrderDelivered', data: {} },
          { id: randomUUID(), type: 'OrderRated', data: { stars: 5 } },
        ]),
        store.appendToStream('order-3', [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]),
      ]);
      const report = await verifyStore(store);
      expect(report).toMatchObject({ ok: true, eventsChecked: 14, streamsChecked: 4 });
      // Each new transaction is one batch, whatever number of appends it grouped.
      const transactions = new Set<bigint>();
      for await (const event of store.readAll()) transactions.add(event.position.commit);
      expect(report.batchesChecked).toBe(5 + transactions.size - 3);
      await tamper(url, [`UPDATE eventfold_events SET data = '{"stars":1}' WHERE stream_name = 'order-2' AND revision = 4`]);
      expect((await verifyStore(store)).breaks[0]).toMatchObject({ kind: 'event-altered', streamName: 'order-2', revision: 4n });
    } finally {
      await store.close();
    }
  });

  it('keep batch numbers unique with an index of sealed batches only (the sealer never walks unsealed entries)', async () => {
    const url = await newDatabase();
    const store = await PostgresEventStore.connect(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const name of ['order-1', 'order-2', 'order-3']) await store.appendToStream(name, [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]);
      const indexes = await client.query<{ indexdef: string }>(
        `SELECT indexdef FROM pg_indexes WHERE tablename = 'eventfold_chain' AND indexdef LIKE '%(batch)%'`,
      );
      expect(indexes.rows.map((row) => row.indexdef)).toEqual([expect.stringMatching(/^CREATE UNIQUE INDEX .* \(batch\) WHERE \(batch IS NOT NULL\)$/)]);
      await expect(client.query('UPDATE eventfold_chain SET batch = 1 WHERE batch = 2')).rejects.toMatchObject({ code: '23505' });
    } finally {
      await client.end();
      await store.close();
    }
  });

  it('still hashes and batches rows inserted by plain SQL, and the next append chains from them', async () => {
    const url = await newDatabase();
    const store = await PostgresEventStore.connect(url);
    try {
      await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]);
      await tamper(url, [
        `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata) VALUES ('${randomUUID()}', 'order-1', 1, 'OrderPaid', '{}', '{}'),
           ('${randomUUID()}', 'order-1', 2, 'OrderShipped', '{}', '{}')`,
        `UPDATE eventfold_streams SET revision = 2 WHERE stream_name = 'order-1'`,
      ]);
      await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderDelivered', data: {} }], { expectedRevision: 2n });
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 4, batchesChecked: 3 });
    } finally {
      await store.close();
    }
  });
});
