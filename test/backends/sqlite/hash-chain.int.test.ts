import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../src/backends/sqlite';
import { MIGRATIONS } from '../../../src/backends/sqlite/sqlite-event-store';
import { connectEventStore, verifyStore } from '../../../src/event-store';
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
