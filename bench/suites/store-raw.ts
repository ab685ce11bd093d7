// The `raw` side of the store suite: the durable work of an append written directly against the
// drivers, as a team would write it by hand for the same contract: the same rows (id, stream,
// revision, type, data, metadata, correlation id, time), the same indexes the contract needs (unique
// event id for idempotency, unique stream + revision, the stream's revision row, the correlation
// index) and the same durability (SQLite WAL + synchronous=FULL; PostgreSQL fsync and
// synchronous_commit on). What it leaves out is what the contract adds on top: validation, the
// expected-revision check, repeated-append detection, group commit, notifications.
import Database from 'better-sqlite3';
import pg from 'pg';
import type { EventData } from '../../src/event-store';

export interface RawAppender {
  /** One append, in one transaction of its own. */
  append(streamName: string, events: readonly EventData[]): Promise<void>;
  close(): Promise<void>;
}

function correlationOf(event: EventData): string | null {
  const correlationId = (event.metadata as { correlationId?: unknown } | undefined)?.correlationId;
  return typeof correlationId === 'string' ? correlationId : null;
}

/** better-sqlite3, one transaction per append (it is synchronous: concurrent callers take turns). */
export function rawSqlite(path: string): RawAppender {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS raw_streams (stream_name TEXT PRIMARY KEY, revision INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS raw_events (
      position INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id TEXT NOT NULL UNIQUE,
      stream_name TEXT NOT NULL,
      revision INTEGER NOT NULL,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      metadata TEXT NOT NULL,
      correlation_id TEXT,
      recorded_at INTEGER NOT NULL,
      UNIQUE (stream_name, revision)
    );
    CREATE INDEX IF NOT EXISTS raw_events_correlation ON raw_events (correlation_id, position) WHERE correlation_id IS NOT NULL;
  `);
  const revision = db.prepare<[string], { revision: number }>('SELECT revision FROM raw_streams WHERE stream_name = ?');
  const insert = db.prepare(
    'INSERT INTO raw_events (event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const upsert = db.prepare('INSERT INTO raw_streams (stream_name, revision) VALUES (?, ?) ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision');
  const append = db.transaction((streamName: string, events: readonly EventData[]) => {
    let next = revision.get(streamName)?.revision ?? -1;
    const now = Date.now();
    for (const event of events) {
      next++;
      insert.run(event.id, streamName, next, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata ?? {}), correlationOf(event), now);
    }
    upsert.run(streamName, next);
  });
  return {
    append(streamName, events) {
      append.immediate(streamName, events);
      return Promise.resolve();
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}

/**
 * pg, one statement per append (one round trip, one transaction): lock the stream's row, insert the
 * events from arrays, move the stream's revision. Its table is eventfold's (gap-safe positions:
 * transaction id + sequence).
 */
export async function rawPostgres(url: string, connections: number): Promise<RawAppender> {
  const pool = new pg.Pool({ connectionString: url, max: connections });
  pool.on('error', () => undefined);
  await pool.query(`
    CREATE TABLE IF NOT EXISTS raw_streams (stream_name text PRIMARY KEY, revision bigint NOT NULL);
    CREATE TABLE IF NOT EXISTS raw_events (
      transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
      sequence bigserial NOT NULL,
      event_id uuid NOT NULL UNIQUE,
      stream_name text NOT NULL,
      revision bigint NOT NULL,
      type text NOT NULL,
      data text NOT NULL,
      metadata text NOT NULL,
      correlation_id text,
      recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (transaction_id, sequence),
      UNIQUE (stream_name, revision)
    );
    CREATE INDEX IF NOT EXISTS raw_events_correlation ON raw_events (correlation_id, transaction_id, sequence) WHERE correlation_id IS NOT NULL;
  `);
  const text = `
    WITH current AS (
      SELECT coalesce((SELECT revision FROM raw_streams WHERE stream_name = $1 FOR UPDATE), -1) AS revision
    ), inserted AS (
      INSERT INTO raw_events (event_id, stream_name, revision, type, data, metadata, correlation_id)
      SELECT e.id, $1, current.revision + e.ordinal, e.type, e.data, e.metadata, e.correlation
        FROM current, unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
             AS e(id, type, data, metadata, correlation, ordinal)
      RETURNING revision
    )
    INSERT INTO raw_streams (stream_name, revision) SELECT $1, max(revision) FROM inserted
    ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision`;
  return {
    async append(streamName, events) {
      await pool.query({
        name: 'raw_append',
        text,
        values: [
          streamName,
          events.map((event) => event.id),
          events.map((event) => event.type),
          events.map((event) => JSON.stringify(event.data)),
          events.map((event) => JSON.stringify(event.metadata ?? {})),
          events.map(correlationOf),
        ],
      });
    },
    close: () => pool.end(),
  };
}
