import type pg from 'pg';
import { EventfoldError } from '../../internal/eventfold-error';
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
import { storeUnavailable } from './store-unavailable';

/**
 * Import checkpoints live beside the events; the table is made on first use (not a migration step), so
 * a store that never imports has none.
 */
const CHECKPOINTS = `CREATE TABLE IF NOT EXISTS eventfold_import_checkpoints (
  source text PRIMARY KEY,
  position text NOT NULL,
  count bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`;
/** Pools whose database has the checkpoint table already (made once per pool, not once per batch). */
const prepared = new WeakSet<pg.Pool>();

async function ensureCheckpoints(pool: pg.Pool): Promise<void> {
  if (prepared.has(pool)) return;
  await query(pool, CHECKPOINTS, []);
  prepared.add(pool);
}

/** Only events of transactions that have all finished, as every read of `$all` (see postgres-schema.ts). */
const SAFE = 'transaction_id < pg_snapshot_xmin(pg_current_snapshot())';

export async function listPostgresStreams(pool: pg.Pool, options?: ListStreamsOptions): Promise<StreamSummary[]> {
  const { prefix, after, limit } = resolveListStreams(options);
  const rows = await query<{ stream_name: string; revision: string }>(
    pool,
    `SELECT stream_name, revision::text FROM eventfold_streams
     WHERE starts_with(stream_name, $1) AND stream_name > $2
     ORDER BY stream_name LIMIT $3`,
    [prefix, after, limit],
  );
  return rows.map((row) => ({ streamName: row.stream_name, revision: BigInt(row.revision) }));
}

export async function postgresStatistics(pool: pg.Pool): Promise<StoreStatistics> {
  const [row] = await query<{ streams: string; events: string; bytes: string; oldest: number | null; newest: number | null }>(
    pool,
    `SELECT (SELECT count(*) FROM eventfold_streams)::text AS streams,
            (SELECT count(*) FROM eventfold_events)::text AS events,
            (pg_total_relation_size('eventfold_events') + pg_total_relation_size('eventfold_streams'))::text AS bytes,
            (SELECT (extract(epoch FROM recorded_at) * 1000)::float8 FROM eventfold_events WHERE ${SAFE}
              ORDER BY transaction_id, sequence LIMIT 1) AS oldest,
            (SELECT (extract(epoch FROM recorded_at) * 1000)::float8 FROM eventfold_events WHERE ${SAFE}
              ORDER BY transaction_id DESC, sequence DESC LIMIT 1) AS newest`,
    [],
  );
  return {
    streams: Number(row!.streams),
    events: Number(row!.events),
    bytes: Number(row!.bytes),
    oldest: row!.oldest === null ? undefined : new Date(row!.oldest),
    newest: row!.newest === null ? undefined : new Date(row!.newest),
  };
}

export async function postgresImportCheckpoint(pool: pg.Pool, source: string): Promise<ImportCheckpoint | undefined> {
  await ensureCheckpoints(pool);
  const [row] = await query<{ position: string; count: string }>(
    pool,
    'SELECT position, count::text FROM eventfold_import_checkpoints WHERE source = $1',
    [source],
  );
  return row ? { source, position: row.position, count: Number(row.count) } : undefined;
}

/**
 * Writes one import batch and its checkpoint in one transaction. It takes the same stream locks as
 * `eventfold_append`, before writing anything (so before it has a transaction id), which keeps it
 * gap-safe and in revision order beside concurrent appends. Events are inserted in the batch's order,
 * so `$all` keeps the source's order; ids, revisions, metadata and recorded times are kept.
 */
export async function importPostgresEvents(pool: pg.Pool, events: readonly PreparedImport[], checkpoint: ImportCheckpoint): Promise<ImportResult> {
  await ensureCheckpoints(pool);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw storeUnavailable('import failed', error);
  }
  try {
    await client.query('BEGIN');
    const streams = [...new Set(events.map((event) => event.streamName))];
    await client.query(
      `SELECT pg_advisory_xact_lock(lock_key)
         FROM (SELECT DISTINCT hashtextextended(name, 7291) AS lock_key FROM unnest($1::text[]) AS name) AS keys
        ORDER BY lock_key`,
      [streams],
    );
    const current = new Map<string, bigint>(streams.map((name) => [name, -1n]));
    const revisions = await client.query<{ stream_name: string; revision: string }>(
      'SELECT stream_name, revision::text FROM eventfold_streams WHERE stream_name = ANY($1::text[])',
      [streams],
    );
    for (const row of revisions.rows) current.set(row.stream_name, BigInt(row.revision));
    const known = new Map<string, KnownEvent>();
    const found = await client.query<{ event_id: string; stream_name: string; revision: string }>(
      'SELECT event_id::text, stream_name, revision::text FROM eventfold_events WHERE event_id = ANY($1::uuid[])',
      [events.map((event) => event.id)],
    );
    for (const row of found.rows) known.set(row.event_id, { streamName: row.stream_name, revision: BigInt(row.revision) });
    const writes = planImport(events, current, known);
    if (writes.length > 0) {
      await client.query(
        `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at)
         SELECT id, stream_name, revision, type, data, metadata, correlation_id, recorded_at
           FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
                WITH ORDINALITY AS t(id, stream_name, revision, type, data, metadata, correlation_id, recorded_at, ordinal)
          ORDER BY ordinal`,
        [
          writes.map((event) => event.id),
          writes.map((event) => event.streamName),
          writes.map((event) => event.revision.toString()),
          writes.map((event) => event.type),
          writes.map((event) => event.data),
          writes.map((event) => event.metadata),
          writes.map((event) => event.correlationId),
          writes.map((event) => event.recordedAt.toISOString()),
        ],
      );
      const last = new Map<string, bigint>();
      for (const event of writes) last.set(event.streamName, event.revision);
      await client.query(
        `INSERT INTO eventfold_streams (stream_name, revision) SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision`,
        [[...last.keys()], [...last.values()].map(String)],
      );
      await client.query(`SELECT pg_notify('eventfold_events', '')`);
    }
    await client.query(
      `INSERT INTO eventfold_import_checkpoints (source, position, count) VALUES ($1, $2, $3)
       ON CONFLICT (source) DO UPDATE SET position = excluded.position, count = excluded.count, updated_at = now()`,
      [checkpoint.source, checkpoint.position, checkpoint.count],
    );
    await client.query('COMMIT');
    return { imported: writes.length, skipped: events.length - writes.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof EventfoldError) throw error;
    throw storeUnavailable('import failed', error);
  } finally {
    client.release();
  }
}

async function query<Row extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[]): Promise<Row[]> {
  try {
    return (await pool.query<Row>(text, values)).rows;
  } catch (error) {
    throw storeUnavailable('query failed', error);
  }
}
