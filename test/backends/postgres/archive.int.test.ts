import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresEventStore } from '../../../src/backends/postgres';
import { migratePostgres } from '../../../src/backends/postgres/migrations';
import { MIGRATIONS } from '../../../src/backends/postgres/postgres-schema';
import { archiveStreamsToFile, openArchive, verifyStore } from '../../../src/event-store';
import { testDatabase } from '../../support/postgres';
import { ARCHIVE_TAMPER_SCENARIOS, bulkyEvents, expectArchiveFileChecked, writeArchivedHistory } from '../../event-store/archive-scenarios';

const folder = mkdtempSync(join(tmpdir(), 'eventfold-pg-archive-'));
const databases: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await Promise.all(databases.map((database) => database.drop()));
}, 60_000);
async function newDatabase(): Promise<string> {
  const database = await testDatabase();
  databases.push(database);
  return database.url;
}

/** Runs statements on the database through a connection of its own, as someone with database access would. */
async function onDatabase<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The events table with its TOAST and indexes, compacted (VACUUM FULL rewrites it without dead rows). */
async function compactedBytes(url: string): Promise<number> {
  return onDatabase(url, async (client) => {
    await client.query('VACUUM FULL eventfold_events');
    return Number((await client.query<{ bytes: string }>(`SELECT pg_total_relation_size('eventfold_events')::text AS bytes`)).rows[0]!.bytes);
  });
}

describe('PostgreSQL archiving', () => {
  it('reclaims the archived payload: the compacted events table shrinks by at least the bytes of data and metadata moved out', async () => {
    const url = await newDatabase();
    const store = await PostgresEventStore.connect(url);
    try {
      await store.appendToStream('bulky-1', bulkyEvents(400));
      await store.appendToStream('small-1', [{ id: randomUUID(), type: 'Kept', data: { keep: true } }]);
      const payload = await onDatabase(url, async (client) =>
        Number((await client.query<{ bytes: string }>(`SELECT sum(octet_length(data) + octet_length(metadata))::text AS bytes FROM eventfold_events WHERE stream_name = 'bulky-1'`)).rows[0]!.bytes),
      );
      const before = await compactedBytes(url);
      const archivePath = join(folder, 'bulky.ndjson.gz');
      await archiveStreamsToFile(store, { streams: ['bulky-1'] }, archivePath);
      const after = await compactedBytes(url);
      process.stdout.write(`PostgreSQL archiving: payload ${payload} B, events table ${before} B -> ${after} B after VACUUM FULL (reclaimed ${before - after} B)\n`);
      expect(before - after).toBeGreaterThanOrEqual(payload);
      expect(await verifyStore(store, { archives: [openArchive(readFileSync(archivePath), 'bulky.ndjson.gz')] })).toMatchObject({
        ok: true,
        eventsArchived: 400,
        archivedChecked: 400,
      });
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL archived stubs tampered with directly in the database', () => {
  it.each(ARCHIVE_TAMPER_SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s is found and named', async (_name, scenario) => {
    const url = await newDatabase();
    const store = await PostgresEventStore.connect(url);
    try {
      await writeArchivedHistory(store, folder);
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsArchived: 3 });
      await onDatabase(url, async (client) => {
        for (const statement of scenario.sql.postgres) await client.query(statement);
      });
      const report = await verifyStore(store);
      expect(report.ok).toBe(false);
      expect(report.breaks.filter(scenario.expected)).not.toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('an archive file edited afterwards is found and named when verify is given the archives', async () => {
    const store = await PostgresEventStore.connect(await newDatabase());
    try {
      await expectArchiveFileChecked(store, await writeArchivedHistory(store, folder));
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL stores written before archiving', () => {
  it('get the archived column by a migration step, verify as before, and archive afterwards', async () => {
    const url = await newDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      // Steps 1–5: the schema before archiving (step 6).
      await migratePostgres(pool, { table: 'eventfold_schema', steps: MIGRATIONS.slice(0, 5) });
      await pool.query('SELECT * FROM eventfold_append($1, $2, $3, $4, $5, $6, $7, $8)', [
        ['order-1', 'order-2'],
        ['any', 'any'],
        [2, 1],
        [randomUUID(), randomUUID(), randomUUID()],
        ['OrderPlaced', 'OrderPaid', 'OrderPlaced'],
        ['{"total":1}', '{}', '{"total":2}'],
        ['{}', '{}', '{}'],
        [null, null, null],
      ]);
      const columns = await pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'eventfold_events' AND column_name = 'archived'`);
      expect(columns.rowCount).toBe(0);
    } finally {
      await pool.end();
    }
    const store = await PostgresEventStore.connect(url);
    try {
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 3, eventsArchived: 0 });
      await archiveStreamsToFile(store, { streams: ['order-1'] }, join(folder, `migrated-${randomUUID().slice(0, 8)}.ndjson.gz`));
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 3, eventsArchived: 2 });
      const left: string[] = [];
      for await (const event of store.readAll()) left.push(event.streamName);
      expect(left).toEqual(['order-2']);
    } finally {
      await store.close();
    }
  });
});
