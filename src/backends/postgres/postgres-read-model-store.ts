import './transient-errors';
import pg from 'pg';
import type { ProjectionChange } from '../../projections/change-feed';
import { planQuery, type DocumentQuery, type DocumentReader, type Where } from '../../projections/document';
import { selectDocuments } from '../../projections/document-sql';
import { InvalidProjectionError, ReadModelUnavailableError } from '../../projections/errors';
import { quoteIdentifier } from '../../projections/identifier';
import type { CollectionMap, DocumentOf, ProjectionTransaction } from '../../projections/projection';
import {
  collectionIndexes,
  type BatchCommit,
  type BatchRequest,
  type InlineBatch,
  type ProjectionFailure,
  type ProjectionRecord,
  type ReadModelStore,
  type SlotLayout,
} from '../../projections/read-model-store';
import { BatchCommits } from './batch-commits';
import { PostgresListener } from './listener';
import { createPool } from './pool';
import { CHANGE_CHANNEL, parseChangePayload } from './projection-changes';
import { ProjectionSlots } from './projection-slots';
import { readModelUnavailable } from './read-model-unavailable';

export { CHANGE_CHANNEL } from './projection-changes';

export interface PostgresReadModelStoreOptions {
  /** Connections in the pool, when the store opens its own. Default 10. */
  readonly poolSize?: number;
  /** How long schema changes (switch-over, drop) wait for readers' locks before retrying later. Default 10 s. */
  readonly lockTimeoutMs?: number;
  /**
   * Whether a batch's commit waits for its WAL to reach disk. Default `false`: after a server crash
   * the last batches may be lost, but always whole and together with their checkpoint, so they are
   * simply handled again from the event store and no effect is lost or doubled. (The event store's own
   * appends are not affected: this is set per read-model transaction.)
   */
  readonly synchronousCommit?: boolean;
  /**
   * What `scrub()` runs on every projection table: `vacuum` (default) frees the space of deleted and
   * overwritten rows without locking readers out, but their bytes stay in the pages until new rows
   * overwrite them; `vacuum-full` rewrites each table into new files and drops the old ones, which
   * removes the bytes from the table files but locks each table while it is rewritten.
   */
  readonly scrub?: 'vacuum' | 'vacuum-full';
}

/**
 * Read models in PostgreSQL, for many processes on many machines: one transaction per batch holding
 * the documents, hand-written tables and checkpoint (checked with `FOR UPDATE`, so two runners of one
 * projection never both apply a batch), multi-row writes, and committed batches announced to every
 * process with LISTEN/NOTIFY.
 *
 * @example
 * const readModels = await PostgresReadModelStore.connect(process.env.DATABASE_URL!);
 * // or share the event store's pool: PostgresReadModelStore.fromPool(eventStore.pool)
 */
export class PostgresReadModelStore implements ReadModelStore {
  readonly dialect = 'postgres' as const;
  private readonly listeners = new Set<PostgresListener>();
  private closed = false;
  private readonly slots: ProjectionSlots;
  private readonly batches: BatchCommits;

  private constructor(
    /** The connection pool; hand-written queries of the projections' views may use it. */
    readonly pool: pg.Pool,
    private readonly connectionString: string | undefined,
    private readonly ownsPool: boolean,
    private readonly options: PostgresReadModelStoreOptions,
  ) {
    this.slots = new ProjectionSlots(pool, options.lockTimeoutMs ?? 10_000);
    this.batches = new BatchCommits(pool, options.synchronousCommit ?? false);
  }

  /**
   * Connects with a pool of its own and creates the bookkeeping tables if needed.
   * @throws ReadModelUnavailableError when the database cannot be reached.
   */
  static async connect(connectionString: string, options: PostgresReadModelStoreOptions = {}): Promise<PostgresReadModelStore> {
    const pool = createPool(connectionString, options.poolSize ?? 10);
    const store = new PostgresReadModelStore(pool, connectionString, true, options);
    try {
      await store.slots.migrate();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw readModelUnavailable('cannot prepare the PostgreSQL read-model store', error);
    }
    return store;
  }

  /**
   * Uses an existing pool (the event store's, say); `close()` leaves it open. `watchChanges` needs
   * the pool's connection settings to open its listening connection.
   */
  static async fromPool(pool: pg.Pool, options: PostgresReadModelStoreOptions = {}): Promise<PostgresReadModelStore> {
    const store = new PostgresReadModelStore(pool, undefined, false, options);
    try {
      await store.slots.migrate();
    } catch (error) {
      throw readModelUnavailable('cannot prepare the PostgreSQL read-model store', error);
    }
    return store;
  }

  load(projection: string): Promise<ProjectionRecord> {
    return this.run(() => this.slots.load(projection));
  }

  async createSlot(layout: SlotLayout): Promise<void> {
    this.batches.forget(layout);
    this.assertOpen();
    await this.slots.create(layout);
  }

  async indexSlot(layout: SlotLayout): Promise<void> {
    this.assertOpen();
    await this.slots.index(layout);
  }

  async activate(layout: SlotLayout): Promise<void> {
    this.assertOpen();
    await this.slots.activate(layout);
  }

  async dropSlot(layout: SlotLayout): Promise<void> {
    this.batches.forget(layout);
    this.assertOpen();
    await this.slots.drop(layout);
  }

  /**
   * One batch, in two round trips when it only uses documents, landing whole or not at all; see
   * `BatchCommits.commit` in batch-commits.ts for how, and why its transaction is kept that short.
   */
  async commitBatch(
    layout: SlotLayout,
    request: BatchRequest,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit> {
    this.assertOpen();
    return await this.batches.commit(layout, request, work);
  }

  /** A batch inside the append's own transaction (inline projections of a PostgreSQL event store). */
  async commitInline(
    layout: SlotLayout,
    batch: InlineBatch,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit | undefined> {
    this.assertOpen();
    return await this.batches.commitInline(layout, batch, work);
  }

  /** Whether `eventStore` is a PostgreSQL event store on this store's database (same server, same database). */
  async sharesDatabaseWith(eventStore: unknown): Promise<boolean> {
    const other = (eventStore as { backend?: unknown; pool?: unknown } | undefined) ?? {};
    if (other.backend !== 'postgres' || !(other.pool instanceof pg.Pool)) return false;
    const identify = 'SELECT current_database() AS db, pg_postmaster_start_time()::text AS started, current_setting(\'port\') AS port';
    const [mine, theirs] = await this.run(() => Promise.all([this.pool.query(identify), (other.pool as pg.Pool).query(identify)]));
    return JSON.stringify(mine.rows[0]) === JSON.stringify(theirs.rows[0]);
  }

  recordFailure(layout: SlotLayout, failure: ProjectionFailure | undefined): Promise<void> {
    return this.run(() => this.slots.recordFailure(layout, failure));
  }

  documents<C extends CollectionMap, K extends keyof C & string>(
    projection: { readonly name: string; readonly collections: C },
    collection: K,
  ): DocumentReader<DocumentOf<C[K]>> {
    type TDoc = DocumentOf<C[K]>;
    const indexes = collectionIndexes(projection, collection);
    const view = quoteIdentifier(collection);
    return {
      get: (key) =>
        this.run(async () => {
          const result = await this.pool.query<{ doc: string }>(`SELECT "doc"::text AS doc FROM ${view} WHERE "key" = $1`, [key]);
          const row = result.rows[0];
          return row ? (JSON.parse(row.doc) as TDoc) : undefined;
        }),
      find: (query?: DocumentQuery<TDoc>) =>
        this.run(async () => {
          const statement = selectDocuments('postgres', collection, planQuery(collection, indexes, query));
          const result = await this.pool.query<{ doc: string }>(statement.text, statement.parameters);
          return result.rows.map((row) => JSON.parse(row.doc) as TDoc);
        }),
      count: (where?: Where<TDoc>) =>
        this.run(async () => {
          const statement = selectDocuments('postgres', collection, planQuery(collection, indexes, { where }), true);
          const result = await this.pool.query<{ count: string }>(statement.text, statement.parameters);
          return Number(result.rows[0]?.count ?? 0);
        }),
    };
  }

  /**
   * Hears of batches committed by any process on this database, through LISTEN/NOTIFY on a
   * connection of its own (reconnected when it drops).
   */
  async watchChanges(listener: (change: ProjectionChange) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    let watching: PostgresListener;
    try {
      watching = await PostgresListener.start({
        connection: this.clientConfig(),
        channel: CHANGE_CHANNEL,
        retryDelayMs: 500,
        firstFailure: 'throw',
        onNotification: (payload) => {
          const change = payload ? parseChangePayload(payload) : undefined;
          if (change) listener(change);
        },
      });
    } catch (error) {
      throw readModelUnavailable('cannot listen for projection changes', error);
    }
    if (this.closed) {
      await watching.stop();
    } else {
      this.listeners.add(watching);
    }
    return async () => {
      this.listeners.delete(watching);
      await watching.stop();
    };
  }

  /**
   * Vacuums every projection table (see `scrub` in the options), so that rows deleted or blanked after a
   * `SubjectForgotten` stop holding their old bytes. Run it once projections have applied the event.
   *
   * @example
   * await readModels.scrub();
   */
  async scrub(): Promise<void> {
    const { rows } = await this.run(() => this.pool.query<{ tables: { table: string }[] }>('SELECT tables FROM eventfold_projection_slots'));
    const command = this.options.scrub === 'vacuum-full' ? 'VACUUM FULL' : 'VACUUM';
    for (const { table } of rows.flatMap((row) => row.tables)) {
      // VACUUM runs outside a transaction block; a pool query is one statement on its own.
      await this.run(() => this.pool.query(`${command} ${quoteIdentifier(table)}`));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map((listener) => listener.stop()));
    this.listeners.clear();
    if (this.ownsPool) await this.pool.end();
  }

  private clientConfig(): pg.ClientConfig {
    if (this.connectionString) return { connectionString: this.connectionString };
    const { connectionString, host, port, user, password, database, ssl } = this.pool.options;
    return { connectionString, host, port, user, password, database, ssl };
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await work();
    } catch (error) {
      // Query errors with a SQLSTATE are PostgreSQL's answer; anything else is the connection.
      if (typeof (error as { code?: unknown }).code === 'string' || error instanceof InvalidProjectionError) throw error;
      throw readModelUnavailable('the read-model database failed', error);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ReadModelUnavailableError('the PostgreSQL read-model store is closed');
  }
}
