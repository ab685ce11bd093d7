import type pg from 'pg';
import type { ChainBatch, ChainBatchHead, ChainSnapshot, ChainedEvent } from '../../event-store/hash-chain';
import { Position } from '../../event-store/position';
import { GENESIS_HASH, archivedBeforeOf, lifecycleHash, type LifecycleAction, type LifecycleRecord } from '../../event-store/stream-lifecycle';
import { withTransaction } from './pool';
import { storeUnavailable } from './store-unavailable';

const GENESIS = "decode(repeat('00', 32), 'hex')";

/**
 * Schema step: the hash chain (see src/event-store/hash-chain.ts for the encoding, which these functions
 * compute byte for byte). Triggers do the work inside whatever statement inserts events, so the append
 * function needs no change:
 * - a row trigger hashes each event from its stream's previous event (rows inserted earlier by the same
 *   statement are visible to it, so a group holding two appends to one stream chains them in order);
 * - a statement trigger records the statement's events as a batch (their hashes, as committed), then
 *   seals the batches of finished transactions into the `$all` chain in `$all` order (numbered, each
 *   hash over the one before). A batch is sealed by the next append after its transaction and every
 *   older one finished; until then `verify` checks it against its events but it has no number yet.
 * Events stored before this step are chained here, stream by stream, one batch per transaction.
 * Since step 7 (postgres-chained-append.ts) the append function hashes and batches its own events; these
 * triggers then serve rows inserted any other way.
 */
export const HASH_CHAIN_MIGRATION = `
  ALTER TABLE eventfold_events ADD COLUMN hash bytea;
  CREATE TABLE eventfold_chain (
    transaction_id xid8 NOT NULL,
    first_sequence bigint NOT NULL,
    last_sequence bigint NOT NULL,
    event_count bigint NOT NULL,
    hashes bytea NOT NULL,
    batch bigint UNIQUE,
    hash bytea,
    PRIMARY KEY (transaction_id, first_sequence)
  );
  CREATE INDEX eventfold_chain_pending ON eventfold_chain (transaction_id, first_sequence) WHERE batch IS NULL;
  CREATE FUNCTION eventfold_event_hash(p_previous bytea, p_stream text, p_revision bigint, p_id text, p_type text, p_data text, p_metadata text)
    RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT sha256(convert_to('eventfold/event/v1', 'UTF8') || p_previous || sha256(convert_to(p_stream, 'UTF8'))
                  || int8send(p_revision) || sha256(convert_to(p_id, 'UTF8')) || sha256(convert_to(p_type, 'UTF8'))
                  || sha256(convert_to(p_data, 'UTF8')) || sha256(convert_to(p_metadata, 'UTF8')))
  $fn$;
  CREATE FUNCTION eventfold_hash_event() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    NEW.hash := eventfold_event_hash(
      coalesce((SELECT hash FROM eventfold_events WHERE stream_name = NEW.stream_name AND revision = NEW.revision - 1), ${GENESIS}),
      NEW.stream_name, NEW.revision, NEW.event_id::text, NEW.type, NEW.data, NEW.metadata);
    RETURN NEW;
  END
  $fn$;
  -- Numbers and chains the committed batches in $all order, those of transactions that have all finished
  -- (below the oldest running one: the same bound the readers use). Whoever gets the lock seals; the
  -- others skip, so no append ever waits for it.
  CREATE FUNCTION eventfold_seal_pending() RETURNS void LANGUAGE plpgsql AS $fn$
  DECLARE
    r record; v_batch bigint; v_previous bytea;
  BEGIN
    IF NOT pg_try_advisory_xact_lock(7291003) THEN RETURN; END IF;
    SELECT batch, hash INTO v_batch, v_previous FROM eventfold_chain WHERE batch IS NOT NULL ORDER BY batch DESC LIMIT 1;
    v_batch := coalesce(v_batch, 0);
    v_previous := coalesce(v_previous, ${GENESIS});
    FOR r IN SELECT transaction_id, first_sequence, event_count, hashes FROM eventfold_chain
               WHERE batch IS NULL AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
               ORDER BY transaction_id, first_sequence LOOP
      v_batch := v_batch + 1;
      v_previous := sha256(convert_to('eventfold/batch/v1', 'UTF8') || v_previous || int8send(v_batch) || int8send(r.event_count) || r.hashes);
      UPDATE eventfold_chain SET batch = v_batch, hash = v_previous
        WHERE transaction_id = r.transaction_id AND first_sequence = r.first_sequence;
    END LOOP;
  END
  $fn$;
  CREATE FUNCTION eventfold_seal_batch() RETURNS trigger LANGUAGE plpgsql AS $fn$
  DECLARE
    v_count bigint; v_first bigint; v_last bigint; v_hashes bytea;
  BEGIN
    SELECT count(*), min(sequence), max(sequence), string_agg(hash, ''::bytea ORDER BY sequence)
      INTO v_count, v_first, v_last, v_hashes FROM inserted;
    IF v_count = 0 THEN RETURN NULL; END IF;
    INSERT INTO eventfold_chain (transaction_id, first_sequence, last_sequence, event_count, hashes)
      VALUES (pg_current_xact_id(), v_first, v_last, v_count, v_hashes);
    PERFORM eventfold_seal_pending();
    RETURN NULL;
  END
  $fn$;
  DO $fn$
  DECLARE
    r record;
  BEGIN
    FOR r IN SELECT transaction_id, sequence, stream_name, revision FROM eventfold_events ORDER BY stream_name, revision LOOP
      UPDATE eventfold_events e SET hash = eventfold_event_hash(
          coalesce((SELECT p.hash FROM eventfold_events p WHERE p.stream_name = r.stream_name AND p.revision = r.revision - 1), ${GENESIS}),
          e.stream_name, e.revision, e.event_id::text, e.type, e.data, e.metadata)
        WHERE e.transaction_id = r.transaction_id AND e.sequence = r.sequence;
    END LOOP;
    INSERT INTO eventfold_chain (transaction_id, first_sequence, last_sequence, event_count, hashes)
      SELECT transaction_id, min(sequence), max(sequence), count(*), string_agg(hash, ''::bytea ORDER BY sequence)
        FROM eventfold_events GROUP BY transaction_id;
    PERFORM eventfold_seal_pending();
  END
  $fn$;
  CREATE TRIGGER eventfold_hash_event BEFORE INSERT ON eventfold_events FOR EACH ROW EXECUTE FUNCTION eventfold_hash_event();
  CREATE TRIGGER eventfold_seal_batch AFTER INSERT ON eventfold_events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION eventfold_seal_batch();`;

/** Schema step: the lifecycle log (stream metadata and soft deletes), a hash chain of its own. */
export const LIFECYCLE_MIGRATION = `
  CREATE TABLE eventfold_lifecycle (
    sequence bigint PRIMARY KEY,
    stream_name text NOT NULL,
    action text NOT NULL,
    metadata text NOT NULL,
    recorded_at text NOT NULL,
    hash bytea NOT NULL
  );
  CREATE INDEX eventfold_lifecycle_stream ON eventfold_lifecycle (stream_name, sequence);`;

/**
 * Schema step: archiving. An archived event keeps a stub row (its hash, place and `archived`, the sequence
 * of the lifecycle record that moved its payload out); its data and metadata become empty text. Adding a
 * nullable column without a default rewrites nothing.
 */
export const ARCHIVE_MIGRATION = 'ALTER TABLE eventfold_events ADD COLUMN archived bigint;';

/** The lock that numbers lifecycle records one at a time. */
const LIFECYCLE_LOCK = 7_291_004;

/** The stream's metadata as last recorded. */
export async function readStreamMetadataText(pool: pg.Pool, streamName: string): Promise<string | undefined> {
  try {
    const result = await pool.query<{ metadata: string }>({
      name: 'eventfold_stream_metadata',
      text: 'SELECT metadata FROM eventfold_lifecycle WHERE stream_name = $1 ORDER BY sequence DESC LIMIT 1',
      values: [streamName],
    });
    return result.rows[0]?.metadata;
  } catch (error) {
    throw storeUnavailable('read failed', error);
  }
}

/**
 * Records one lifecycle action. It takes the stream's append lock (the same key as `eventfold_append`),
 * so the revision it reads is the stream's last until it commits, then the log's lock.
 */
export async function recordLifecycle(
  pool: pg.Pool,
  streamName: string,
  action: LifecycleAction,
  next: (current: string | undefined, revision: bigint) => string,
): Promise<void> {
  await withTransaction(
    pool,
    async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7291))', [streamName]);
      await client.query(`SELECT pg_advisory_xact_lock(${LIFECYCLE_LOCK})`);
      const current = (await client.query<{ metadata: string }>('SELECT metadata FROM eventfold_lifecycle WHERE stream_name = $1 ORDER BY sequence DESC LIMIT 1', [streamName])).rows[0];
      const revision = (await client.query<{ revision_text: string }>('SELECT revision::text AS revision_text FROM eventfold_streams WHERE stream_name = $1', [streamName])).rows[0];
      const last = (await client.query<{ sequence_text: string; hash: Buffer }>('SELECT sequence::text AS sequence_text, hash FROM eventfold_lifecycle ORDER BY sequence DESC LIMIT 1')).rows[0];
      const metadata = next(current?.metadata, revision ? BigInt(revision.revision_text) : -1n);
      const recordedAt = new Date().toISOString();
      const hash = lifecycleHash(last?.hash ?? GENESIS_HASH, { streamName, action, metadata, recordedAt });
      const sequence = (BigInt(last?.sequence_text ?? '0') + 1n).toString();
      await client.query('INSERT INTO eventfold_lifecycle (sequence, stream_name, action, metadata, recorded_at, hash) VALUES ($1, $2, $3, $4, $5, $6)', [
        sequence,
        streamName,
        action,
        metadata,
        recordedAt,
        hash,
      ]);
      // The record and the removal commit together: no payload leaves without its record, nor the reverse.
      const archivedBefore = archivedBeforeOf(action, metadata);
      if (archivedBefore !== undefined) {
        await client.query(
          `UPDATE eventfold_events SET data = '', metadata = '', correlation_id = NULL, archived = $1
           WHERE stream_name = $2 AND revision < $3 AND archived IS NULL`,
          [sequence, streamName, archivedBefore.toString()],
        );
      }
    },
    { cannotConnect: (error) => storeUnavailable('cannot connect', error) },
  );
}

const EVENT_COLUMNS = `e.transaction_id::text AS transaction_text, e.sequence::text AS sequence_text, e.event_id::text AS event_text,
  e.stream_name, e.revision::text AS revision_text, e.type, e.data, e.metadata, e.recorded_at, e.hash, e.archived::text AS archived_text`;
const BATCH_COLUMNS = 'c.batch::text AS batch_text, c.event_count::text AS count_text, c.hash, c.hashes, c.transaction_id::text AS transaction_text, c.first_sequence::text AS first_text';
const IN_BATCH = 'e.transaction_id = c.transaction_id AND e.sequence BETWEEN c.first_sequence AND c.last_sequence';

interface EventRow {
  transaction_text: string;
  sequence_text: string;
  event_text: string;
  stream_name: string;
  revision_text: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: Date;
  hash: Buffer | null;
  archived_text: string | null;
}

interface BatchRow {
  batch_text: string | null;
  count_text: string;
  hash: Buffer | null;
  hashes: Buffer;
  transaction_text: string;
  first_text: string;
}

function toHead(row: BatchRow | undefined): ChainBatchHead | undefined {
  return row ? { batch: BigInt(row.batch_text ?? '0'), eventCount: Number(row.count_text), hash: row.hash, committedHashes: row.hashes } : undefined;
}

function toChained(row: EventRow): ChainedEvent {
  return {
    position: Position.of(BigInt(row.transaction_text), BigInt(row.sequence_text)),
    id: row.event_text,
    streamName: row.stream_name,
    revision: BigInt(row.revision_text),
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
    hash: row.hash,
    ...(row.archived_text !== null ? { archivedBy: BigInt(row.archived_text) } : {}),
  };
}

/**
 * A snapshot of the chain: one connection holding a read-only REPEATABLE READ transaction, so every read
 * sees the same committed state. It has no transaction id, so live readers are not held back by it.
 */
export async function openPostgresChainSnapshot(pool: pg.Pool): Promise<ChainSnapshot> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw storeUnavailable('cannot connect', error);
  }
  let broken: Error | undefined;
  client.on('error', (error) => (broken ??= error));
  const query = async <Row extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> => {
    try {
      return (await client.query<Row>(text, values)).rows;
    } catch (error) {
      broken ??= error as Error;
      throw storeUnavailable('chain read failed', error);
    }
  };
  try {
    await query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  } catch (error) {
    client.release(broken);
    throw error;
  }
  /** The batches numbered in (after, through], each with the events it finds. */
  const batchesWithEvents = async (rows: readonly BatchRow[]): Promise<ChainBatch[]> => {
    if (rows.length === 0) return [];
    const keyOf = (row: { transaction_text: string; first_text: string }) => `${row.transaction_text}:${row.first_text}`;
    const events = await query<EventRow & { batch_transaction: string; batch_first: string }>(
      `SELECT c.transaction_id::text AS batch_transaction, c.first_sequence::text AS batch_first, ${EVENT_COLUMNS}
       FROM unnest($1::text[], $2::bigint[]) AS k(t, f)
       JOIN eventfold_chain c ON c.transaction_id = k.t::xid8 AND c.first_sequence = k.f
       JOIN eventfold_events e ON ${IN_BATCH}
       ORDER BY c.transaction_id, c.first_sequence, e.sequence`,
      [rows.map((row) => row.transaction_text), rows.map((row) => row.first_text)],
    );
    const byBatch = new Map<string, ChainedEvent[]>(rows.map((row) => [keyOf(row), []]));
    for (const event of events) byBatch.get(`${event.batch_transaction}:${event.batch_first}`)!.push(toChained(event));
    return rows.map((row) => ({
      batch: BigInt(row.batch_text ?? '0'),
      eventCount: Number(row.count_text),
      hash: row.hash,
      committedHashes: row.hashes,
      events: byBatch.get(keyOf(row))!,
    }));
  };
  return {
    readBatches: async (after, limit) =>
      batchesWithEvents(await query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM eventfold_chain c WHERE c.batch > $1 ORDER BY c.batch LIMIT $2`, [after.toString(), limit])),
    readStreamHeads: async (after, limit) =>
      (
        await query<{ stream_name: string; revision_text: string }>(
          `SELECT stream_name, revision::text AS revision_text FROM eventfold_streams
           WHERE stream_name COLLATE "C" > $1 ORDER BY stream_name COLLATE "C" LIMIT $2`,
          [after ?? '', limit],
        )
      ).map((row) => ({ streamName: row.stream_name, revision: BigInt(row.revision_text) })),
    readStreamHead: async (streamName) => {
      const row = (await query<{ revision_text: string }>('SELECT revision::text AS revision_text FROM eventfold_streams WHERE stream_name = $1', [streamName]))[0];
      return row ? BigInt(row.revision_text) : undefined;
    },
    readStreamEvents: async (streamName, from, limit) =>
      (
        await query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM eventfold_events e WHERE e.stream_name = $1 AND e.revision >= $2 ORDER BY e.revision LIMIT $3`, [
          streamName,
          from.toString(),
          limit,
        ])
      ).map(toChained),
    readChainHead: async () => toHead((await query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM eventfold_chain c WHERE c.batch IS NOT NULL ORDER BY c.batch DESC LIMIT 1`))[0]),
    readPendingBatches: async () =>
      batchesWithEvents(await query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM eventfold_chain c WHERE c.batch IS NULL ORDER BY c.transaction_id, c.first_sequence`)),
    readBatchHead: async (batch) => toHead((await query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM eventfold_chain c WHERE c.batch = $1`, [batch.toString()]))[0]),
    countEvents: async () => BigInt((await query<{ count: string }>('SELECT count(*)::text AS count FROM eventfold_events'))[0]!.count),
    findUnchainedEvent: async () => {
      const row = (
        await query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM eventfold_events e
           WHERE NOT EXISTS (SELECT 1 FROM eventfold_chain c WHERE ${IN_BATCH}) ORDER BY e.transaction_id, e.sequence LIMIT 1`,
        )
      )[0];
      return row ? toChained(row) : undefined;
    },
    readBatchesOfStream: async (streamName, after, limit) =>
      batchesWithEvents(
        await query<BatchRow>(
          `SELECT ${BATCH_COLUMNS} FROM eventfold_chain c
           WHERE (c.transaction_id, c.first_sequence) IN
                   (SELECT c2.transaction_id, c2.first_sequence FROM eventfold_events e JOIN eventfold_chain c2
                      ON e.transaction_id = c2.transaction_id AND e.sequence BETWEEN c2.first_sequence AND c2.last_sequence
                    WHERE e.stream_name = $1)
             AND (c.batch > $2 OR (c.batch IS NULL AND $2 >= 0))
           ORDER BY c.batch NULLS LAST, c.transaction_id, c.first_sequence LIMIT $3`,
          [streamName, after.toString(), limit],
        ),
      ),
    readLifecycle: async (after, limit) =>
      (
        await query<{ sequence_text: string; stream_name: string; action: string; metadata: string; recorded_at: string; hash: Buffer }>(
          'SELECT sequence::text AS sequence_text, stream_name, action, metadata, recorded_at, hash FROM eventfold_lifecycle WHERE sequence > $1 ORDER BY sequence LIMIT $2',
          [after.toString(), limit],
        )
      ).map(
        (row): LifecycleRecord => ({
          sequence: BigInt(row.sequence_text),
          streamName: row.stream_name,
          action: row.action as LifecycleAction,
          metadata: row.metadata,
          recordedAt: row.recorded_at,
          hash: row.hash,
        }),
      ),
    close: async () => {
      try {
        if (!broken) await client.query('COMMIT');
      } catch (error) {
        broken ??= error as Error;
      } finally {
        client.release(broken);
      }
    },
  };
}
