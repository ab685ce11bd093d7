import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../src/backends/sqlite';
import { MIGRATIONS } from '../../../src/backends/sqlite/sqlite-event-store';
import { connectEventStore, verifyStore } from '../../../src/event-store';
import { GENESIS_HASH, batchHash, chainEvents } from '../../../src/event-store/hash-chain';
import { migrateSqlite } from '../../../src/backends/sqlite/migrations';
import { runHashChainSuite } from '../../event-store/hash-chain.conformance';
import { TAMPER_SCENARIOS, writeHistory } from '../../event-store/tamper-scenarios';

const folder = mkdtempSync(join(tmpdir(), 'eventfold-sqlite-chain-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;
const newFile = (): string => join(folder, `store-${files++}.db`);

/** Runs statements on the file through a connection of its own, as someone with the file would. */
function tamper(file: string, statements: readonly string[]): void {
  const db = new Database(file);
  try {
    for (const statement of statements) db.exec(statement);
  } finally {
    db.close();
  }
}

runHashChainSuite('SQLite', () => connectEventStore(`sqlite:${newFile()}`));

describe('SQLite tampering, done directly in the database file', () => {
  it.each(TAMPER_SCENARIOS.map((scenario) => [scenario.name, scenario] as const))('%s is found and named', async (_name, scenario) => {
    const file = newFile();
    const store = SqliteEventStore.open(file);
    await writeHistory(store);
    expect((await verifyStore(store)).ok).toBe(true);
    await store.close();
    tamper(file, scenario.sql.sqlite);
    const reopened = SqliteEventStore.open(file);
    try {
      const report = await verifyStore(reopened);
      expect(report.ok).toBe(false);
      expect(report.breaks.filter(scenario.expected)).not.toEqual([]);
      for (const found of report.breaks) expect(found.message.length).toBeGreaterThan(0);
    } finally {
      await reopened.close();
    }
  });

  it('finds a log cut back consistently (events, batches and stream rows) only against a recorded head', async () => {
    const file = newFile();
    const store = SqliteEventStore.open(file);
    await writeHistory(store);
    const { head } = await verifyStore(store);
    await store.close();
    tamper(file, [
      `DELETE FROM eventfold_events WHERE stream_name = 'order-3'`,
      `DELETE FROM eventfold_streams WHERE stream_name = 'order-3'`,
      `DELETE FROM eventfold_chain WHERE batch = (SELECT max(batch) FROM eventfold_chain)`,
    ]);
    const reopened = SqliteEventStore.open(file);
    try {
      // What the database alone can say is consistent; the head an auditor kept says otherwise.
      expect((await verifyStore(reopened)).ok).toBe(true);
      const report = await verifyStore(reopened, { expectHead: head! });
      expect(report.ok).toBe(false);
      expect(report.breaks[0]).toMatchObject({ kind: 'head-mismatch', batch: head!.batch });
    } finally {
      await reopened.close();
    }
  });

  it('seals one batch per group commit: concurrent appends share a chain row, and a refused one leaves no trace in it', async () => {
    const store = SqliteEventStore.open(newFile());
    try {
      await store.appendToStream('seed', [{ id: randomUUID(), type: 'Tick', data: {} }]);
      const appends = Array.from({ length: 20 }, (_, index) =>
        store.appendToStream(`group-${index % 4}`, [{ id: randomUUID(), type: 'Tick', data: { index } }, { id: randomUUID(), type: 'Tock', data: { index } }], {
          // One append in the middle of the group is refused and rolls back alone.
          expectedRevision: index === 9 ? 41n : 'any',
        }),
      );
      const outcomes = await Promise.allSettled(appends);
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(1);
      const report = await verifyStore(store);
      expect(report).toMatchObject({ ok: true, eventsChecked: 1 + 19 * 2 });
      // The seed's batch, then the group's (one per append before; the group may be split in two by timing).
      expect(report.batchesChecked).toBeLessThanOrEqual(3);
    } finally {
      await store.close();
    }
  });

  it('reads one snapshot: appends made while a check runs are not part of it', async () => {
    const store = SqliteEventStore.open(newFile());
    try {
      await writeHistory(store);
      const snapshot = await store.openChainSnapshot();
      await store.appendToStream('late-1', [{ id: randomUUID(), type: 'Tick', data: {} }]);
      expect(await snapshot.countEvents()).toBe(8n);
      expect((await snapshot.readBatches(0n, 100)).length).toBe(5);
      expect(await snapshot.readStreamHead('late-1')).toBeUndefined();
      await snapshot.close();
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 9, batchesChecked: 6 });
    } finally {
      await store.close();
    }
  });
});

describe('SQLite stores written before the hash chain', () => {
  it('get the chain computed for their events by the migration, and keep chaining after it', async () => {
    const file = newFile();
    const old = new Database(file);
    old.exec('CREATE TABLE eventfold_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    old.exec(MIGRATIONS[0] as string);
    old.prepare('INSERT INTO eventfold_schema (version, applied_at) VALUES (1, 0)').run();
    const insert = old.prepare(
      `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at)
       VALUES (?, ?, ?, ?, ?, '{}', NULL, ?)`,
    );
    const history: Array<[string, number, string, string, number]> = [
      ['order-1', 0, 'OrderPlaced', '{"total":1}', 1000],
      ['order-1', 1, 'OrderPaid', '{}', 1000],
      ['order-2', 0, 'OrderPlaced', '{"total":2}', 1001],
      ['order-1', 2, 'OrderShipped', '{}', 1002],
    ];
    for (const [stream, revision, type, data, time] of history) insert.run(randomUUID(), stream, revision, type, data, time);
    old.exec(`INSERT INTO eventfold_streams (stream_name, revision) VALUES ('order-1', 2), ('order-2', 0)`);
    old.close();

    const store = SqliteEventStore.open(file);
    try {
      const migrated = await verifyStore(store);
      expect(migrated).toMatchObject({ ok: true, eventsChecked: 4, batchesChecked: 3, streamsChecked: 2 });
      await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderDelivered', data: {} }], { expectedRevision: 2n });
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 5, batchesChecked: 4 });
    } finally {
      await store.close();
    }
    // The migrated chain is a real one: an old event edited afterwards is found.
    tamper(file, [`UPDATE eventfold_events SET data = '{"total":100}' WHERE stream_name = 'order-2'`]);
    const reopened = SqliteEventStore.open(file);
    try {
      expect((await verifyStore(reopened)).breaks[0]).toMatchObject({ kind: 'event-altered', streamName: 'order-2', revision: 0n });
    } finally {
      await reopened.close();
    }
  });
});

describe('SQLite stores of schema 4 (AUTOINCREMENT positions, chain table found by an index on first_position)', () => {
  /** A store as the previous version wrote it: every event hashed, one chain row per commit, the index. */
  function writeSchema4Store(file: string): void {
    const db = new Database(file);
    migrateSqlite(db, { table: 'eventfold_schema', steps: MIGRATIONS.slice(0, 4) });
    const insert = db.prepare(
      `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at, hash)
       VALUES (?, ?, ?, ?, ?, '{}', NULL, 1000, ?)`,
    );
    const seal = db.prepare('INSERT INTO eventfold_chain (batch, first_position, last_position, event_count, hash) VALUES (?, ?, ?, ?, ?)');
    const tips = new Map<string, { revision: number; hash: Buffer }>();
    let previous = GENESIS_HASH;
    // Three commits; the second is a group commit of two streams.
    const commits: Array<Array<[string, string]>> = [
      [['order-1', 'OrderPlaced'], ['order-1', 'OrderPaid']],
      [['order-2', 'OrderPlaced'], ['order-1', 'OrderShipped']],
      [['order-2', 'OrderPaid']],
    ];
    commits.forEach((commit, index) => {
      const hashes: Buffer[] = [];
      let first = 0;
      let last = 0;
      for (const [stream, type] of commit) {
        const tip = tips.get(stream);
        const revision = (tip?.revision ?? -1) + 1;
        const id = randomUUID();
        const [hash] = chainEvents(tip?.hash ?? GENESIS_HASH, stream, BigInt(revision), [{ id, type, data: '{}', metadata: '{}' }]);
        last = Number(insert.run(id, stream, revision, type, '{}', hash).lastInsertRowid);
        if (first === 0) first = last;
        tips.set(stream, { revision, hash: hash! });
        hashes.push(hash!);
      }
      const batch = BigInt(index + 1);
      previous = batchHash(previous, batch, hashes);
      seal.run(batch, first, last, hashes.length, previous);
    });
    for (const [stream, tip] of tips) db.prepare('INSERT INTO eventfold_streams (stream_name, revision) VALUES (?, ?)').run(stream, tip.revision);
    db.close();
  }

  it('are converted: positions kept, each event row names its batch, the index and AUTOINCREMENT are gone, and verify, proofs and appends keep working', async () => {
    const file = newFile();
    writeSchema4Store(file);
    const store = SqliteEventStore.open(file);
    try {
      const db = store.database;
      expect(db.prepare('SELECT position, batch FROM eventfold_events ORDER BY position').raw().all()).toEqual([[1, 1], [2, 1], [3, 2], [4, 2], [5, 3]]);
      expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'eventfold_chain_first'`).get()).toBeUndefined();
      // Positions come from the primary key alone now: no sqlite_sequence row to update per commit.
      expect(db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'eventfold_events'`).pluck().get()).not.toMatch(/AUTOINCREMENT/i);
      expect(db.prepare(`SELECT count(*) FROM sqlite_sequence WHERE name = 'eventfold_events'`).pluck().get()).toBe(0);
      expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'eventfold_events_correlation'`).get()).toBeDefined();
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 5, batchesChecked: 3, streamsChecked: 2 });
      const snapshot = await store.openChainSnapshot();
      try {
        expect((await snapshot.readBatchesOfStream('order-2', 0n, 10)).map((batch) => batch.batch)).toEqual([2n, 3n]);
        expect((await snapshot.readBatchesOfStream('order-1', 1n, 10)).map((batch) => batch.batch)).toEqual([2n]);
      } finally {
        await snapshot.close();
      }
      await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderDelivered', data: {} }], { expectedRevision: 2n });
      expect(db.prepare('SELECT position, batch FROM eventfold_events ORDER BY position DESC LIMIT 1').raw().get()).toEqual([6, 4]);
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 6, batchesChecked: 4 });
    } finally {
      await store.close();
    }
  });

  it('still place rows a process of the previous version writes after the conversion (no batch on the row)', async () => {
    const file = newFile();
    writeSchema4Store(file);
    await SqliteEventStore.open(file).close();
    // What the previous version's append does on the converted file: the row without `batch`, then its chain row.
    const db = new Database(file);
    const tip = db.prepare(`SELECT hash FROM eventfold_events WHERE stream_name = 'order-2' AND revision = 1`).pluck().get() as Buffer;
    const head = db.prepare('SELECT batch, hash FROM eventfold_chain ORDER BY batch DESC LIMIT 1').get() as { batch: number; hash: Buffer };
    const id = randomUUID();
    const [hash] = chainEvents(tip, 'order-2', 2n, [{ id, type: 'OrderShipped', data: '{}', metadata: '{}' }]);
    const position = Number(
      db
        .prepare(`INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at, hash) VALUES (?, 'order-2', 2, 'OrderShipped', '{}', '{}', NULL, 2000, ?)`)
        .run(id, hash).lastInsertRowid,
    );
    const batch = BigInt(head.batch + 1);
    db.prepare('INSERT INTO eventfold_chain (batch, first_position, last_position, event_count, hash) VALUES (?, ?, ?, 1, ?)').run(batch, position, position, batchHash(head.hash, batch, [hash!]));
    db.prepare(`UPDATE eventfold_streams SET revision = 2 WHERE stream_name = 'order-2'`).run();
    db.close();
    const store = SqliteEventStore.open(file);
    try {
      expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 6, batchesChecked: 4 });
      const snapshot = await store.openChainSnapshot();
      try {
        expect(await snapshot.findUnchainedEvent()).toBeUndefined();
        expect((await snapshot.readBatchesOfStream('order-2', 0n, 10)).map((found) => found.batch)).toEqual([2n, 3n, 4n]);
      } finally {
        await snapshot.close();
      }
    } finally {
      await store.close();
    }
  });

  it('keep finding an event written around the kit (its row names no batch)', async () => {
    const file = newFile();
    writeSchema4Store(file);
    tamper(file, [
      `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, recorded_at) VALUES ('${randomUUID()}', 'order-3', 0, 'OrderPlaced', '{}', '{}', 1000)`,
    ]);
    const converted = SqliteEventStore.open(file);
    try {
      expect((await verifyStore(converted)).breaks.map((found) => found.kind)).toContain('event-unchained');
    } finally {
      await converted.close();
    }
  });
});
