import type pg from 'pg';
import type { EventFilter, EventMetadata, FoldEvent, JsonValue, RecordedEvent, StreamFoldPage, Direction } from '../../event-store/event-store';
import { metadataPicker } from '../../event-store/fold-read';
import { Position, type FromPosition } from '../../event-store/position';
import { storeUnavailable } from './store-unavailable';

/**
 * The event columns for the hot reads (streams, `$all`, correlations), fetched as arrays, with the time as
 * epoch milliseconds: node-pg's timestamp parser and row objects cost more than the rest of the decoding.
 * Aliases differ from column names on purpose: ORDER BY binds a bare name to an output column first,
 * and ordering by the text form of a transaction id puts '1000' before '999'.
 */
const PAGE_COLUMNS = `transaction_id::text AS c0, sequence::text AS c1, event_id::text AS c2, stream_name AS c3, revision::text AS c4,
  type AS c5, data AS c6, metadata AS c7, (extract(epoch FROM recorded_at) * 1000)::float8 AS c8`;
/** Only events of transactions that have all finished: see postgres-schema.ts for why this is gap-safe. */
const SAFE = 'transaction_id < pg_snapshot_xmin(pg_current_snapshot())';
/** Archived events are stubs without payload: every read skips them (positions stay in order). */
const LIVE = 'archived IS NULL';
const FILTERS = `($4::text[] IS NULL OR type = ANY($4::text[]))
  AND ($5::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($5::text[]) AS prefix WHERE starts_with(stream_name, prefix)))`;
/**
 * A forwards page of `$all`, and in the same statement (one round trip, one snapshot) whether committed
 * events after the cursor are still hidden behind an older running transaction: a last row of NULLs
 * (`c0 IS NULL`) says so. It is looked for only when the page is short (the reader is at the visible
 * head); the hidden events are exactly those the snapshot sees at or above its xmin.
 */
const READ_ALL_FORWARDS = `WITH page AS MATERIALIZED (
    SELECT ${PAGE_COLUMNS}, transaction_id AS k0, sequence AS k1 FROM eventfold_events
    WHERE (transaction_id, sequence) > ($1::xid8, $2::bigint) AND ${SAFE} AND ${LIVE} AND ${FILTERS}
    ORDER BY transaction_id, sequence LIMIT $3)
  SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8 FROM (
    SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, k0, k1 FROM page
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    WHERE CASE WHEN (SELECT count(*) FROM page) < $3 THEN EXISTS (
      SELECT 1 FROM eventfold_events
      WHERE (transaction_id, sequence) > ($1::xid8, $2::bigint) AND NOT (${SAFE}) AND ${LIVE} AND ${FILTERS})
    ELSE false END) AS rows
  ORDER BY k0 NULLS LAST, k1`;
const READ_ALL_BACKWARDS = `SELECT ${PAGE_COLUMNS} FROM eventfold_events
  WHERE (transaction_id, sequence) < ($1::xid8, $2::bigint) AND ${SAFE} AND ${LIVE} AND ${FILTERS}
  ORDER BY transaction_id DESC, sequence DESC LIMIT $3`;
/**
 * A stream page for a fold: type, data and metadata per event, and the columns of a full event only on
 * the page's last row (NULL elsewhere, which costs nothing to send or decode).
 */
const READ_STREAM_FOR_FOLD = `SELECT type, data, metadata,
    CASE WHEN last THEN transaction_id::text END, CASE WHEN last THEN sequence::text END,
    CASE WHEN last THEN event_id::text END, CASE WHEN last THEN revision::text END,
    CASE WHEN last THEN (extract(epoch FROM recorded_at) * 1000)::float8 END
  FROM (SELECT page.*, page.revision = max(page.revision) OVER () AS last
        FROM (SELECT type, data, metadata, transaction_id, sequence, event_id, revision, recorded_at FROM eventfold_events
              WHERE stream_name = $1 AND revision >= $2 AND ${LIVE} ORDER BY revision LIMIT $3) AS page) AS marked
  ORDER BY revision`;
/**
 * A fold's start in one round trip (the command path reads a stream this way before every decision): the
 * stream's lifecycle metadata as first column, then the first fold page as `READ_STREAM_FOR_FOLD` gives
 * it; one row of NULLs after the metadata when the stream has no events there.
 */
const READ_STREAM_FOLD_START = `SELECT l.lifecycle, f.type, f.data, f.metadata,
    CASE WHEN f.last THEN f.transaction_id::text END, CASE WHEN f.last THEN f.sequence::text END,
    CASE WHEN f.last THEN f.event_id::text END, CASE WHEN f.last THEN f.revision::text END,
    CASE WHEN f.last THEN (extract(epoch FROM f.recorded_at) * 1000)::float8 END
  FROM (SELECT (SELECT metadata FROM eventfold_lifecycle WHERE stream_name = $1 ORDER BY sequence DESC LIMIT 1) AS lifecycle) AS l
  LEFT JOIN (SELECT page.*, page.revision = max(page.revision) OVER () AS last
             FROM (SELECT type, data, metadata, transaction_id, sequence, event_id, revision, recorded_at FROM eventfold_events
                   WHERE stream_name = $1 AND revision >= $2 AND ${LIVE} ORDER BY revision LIMIT $3) AS page) AS f ON true
  ORDER BY f.revision`;
const MAX_TRANSACTION_ID = ((1n << 64n) - 1n).toString();
const MAX_SEQUENCE = ((1n << 63n) - 1n).toString();

/**
 * The event store's reads, each one prepared statement on the pool. Failures are the database's
 * (`StoreUnavailableError`): a read has no input that PostgreSQL could refuse.
 */
export class PostgresEventReads {
  constructor(private readonly pool: pg.Pool) {}

  async streamPage(streamName: string, from: bigint, direction: Direction, limit: number): Promise<readonly RecordedEvent[]> {
    const forwards = direction === 'forwards';
    const rows = await this.pageQuery(
      forwards ? 'eventfold_read_stream_forwards_v3' : 'eventfold_read_stream_backwards_v3',
      `SELECT ${PAGE_COLUMNS} FROM eventfold_events WHERE stream_name = $1 AND revision ${forwards ? '>=' : '<='} $2 AND ${LIVE}
       ORDER BY revision ${forwards ? 'ASC' : 'DESC'} LIMIT $3`,
      [streamName, from.toString(), limit],
    );
    return rows.map(fromPageRow);
  }

  /** The stream's lifecycle metadata and its first fold page from `from`, in one statement (one snapshot). */
  async streamFoldStart(
    streamName: string,
    from: bigint,
    limit: number,
    metadataKeys: readonly string[],
  ): Promise<{ metadataText: string | undefined; first: StreamFoldPage | undefined }> {
    const rows = (await this.pageQuery('eventfold_read_stream_fold_start', READ_STREAM_FOLD_START, [
      streamName,
      from.toString(),
      limit,
    ])) as unknown as Array<[string | null, ...FoldRow]>;
    const metadataText = rows[0]?.[0] ?? undefined;
    const lastRow = rows[rows.length - 1];
    if (!lastRow || lastRow[1] === null) return { metadataText, first: undefined };
    const pick = metadataPicker(metadataKeys);
    const events = rows.map((row): FoldEvent => ({ type: row[1], data: JSON.parse(row[2]) as JsonValue, metadata: pick(row[3]) }));
    const [, type, data, metadata, transactionId, sequence, id, revision, recordedAt] = lastRow;
    if (transactionId === null || sequence === null || id === null || revision === null || recordedAt === null) {
      throw storeUnavailable('read failed', `the last row of a page of stream "${streamName}" came without its position`);
    }
    const last = fromPageRow([transactionId, sequence, id, streamName, revision, type, data, metadata, recordedAt]);
    return { metadataText, first: { fromRevision: from, events, last } };
  }

  async streamFoldPage(
    streamName: string,
    from: bigint,
    limit: number,
    metadataKeys: readonly string[],
  ): Promise<StreamFoldPage | undefined> {
    const rows = (await this.pageQuery('eventfold_read_stream_for_fold_v2', READ_STREAM_FOR_FOLD, [
      streamName,
      from.toString(),
      limit,
    ])) as unknown as FoldRow[];
    const lastRow = rows[rows.length - 1];
    if (!lastRow) return undefined;
    const pick = metadataPicker(metadataKeys);
    const events = rows.map((row): FoldEvent => ({ type: row[0], data: JSON.parse(row[1]) as JsonValue, metadata: pick(row[2]) }));
    const [type, data, metadata, transactionId, sequence, id, revision, recordedAt] = lastRow;
    if (transactionId === null || sequence === null || id === null || revision === null || recordedAt === null) {
      throw storeUnavailable('read failed', `the last row of a page of stream "${streamName}" came without its position`);
    }
    const last = fromPageRow([transactionId, sequence, id, streamName, revision, type, data, metadata, recordedAt]);
    return { fromRevision: from, events, last };
  }

  /**
   * `$all` forwards after `after`, and whether committed events beyond the page are still hidden behind
   * an older running transaction (only looked for when the page is short). One round trip.
   */
  async allPageForwards(after: FromPosition, limit: number, filter: EventFilter | undefined): Promise<AllPage> {
    if (after === 'end') return { events: [], hidden: false };
    const [transactionId, sequence] = after === 'start' ? ['0', '0'] : [after.commit.toString(), after.prepare.toString()];
    const rows = await this.pageQuery('eventfold_read_all_forwards_v4', READ_ALL_FORWARDS, [
      transactionId,
      sequence,
      limit,
      filter?.eventTypes ?? null,
      filter?.streamPrefixes ?? null,
    ]);
    const hidden = rows.length > 0 && rows[rows.length - 1]![0] === null;
    if (hidden) rows.pop();
    return { events: rows.map(fromPageRow), hidden };
  }

  async allPageBackwards(after: FromPosition, limit: number, filter: EventFilter | undefined): Promise<readonly RecordedEvent[]> {
    if (after === 'start') return [];
    const [transactionId, sequence] = after === 'end' ? [MAX_TRANSACTION_ID, MAX_SEQUENCE] : [after.commit.toString(), after.prepare.toString()];
    const rows = await this.pageQuery('eventfold_read_all_backwards_v3', READ_ALL_BACKWARDS, [
      transactionId,
      sequence,
      limit,
      filter?.eventTypes ?? null,
      filter?.streamPrefixes ?? null,
    ]);
    return rows.map(fromPageRow);
  }

  async correlationPage(correlationId: string, after: Position | 'start', limit: number): Promise<readonly RecordedEvent[]> {
    const [transactionId, sequence] = after === 'start' ? ['0', '0'] : [after.commit.toString(), after.prepare.toString()];
    const rows = await this.pageQuery(
      'eventfold_read_correlation_v3',
      `SELECT ${PAGE_COLUMNS} FROM eventfold_events
       WHERE correlation_id = $1 AND (transaction_id, sequence) > ($2::xid8, $3::bigint) AND ${SAFE} AND ${LIVE}
       ORDER BY transaction_id, sequence LIMIT $4`,
      [correlationId, transactionId, sequence, limit],
    );
    return rows.map(fromPageRow);
  }

  async streamRevision(streamName: string): Promise<bigint> {
    const rows = await this.query<{ revision: string }>(
      'eventfold_stream_revision',
      'SELECT revision FROM eventfold_streams WHERE stream_name = $1',
      [streamName],
    );
    return rows[0] ? BigInt(rows[0].revision) : -1n;
  }

  async headPosition(): Promise<Position | undefined> {
    const rows = await this.query<{ transaction_text: string; sequence: string }>(
      'eventfold_head',
      `SELECT transaction_id::text AS transaction_text, sequence FROM eventfold_events WHERE ${SAFE}
       ORDER BY transaction_id DESC, sequence DESC LIMIT 1`,
      [],
    );
    return rows[0] ? Position.of(BigInt(rows[0].transaction_text), BigInt(rows[0].sequence)) : undefined;
  }

  /** A read of `PAGE_COLUMNS` rows as arrays: node-pg builds no row objects and parses no timestamps. */
  private async pageQuery(name: string, text: string, values: unknown[]): Promise<PageRow[]> {
    try {
      return (await this.pool.query<PageRow>({ name, text, values, rowMode: 'array' })).rows;
    } catch (error) {
      throw storeUnavailable('read failed', error);
    }
  }

  private async query<Row extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>({ name, text, values })).rows;
    } catch (error) {
      throw storeUnavailable('read failed', error);
    }
  }
}

/** A row of `READ_STREAM_FOR_FOLD`: the full event's columns are set on the page's last row only. */
type FoldRow = [string, string, string, string | null, string | null, string | null, string | null, number | null];

/** A forwards page of `$all`; `hidden`: committed events after it wait behind an older running transaction. */
export interface AllPage {
  readonly events: readonly RecordedEvent[];
  readonly hidden: boolean;
}

/** A row of `PAGE_COLUMNS`, as an array. */
type PageRow = [string, string, string, string, string, string, string, string, number];

function fromPageRow(row: PageRow): RecordedEvent {
  return {
    id: row[2],
    type: row[5],
    streamName: row[3],
    revision: BigInt(row[4]),
    position: Position.of(BigInt(row[0]), BigInt(row[1])),
    data: JSON.parse(row[6]) as JsonValue,
    metadata: JSON.parse(row[7]) as EventMetadata,
    recordedAt: new Date(row[8]),
  };
}
