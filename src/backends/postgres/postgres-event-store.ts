import './transient-errors';
import type { ReactorStateStore } from '../../handlers/reactor-state-store';
import { PostgresReactorStateStore } from './postgres-reactor-state-store';
import { migratePostgres } from './migrations';
import pg from 'pg';
import type { AppendHook, AppendHookHost } from '../../event-store/append-hook';
import type { PostgresAppendHookContext } from './append-hook-context';
import { DuplicateEventIdError, StoreUnavailableError, WrongExpectedRevisionError } from '../../event-store/errors';
import type {
  AppendResult,
  Direction,
  EventFilter,
  EventMetadata,
  ExpectedRevision,
  FoldEvent,
  JsonValue,
  RecordedEvent,
  StreamFoldPage,
  StoreCapabilities,
} from '../../event-store/event-store';
import { metadataPicker } from '../../event-store/fold-read';
import { resolveRepeatedAppend } from '../../event-store/idempotency';
import { PagedEventStore, type PagedEventStoreOptions } from '../../event-store/paged-event-store';
import { Position, type FromPosition } from '../../event-store/position';
import { MIGRATIONS } from './postgres-schema';
import type { PreparedEvent } from '../../event-store/validation';

export interface PostgresEventStoreOptions extends PagedEventStoreOptions {
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number;
  /** Group commits in flight at once; more overlaps round trips, fewer makes bigger groups. Default 2. */
  readonly maxConcurrentCommits?: number;
  /** Most events in one group commit (a single larger append still goes alone). Default 5,000. */
  readonly maxGroupEvents?: number;
}

interface PendingAppend {
  readonly streamName: string;
  readonly events: readonly PreparedEvent[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

interface AppendRow {
  o_status: 'ok' | 'wrong' | 'repeat';
  o_revision: string;
  o_transaction_id: string | null;
  o_sequence: string | null;
  o_prior_stream: string | null;
  o_prior_revision: string | null;
}

interface EventRow {
  transaction_text: string;
  sequence: string;
  event_text: string;
  stream_name: string;
  revision: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: Date;
}

const CHANNEL = 'eventfold_events';
// Aliases differ from column names on purpose: ORDER BY binds a bare name to an output column first,
// and ordering by the text form of a transaction id puts '1000' before '999'.
const COLUMNS =
  'transaction_id::text AS transaction_text, sequence, event_id::text AS event_text, stream_name, revision, type, data, metadata, recorded_at';
/**
 * The same columns for the hot reads (streams, `$all`, correlations), fetched as arrays, with the time as
 * epoch milliseconds: node-pg's timestamp parser and row objects cost more than the rest of the decoding.
 * Aliased apart from the column names, for the same reason as `COLUMNS`.
 */
const PAGE_COLUMNS = `transaction_id::text AS c0, sequence::text AS c1, event_id::text AS c2, stream_name AS c3, revision::text AS c4,
  type AS c5, data AS c6, metadata AS c7, (extract(epoch FROM recorded_at) * 1000)::float8 AS c8`;
/** Only events of transactions that have all finished: see postgres-schema.ts for why this is gap-safe. */
const SAFE = 'transaction_id < pg_snapshot_xmin(pg_current_snapshot())';
const FILTERS = `($4::text[] IS NULL OR type = ANY($4::text[]))
  AND ($5::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($5::text[]) AS prefix WHERE starts_with(stream_name, prefix)))`;
const READ_ALL_FORWARDS = `SELECT ${PAGE_COLUMNS} FROM eventfold_events
  WHERE (transaction_id, sequence) > ($1::xid8, $2::bigint) AND ${SAFE} AND ${FILTERS}
  ORDER BY transaction_id, sequence LIMIT $3`;
const READ_ALL_BACKWARDS = `SELECT ${PAGE_COLUMNS} FROM eventfold_events
  WHERE (transaction_id, sequence) < ($1::xid8, $2::bigint) AND ${SAFE} AND ${FILTERS}
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
              WHERE stream_name = $1 AND revision >= $2 ORDER BY revision LIMIT $3) AS page) AS marked
  ORDER BY revision`;
const MAX_TRANSACTION_ID = ((1n << 64n) - 1n).toString();
/** Serialises group commits while append hooks are registered, so that inline checkpoints advance in order. */
const HOOKED_APPEND_LOCK = 7_291_002;
/** This transaction's events, and what came before them (see `PostgresAppendHookContext.ordered`). */
const HOOK_CONTEXT = `SELECT ${COLUMNS} FROM eventfold_events WHERE transaction_id = pg_current_xact_id() ORDER BY sequence;
  SELECT pg_snapshot_xmin(pg_current_snapshot()) = pg_current_xact_id() AS ordered,
         (SELECT transaction_id::text FROM eventfold_events WHERE transaction_id < pg_current_xact_id()
           ORDER BY transaction_id DESC, sequence DESC LIMIT 1) AS head_transaction,
         (SELECT sequence FROM eventfold_events WHERE transaction_id < pg_current_xact_id()
           ORDER BY transaction_id DESC, sequence DESC LIMIT 1) AS head_sequence`;
const TYPED_BEFORE = `SELECT 1 FROM eventfold_events
  WHERE (transaction_id, sequence) > ($1::xid8, $2::bigint) AND transaction_id < pg_current_xact_id() AND type = ANY($3::text[])
  LIMIT 1`;
const MAX_SEQUENCE = ((1n << 63n) - 1n).toString();

/**
 * PostgreSQL backend: shared by many API and worker processes. It creates or migrates its schema,
 * appends many concurrent appends in one round trip and one commit (group commit), wakes subscribers
 * with LISTEN/NOTIFY (and polls as a fallback), and is gap-safe: see `postgres-schema.ts`.
 *
 * @example
 * const store = await PostgresEventStore.connect('postgres://user:pw@127.0.0.1:5432/app');
 */
export class PostgresEventStore extends PagedEventStore implements AppendHookHost {
  readonly backend = 'postgres' as const;
  readonly capabilities: StoreCapabilities = { durable: true, sequencePositions: true };
  private pending: PendingAppend[] = [];
  private readonly hooks = new Set<AppendHook>();
  private commitsInFlight = 0;
  private readonly maxConcurrentCommits: number;
  private readonly maxGroupEvents: number;
  private listener: pg.Client | undefined;
  private listenerRetry: NodeJS.Timeout | undefined;

  private constructor(
    /** The connection pool; read models in the same database may use it (inline projections, snapshots). */
    readonly pool: pg.Pool,
    private readonly connectionString: string,
    options: PostgresEventStoreOptions,
  ) {
    super(options, 500);
    this.maxConcurrentCommits = options.maxConcurrentCommits ?? 2;
    this.maxGroupEvents = options.maxGroupEvents ?? 5_000;
  }

  /** Connects, migrates the schema if needed, and starts listening for new events. */
  /** The reactor bookkeeping in this store's database (checkpoints, parked events, leases). */
  openReactorState(): Promise<ReactorStateStore> {
    return PostgresReactorStateStore.create(this.pool);
  }

  static async connect(connectionString: string, options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
    const pool = new pg.Pool({ connectionString, max: options.poolSize ?? 10 });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    try {
      await migratePostgres(pool, { table: 'eventfold_schema', steps: MIGRATIONS });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw unavailable('cannot prepare the PostgreSQL event store', error);
    }
    const store = new PostgresEventStore(pool, connectionString, options);
    await store.listen();
    return store;
  }

  private async listen(): Promise<void> {
    if (this.isClosed) return;
    const client = new pg.Client({ connectionString: this.connectionString });
    const reconnect = (): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      // Until the listener is back, subscribers still poll; after it is back, wake them in case they missed one.
      this.listenerRetry = setTimeout(() => void this.listen().then(() => this.signal.notify()), 1_000);
    };
    client.on('notification', () => this.signal.notify());
    client.on('error', reconnect);
    client.on('end', reconnect);
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
      if (this.isClosed) await this.stopListening();
    } catch {
      client.end().catch(() => undefined);
      if (!this.isClosed) this.listenerRetry = setTimeout(() => void this.listen(), 1_000);
    }
  }

  private async stopListening(): Promise<void> {
    clearTimeout(this.listenerRetry);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }

  protected appendPrepared(
    streamName: string,
    events: readonly PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ streamName, events, expected, resolve, reject });
      this.commitNext();
    });
  }

  /**
   * Runs `hook` in every append transaction from now on (inline projections); see {@link AppendHook}.
   * While any hook is registered, group commits take one advisory lock and so run one at a time.
   * The returned function removes it.
   */
  addAppendHook(hook: AppendHook): () => void {
    this.assertOpen();
    this.hooks.add(hook);
    return () => {
      this.hooks.delete(hook);
    };
  }

  /** Starts a group commit when a slot is free; while one is in flight, new appends queue up and go together. */
  private commitNext(): void {
    while (this.commitsInFlight < this.maxConcurrentCommits && this.pending.length > 0) {
      const group: PendingAppend[] = [];
      let events = 0;
      while (this.pending.length > 0) {
        const next = this.pending[0]!;
        if (group.length > 0 && events + next.events.length > this.maxGroupEvents) break;
        group.push(this.pending.shift()!);
        events += next.events.length;
      }
      this.commitsInFlight++;
      void this.commitGroup(group).finally(() => {
        this.commitsInFlight--;
        this.commitNext();
      });
    }
  }

  private async commitGroup(group: readonly PendingAppend[]): Promise<void> {
    if (this.hooks.size > 0) return this.commitGroupWithHooks(group);
    let rows: AppendRow[];
    try {
      rows = await this.callAppend(group);
    } catch (error) {
      if (group.length > 1 && isConstraintViolation(error)) {
        // One append in the group broke a constraint and took the group's transaction with it:
        // run each alone so that only the offender fails.
        await Promise.all(group.map((append) => this.commitGroup([append])));
        return;
      }
      const failure = await this.describeFailure(group[0]!, error);
      for (const append of group) append.reject(group.length === 1 ? failure : unavailable('append failed', error));
      return;
    }
    await Promise.all(
      group.map(async (append, index) => {
        try {
          append.resolve(await this.outcome(append, rows[index]!));
        } catch (error) {
          append.reject(error);
        }
      }),
    );
  }

  /**
   * The group commit with hooks, in an explicit transaction: the advisory lock, the append, this
   * transaction's events, the hooks, the commit. When a hook throws, everything rolls back; a group is
   * then retried one append at a time, so only the append whose events the hook refused fails.
   */
  private async commitGroupWithHooks(group: readonly PendingAppend[], attempt = 1): Promise<void> {
    const hooks = [...this.hooks];
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      for (const append of group) append.reject(unavailable('cannot connect', error));
      return;
    }
    let rows: AppendRow[] = [];
    let context: PostgresAppendHookContext | undefined;
    let hookFailure: { error: unknown } | undefined;
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${HOOKED_APPEND_LOCK})`);
      rows = await this.callAppend(group, client);
      if (rows.some((row) => row.o_status === 'ok')) {
        const [recorded, before] = (await client.query(HOOK_CONTEXT)) as unknown as [
          pg.QueryResult<EventRow>,
          pg.QueryResult<{ ordered: boolean; head_transaction: string | null; head_sequence: string | null }>,
        ];
        const head = before.rows[0]!;
        const connection = client;
        context = {
          backend: 'postgres',
          connection,
          events: recorded.rows.map(toRecordedEvent),
          ordered: head.ordered,
          previousHead:
            head.head_transaction === null ? undefined : Position.of(BigInt(head.head_transaction), BigInt(head.head_sequence!)),
          hasEventsBefore: async (after, eventTypes) =>
            (
              await connection.query({
                name: 'eventfold_typed_before',
                text: TYPED_BEFORE,
                values: [after?.commit.toString() ?? '0', after?.prepare.toString() ?? '0', eventTypes],
              })
            ).rows.length > 0,
        };
        try {
          for (const hook of hooks) await hook.beforeCommit(context);
        } catch (error) {
          hookFailure = { error };
          throw error;
        }
      }
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      client.release(rolledBack ? undefined : true);
      // A hook's writes can deadlock with a projection batch of another connection: the database
      // picked this transaction to abort, which says nothing about the appends. Run it again.
      if (hookFailure && attempt < 3 && isDeadlock(hookFailure.error)) {
        await this.commitGroupWithHooks(group, attempt + 1);
        return;
      }
      if (hookFailure || (group.length > 1 && isConstraintViolation(error))) {
        if (group.length > 1) {
          for (const append of group) await this.commitGroupWithHooks([append]);
          return;
        }
        if (hookFailure) {
          group[0]!.reject(hookFailure.error);
          return;
        }
      }
      const failure = await this.describeFailure(group[0]!, error);
      for (const append of group) append.reject(group.length === 1 ? failure : unavailable('append failed', error));
      return;
    }
    if (context) {
      for (const hook of hooks) {
        try {
          hook.afterCommit?.(context);
        } catch {
          // The events are committed; a hook that fails to hear of it must not turn the append into a failure.
        }
      }
    }
    await Promise.all(
      group.map(async (append, index) => {
        try {
          append.resolve(await this.outcome(append, rows[index]!));
        } catch (error) {
          append.reject(error);
        }
      }),
    );
  }

  private async callAppend(group: readonly PendingAppend[], client: pg.Pool | pg.PoolClient = this.pool): Promise<AppendRow[]> {
    const streams: string[] = [];
    const expected: string[] = [];
    const counts: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const data: string[] = [];
    const metadata: string[] = [];
    const correlation: Array<string | null> = [];
    for (const append of group) {
      streams.push(append.streamName);
      expected.push(String(append.expected));
      counts.push(append.events.length);
      for (const event of append.events) {
        ids.push(event.id);
        types.push(event.type);
        data.push(event.data);
        metadata.push(event.metadata);
        correlation.push(event.correlationId);
      }
    }
    const result = await client.query<AppendRow>({
      name: 'eventfold_append',
      text: 'SELECT * FROM eventfold_append($1, $2, $3, $4, $5, $6, $7, $8)',
      values: [streams, expected, counts, ids, types, data, metadata, correlation],
    });
    return result.rows;
  }

  private async outcome(append: PendingAppend, row: AppendRow): Promise<AppendResult> {
    const current = BigInt(row.o_revision);
    switch (row.o_status) {
      case 'ok':
        return { revision: current, position: Position.of(BigInt(row.o_transaction_id!), BigInt(row.o_sequence!)) };
      case 'wrong':
        throw new WrongExpectedRevisionError(append.streamName, append.expected, current);
      case 'repeat': {
        const prior = { streamName: row.o_prior_stream!, revision: BigInt(row.o_prior_revision!) };
        const slots =
          prior.streamName === append.streamName
            ? (
                await this.pool.query<{ event_text: string; transaction_text: string; sequence: string }>(
                  `SELECT event_id::text AS event_text, transaction_id::text AS transaction_text, sequence
                   FROM eventfold_events WHERE stream_name = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
                  [append.streamName, prior.revision.toString(), append.events.length],
                )
              ).rows.map((slot) => ({
                id: slot.event_text,
                position: Position.of(BigInt(slot.transaction_text), BigInt(slot.sequence)),
              }))
            : [];
        return resolveRepeatedAppend(
          append.streamName,
          append.events.map((event) => event.id),
          append.expected,
          prior,
          slots,
          current,
        );
      }
      default: {
        const unknown: never = row.o_status;
        throw unavailable(`unexpected append status ${String(unknown)}`, undefined);
      }
    }
  }

  private async describeFailure(append: PendingAppend, error: unknown): Promise<Error> {
    const constraint = (error as { constraint?: string }).constraint;
    if (constraint === 'eventfold_events_event_id') {
      const taken = await this.pool
        .query<{ event_text: string; stream_name: string; revision: string }>(
          'SELECT event_id::text AS event_text, stream_name, revision FROM eventfold_events WHERE event_id = ANY($1::uuid[]) LIMIT 1',
          [append.events.map((event) => event.id)],
        )
        .catch(() => undefined);
      const holder = taken?.rows[0];
      if (holder) {
        return new DuplicateEventIdError(holder.event_text, `stream "${holder.stream_name}" holds it at revision ${holder.revision}`);
      }
    }
    return unavailable('append failed', error);
  }

  protected async readStreamPage(
    streamName: string,
    from: bigint,
    direction: Direction,
    limit: number,
  ): Promise<readonly RecordedEvent[]> {
    const forwards = direction === 'forwards';
    const rows = await this.pageQuery(
      forwards ? 'eventfold_read_stream_forwards_v2' : 'eventfold_read_stream_backwards_v2',
      `SELECT ${PAGE_COLUMNS} FROM eventfold_events WHERE stream_name = $1 AND revision ${forwards ? '>=' : '<='} $2
       ORDER BY revision ${forwards ? 'ASC' : 'DESC'} LIMIT $3`,
      [streamName, from.toString(), limit],
    );
    return rows.map(fromPageRow);
  }

  protected override async readStreamFoldPage(
    streamName: string,
    from: bigint,
    limit: number,
    metadataKeys: readonly string[],
  ): Promise<StreamFoldPage | undefined> {
    const rows = (await this.pageQuery('eventfold_read_stream_for_fold', READ_STREAM_FOR_FOLD, [
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
      throw unavailable('read failed', `the last row of a page of stream "${streamName}" came without its position`);
    }
    const last = fromPageRow([transactionId, sequence, id, streamName, revision, type, data, metadata, recordedAt]);
    return { fromRevision: from, events, last };
  }

  protected async readAllPage(
    after: FromPosition,
    direction: Direction,
    limit: number,
    filter: EventFilter | undefined,
  ): Promise<readonly RecordedEvent[]> {
    const forwards = direction === 'forwards';
    if ((forwards && after === 'end') || (!forwards && after === 'start')) return [];
    const [transactionId, sequence] =
      after === 'start' ? ['0', '0'] : after === 'end' ? [MAX_TRANSACTION_ID, MAX_SEQUENCE] : [after.commit.toString(), after.prepare.toString()];
    const rows = await this.pageQuery(
      forwards ? 'eventfold_read_all_forwards_v2' : 'eventfold_read_all_backwards_v2',
      forwards ? READ_ALL_FORWARDS : READ_ALL_BACKWARDS,
      [transactionId, sequence, limit, filter?.eventTypes ?? null, filter?.streamPrefixes ?? null],
    );
    return rows.map(fromPageRow);
  }

  protected async readCorrelationPage(
    correlationId: string,
    after: Position | 'start',
    limit: number,
  ): Promise<readonly RecordedEvent[]> {
    const [transactionId, sequence] = after === 'start' ? ['0', '0'] : [after.commit.toString(), after.prepare.toString()];
    const rows = await this.pageQuery(
      'eventfold_read_correlation_v2',
      `SELECT ${PAGE_COLUMNS} FROM eventfold_events
       WHERE correlation_id = $1 AND (transaction_id, sequence) > ($2::xid8, $3::bigint) AND ${SAFE}
       ORDER BY transaction_id, sequence LIMIT $4`,
      [correlationId, transactionId, sequence, limit],
    );
    return rows.map(fromPageRow);
  }

  protected async streamRevision(streamName: string): Promise<bigint> {
    const rows = await this.query<{ revision: string }>(
      'eventfold_stream_revision',
      'SELECT revision FROM eventfold_streams WHERE stream_name = $1',
      [streamName],
    );
    return rows[0] ? BigInt(rows[0].revision) : -1n;
  }

  async headPosition(): Promise<Position | undefined> {
    this.assertOpen();
    const rows = await this.query<{ transaction_text: string; sequence: string }>(
      'eventfold_head',
      `SELECT transaction_id::text AS transaction_text, sequence FROM eventfold_events WHERE ${SAFE}
       ORDER BY transaction_id DESC, sequence DESC LIMIT 1`,
      [],
    );
    return rows[0] ? Position.of(BigInt(rows[0].transaction_text), BigInt(rows[0].sequence)) : undefined;
  }

  protected async closeBackend(): Promise<void> {
    while (this.pending.length > 0 || this.commitsInFlight > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.stopListening();
    await this.pool.end();
  }

  /** A read of `PAGE_COLUMNS` rows as arrays: node-pg builds no row objects and parses no timestamps. */
  private async pageQuery(name: string, text: string, values: unknown[]): Promise<PageRow[]> {
    try {
      return (await this.pool.query<PageRow>({ name, text, values, rowMode: 'array' })).rows;
    } catch (error) {
      throw unavailable('read failed', error);
    }
  }

  private async query<Row extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>({ name, text, values })).rows;
    } catch (error) {
      throw unavailable('read failed', error);
    }
  }
}

/** A row of `READ_STREAM_FOR_FOLD`: the full event's columns are set on the page's last row only. */
type FoldRow = [string, string, string, string | null, string | null, string | null, string | null, number | null];

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

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_text,
    type: row.type,
    streamName: row.stream_name,
    revision: BigInt(row.revision),
    position: Position.of(BigInt(row.transaction_text), BigInt(row.sequence)),
    data: JSON.parse(row.data) as JsonValue,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    recordedAt: row.recorded_at,
  };
}

/** A deadlock or serialisation failure anywhere in the error's cause chain. */
function isDeadlock(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function isConstraintViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === '40P01';
}

function unavailable(what: string, error: unknown): StoreUnavailableError {
  const reason = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  return new StoreUnavailableError(`PostgreSQL event store: ${what}${reason ? `: ${reason}` : ''}`, { cause: error });
}

