import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../src/backends/sqlite';
import { MIGRATIONS } from '../../../src/backends/sqlite/sqlite-event-store';
import { migrateSqlite } from '../../../src/backends/sqlite/migrations';
import { archiveStreamsToFile, InvalidArgumentError, openArchive, verifyStore } from '../../../src/event-store';
import { ARCHIVE_TAMPER_SCENARIOS, bulkyEvents, expectArchiveFileChecked, writeArchivedHistory } from '../../event-store/archive-scenarios';

const folder = mkdtempSync(join(tmpdir(), 'eventfold-sqlite-archive-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;
const newFile = (): string => join(folder, `store-${files++}.db`);

/** Runs statements on the file through a connection of its own, as someone with the file would. */
function onFile<T>(file: string, work: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** The database's size once compacted: VACUUM, then pages in use times the page size. */
function compactedBytes(file: string): number {
  return onFile(file, (db) => {
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
  });
}

describe('SQLite archiving', () => {
  it('reclaims the archived payload: the compacted file shrinks by at least the bytes of data and metadata moved out', async () => {
    const file = newFile();
    const store = SqliteEventStore.open(file);
    const bulky = bulkyEvents(400);
    const blob = bulky[123]!.data.blob;
    await store.appendToStream('bulky-1', bulky);
    await store.appendToStream('small-1', [{ id: randomUUID(), type: 'Kept', data: { keep: true } }]);
    await store.close();
    const payload = onFile(file, (db) =>
      (db.prepare(`SELECT sum(length(data) + length(metadata)) AS bytes FROM eventfold_events WHERE stream_name = 'bulky-1'`).get() as { bytes: number }).bytes,
    );
    const before = compactedBytes(file);

    const reopened = SqliteEventStore.open(file);
    const archivePath = join(folder, 'bulky.ndjson.gz');
    try {
      const result = await archiveStreamsToFile(reopened, { streams: ['bulky-1'] }, archivePath);
      expect(result).toMatchObject({ streams: ['bulky-1'], events: 400 });
      expect(await verifyStore(reopened, { archives: [openArchive(readFileSync(archivePath), 'bulky.ndjson.gz')] })).toMatchObject({
        ok: true,
        eventsArchived: 400,
        archivedChecked: 400,
      });
    } finally {
      await reopened.close();
    }
    const after = compactedBytes(file);
    const stubs = onFile(file, (db) => db.prepare(`SELECT count(*) AS count, sum(length(data) + length(metadata)) AS bytes FROM eventfold_events WHERE archived IS NOT NULL`).get());
    expect(stubs).toEqual({ count: 400, bytes: 0 });
    process.stdout.write(`SQLite archiving: payload ${payload} B, compacted file ${before} B -> ${after} B (reclaimed ${before - after} B); archive ${readFileSync(archivePath).length} B\n`);
    expect(before - after).toBeGreaterThanOrEqual(payload);
    // Compacted, the file holds no byte of the archived data any more.
    expect(readFileSync(file).includes(Buffer.from(blob))).toBe(false);
    expect(readFileSync(archivePath).length).toBeGreaterThan(0);
  });

  it('keeps the archive out of the way until it is complete: an existing archive is never overwritten, and nothing leaves the store', async () => {
    const store = SqliteEventStore.open(newFile());
    try {
      await store.appendToStream('order-9', [{ id: randomUUID(), type: 'OrderPlaced', data: { total: 1 } }]);
      const path = join(folder, 'taken.ndjson.gz');
      await archiveStreamsToFile(store, { streams: ['order-9'] }, path);
      await store.appendToStream('order-10', [{ id: randomUUID(), type: 'OrderPlaced', data: { total: 2 } }]);
      await expect(archiveStreamsToFile(store, { streams: ['order-10'] }, path)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(archiveStreamsToFile(store, { streams: ['order-11'] }, join(folder, 'none.ndjson.gz'))).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(existsSync(join(folder, 'none.ndjson.gz'))).toBe(false);
      expect(readdirSync(folder).filter((name) => name.endsWith('.partial'))).toEqual([]);
      expect((await store.getStreamMetadata('order-10')).archivedTo).toBeUndefined();
      expect((await collect(store.readStream('order-10'))).length).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite archived stubs tampered with directly in the database file', () => {
  it.each(ARCHIVE_TAMPER_SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s is found and named', async (_name, scenario) => {
    const file = newFile();
    const store = SqliteEventStore.open(file);
    await writeArchivedHistory(store, folder);
    expect(await verifyStore(store)).toMatchObject({ ok: true, eventsArchived: 3 });
    await store.close();
    onFile(file, (db) => {
      for (const statement of scenario.sql.sqlite) db.exec(statement);
    });
    const reopened = SqliteEventStore.open(file);
    try {
      const report = await verifyStore(reopened);
      expect(report.ok).toBe(false);
      expect(report.breaks.filter(scenario.expected)).not.toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  it('an archive file edited afterwards is found and named when verify is given the archives', async () => {
    const store = SqliteEventStore.open(newFile());
    try {
      const path = await writeArchivedHistory(store, folder);
      await expectArchiveFileChecked(store, path);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite stores written before archiving', () => {
  it('get the archived column by a migration step, verify as before, and archive afterwards', async () => {
    const file = newFile();
    onFile(file, (db) => {
      db.pragma('journal_mode = WAL');
      migrateSqlite(db, { table: 'eventfold_schema', steps: MIGRATIONS.slice(0, 1) });
      const insert = db.prepare(
        `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, '{}', ?)`,
      );
      insert.run(randomUUID(), 'order-1', 0, 'OrderPlaced', '{"total":1}', 1000);
      insert.run(randomUUID(), 'order-2', 0, 'OrderPlaced', '{"total":2}', 1001);
      insert.run(randomUUID(), 'order-1', 1, 'OrderPaid', '{}', 1002);
      db.exec(`INSERT INTO eventfold_streams (stream_name, revision) VALUES ('order-1', 1), ('order-2', 0)`);
      // The schema as it was before archiving: hash chain and lifecycle log, no archived column.
      migrateSqlite(db, { table: 'eventfold_schema', steps: MIGRATIONS.slice(0, 3) });
      expect(db.prepare(`SELECT count(*) AS count FROM pragma_table_info('eventfold_events') WHERE name = 'archived'`).get()).toEqual({ count: 0 });
    });
    const store = SqliteEventStore.open(file);
    try {
      expect(onFile(file, (db) => db.prepare('SELECT max(version) AS version FROM eventfold_schema').get())).toEqual({ version: MIGRATIONS.length });
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 3, eventsArchived: 0 });
      await archiveStreamsToFile(store, { streams: ['order-1'] }, join(folder, 'migrated.ndjson.gz'));
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 3, eventsArchived: 2 });
      expect((await collect(store.readAll())).map((event) => event.streamName)).toEqual(['order-2']);
    } finally {
      await store.close();
    }
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
