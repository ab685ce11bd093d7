import type Database from 'better-sqlite3';
import type { SqliteChainWriter } from './sqlite-hash-chain';
import {
  planImport,
  resolveListStreams,
  type ImportCheckpoint,
  type ImportResult,
  type KnownEvent,
  type ListStreamsOptions,
  type PreparedImport,
  type StoreStatistics,
  type StreamSummary,
} from '../../event-store/store-admin';

/**
 * Import checkpoints live beside the events; the table is made on first use (not a migration step), so
 * a store that never imports has none.
 */
const CHECKPOINTS = `CREATE TABLE IF NOT EXISTS eventfold_import_checkpoints (
  source TEXT PRIMARY KEY,
  position TEXT NOT NULL,
  count INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID`;

/** Streams by name from `prefix`, a page at a time (the primary key's order). */
export function listSqliteStreams(db: Database.Database, options?: ListStreamsOptions): StreamSummary[] {
  const { prefix, after, limit } = resolveListStreams(options);
  const rows = db
    .prepare<[string, string, number, string, number], { stream_name: string; revision: number }>(
      `SELECT stream_name, revision FROM eventfold_streams
       WHERE stream_name >= ? AND stream_name > ? AND substr(stream_name, 1, ?) = ?
       ORDER BY stream_name LIMIT ?`,
    )
    .all(prefix, after, prefix.length, prefix, limit);
  return rows.map((row) => ({ streamName: row.stream_name, revision: BigInt(row.revision) }));
}

export function sqliteStatistics(db: Database.Database): StoreStatistics {
  const counts = db
    .prepare<[], { streams: number; events: number }>(
      'SELECT (SELECT count(*) FROM eventfold_streams) AS streams, (SELECT count(*) FROM eventfold_events) AS events',
    )
    .get()!;
  const ends = db
    .prepare<[], { oldest: number | null; newest: number | null }>(
      `SELECT (SELECT recorded_at FROM eventfold_events ORDER BY position ASC LIMIT 1) AS oldest,
              (SELECT recorded_at FROM eventfold_events ORDER BY position DESC LIMIT 1) AS newest`,
    )
    .get()!;
  const pageCount = db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  return {
    streams: counts.streams,
    events: counts.events,
    bytes: pageCount * pageSize,
    oldest: ends.oldest === null ? undefined : new Date(ends.oldest),
    newest: ends.newest === null ? undefined : new Date(ends.newest),
  };
}

export function sqliteImportCheckpoint(db: Database.Database, source: string): ImportCheckpoint | undefined {
  db.exec(CHECKPOINTS);
  const row = db
    .prepare<[string], { position: string; count: number }>('SELECT position, count FROM eventfold_import_checkpoints WHERE source = ?')
    .get(source);
  return row ? { source, position: row.position, count: row.count } : undefined;
}

/**
 * Writes one import batch and its checkpoint in one immediate transaction. Events get new positions in
 * the batch's order, so `$all` keeps the source's order; ids, revisions, metadata and times are kept.
 */
/**
 * Writes imported events as they were recorded, in one transaction with the checkpoint. They join the
 * hash chain as appended events do (each event's hash on its stream's tip, one sealed batch for the
 * whole import), so a copied store verifies.
 */
export function importSqliteEvents(db: Database.Database, events: readonly PreparedImport[], checkpoint: ImportCheckpoint, chain: SqliteChainWriter): ImportResult {
  db.exec(CHECKPOINTS);
  const streamRevision = db.prepare<[string], { revision: number }>('SELECT revision FROM eventfold_streams WHERE stream_name = ?');
  const findEvent = db.prepare<[string], { stream_name: string; revision: number }>(
    'SELECT stream_name, revision FROM eventfold_events WHERE event_id = ?',
  );
  const insertEvent = db.prepare(
    `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at, hash, batch)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertStream = db.prepare(
    `INSERT INTO eventfold_streams (stream_name, revision) VALUES (?, ?)
     ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision`,
  );
  const saveCheckpoint = db.prepare(
    `INSERT INTO eventfold_import_checkpoints (source, position, count, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (source) DO UPDATE SET position = excluded.position, count = excluded.count, updated_at = excluded.updated_at`,
  );
  const run = db.transaction((): ImportResult => {
    const current = new Map<string, bigint>();
    const known = new Map<string, KnownEvent>();
    for (const event of events) {
      if (!current.has(event.streamName)) current.set(event.streamName, BigInt(streamRevision.get(event.streamName)?.revision ?? -1));
      const found = findEvent.get(event.id);
      if (found) known.set(event.id, { streamName: found.stream_name, revision: BigInt(found.revision) });
    }
    const writes = planImport(events, current, known);
    const last = new Map<string, bigint>();
    const hashes: Buffer[] = [];
    const next = chain.next();
    let first = 0;
    let position = 0;
    for (const event of writes) {
      // Each event on its stream's tip as written so far (earlier rows of this import included).
      const [hash] = chain.hashes(event.streamName, event.revision - 1n, [event]);
      hashes.push(hash!);
      position = Number(insertEvent.run(
        event.id,
        event.streamName,
        Number(event.revision),
        event.type,
        event.data,
        event.metadata,
        event.correlationId,
        event.recordedAt.getTime(),
        hash,
        next.batch,
      ).lastInsertRowid);
      if (first === 0) first = position;
      last.set(event.streamName, event.revision);
    }
    if (hashes.length > 0) chain.seal(next, first, position, hashes);
    for (const [streamName, revision] of last) upsertStream.run(streamName, Number(revision));
    saveCheckpoint.run(checkpoint.source, checkpoint.position, checkpoint.count, Date.now());
    return { imported: writes.length, skipped: events.length - writes.length };
  });
  return run.immediate();
}
