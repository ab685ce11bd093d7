import './transient-errors';
import { isPostgresAppendContext } from './append-hook-context';
import pg from 'pg';
import { Position } from '../../event-store/position';
import { BatchTransaction } from '../../projections/batch-transaction';
import type { ProjectionChange } from '../../projections/change-feed';
import { planQuery, type DocumentQuery, type DocumentReader, type IndexType, type Where } from '../../projections/document';
import type { DocumentTable, DocumentUpsert } from '../../projections/document-batch';
import { createDocumentIndexes, createDocumentTable, selectDocuments } from '../../projections/document-sql';
import { CheckpointConflictError, InvalidProjectionError, ReadModelUnavailableError, toError } from '../../projections/errors';
import { quoteField, quoteIdentifier } from '../../projections/identifier';
import type { CollectionMap, DocumentOf, ProjectionTransaction, SqlParameter } from '../../projections/projection';
import {
  collectionIndexes,
  coversBefore,
  type BatchCommit,
  type BatchRequest,
  type InlineBatch,
  type ProjectionFailure,
  type ProjectionRecord,
  type ReadModelStore,
  type SlotLayout,
} from '../../projections/read-model-store';

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
}

/** The channel batches are announced on; NOTIFY is transactional, so listeners only hear of commits. */
export const CHANGE_CHANNEL = 'eventfold_projection_changes';
/** NOTIFY payloads must stay under 8,000 bytes; longer key lists are announced as `'all'`. */
const MAX_PAYLOAD_BYTES = 7_000;
/** Rows per multi-row upsert statement. */
const UPSERT_CHUNK = 5_000;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS eventfold_projections (
     name TEXT NOT NULL PRIMARY KEY,
     active_version INTEGER NOT NULL,
     active_generation INTEGER NOT NULL,
     views JSONB NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE IF NOT EXISTS eventfold_projection_slots (
     name TEXT NOT NULL,
     slot TEXT NOT NULL,
     version INTEGER NOT NULL,
     generation INTEGER NOT NULL,
     position TEXT,
     events_handled BIGINT NOT NULL DEFAULT 0,
     failure JSONB,
     tables JSONB NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (name, slot)
   )`,
];

interface SlotRow {
  version: number;
  generation: number;
  position: string | null;
  events_handled: string;
  failure: ProjectionFailure | null;
  tables: { name: string; table: string }[];
}

/** What a NOTIFY carries: short keys, to leave room for changed document keys. */
interface ChangePayload {
  readonly p: string;
  readonly v: number;
  readonly pos: string;
  readonly k: readonly string[] | null;
}

const SQL_TYPES: Record<IndexType, string> = { text: 'text', number: 'float8', boolean: 'boolean' };

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
  private readonly listeners = new Set<pg.Client>();
  private closed = false;
  /**
   * The checkpoint each slot had after this process's last batch of it: a batch that starts from it
   * skips the up-front check (the final statement checks anyway). Forgotten on any doubt.
   */
  private readonly knownCheckpoints = new Map<string, string | null>();

  private constructor(
    /** The connection pool; hand-written queries of the projections' views may use it. */
    readonly pool: pg.Pool,
    private readonly connectionString: string | undefined,
    private readonly ownsPool: boolean,
    private readonly options: PostgresReadModelStoreOptions,
  ) {}

  /**
   * Connects with a pool of its own and creates the bookkeeping tables if needed.
   * @throws ReadModelUnavailableError when the database cannot be reached.
   */
  static async connect(connectionString: string, options: PostgresReadModelStoreOptions = {}): Promise<PostgresReadModelStore> {
    const pool = new pg.Pool({ connectionString, max: options.poolSize ?? 10 });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    const store = new PostgresReadModelStore(pool, connectionString, true, options);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw unavailable('cannot prepare the PostgreSQL read-model store', error);
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
      await store.migrate();
    } catch (error) {
      throw unavailable('cannot prepare the PostgreSQL read-model store', error);
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      // Two processes starting at once must not race on CREATE TABLE IF NOT EXISTS.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('eventfold_projections'))");
      for (const statement of SCHEMA) await client.query(statement);
    });
  }

  async load(projection: string): Promise<ProjectionRecord> {
    const [active, slots] = await this.run(() =>
      Promise.all([
        this.pool.query<{ active_version: number; active_generation: number }>(
          'SELECT active_version, active_generation FROM eventfold_projections WHERE name = $1',
          [projection],
        ),
        this.pool.query<SlotRow>(
          'SELECT version, generation, position, events_handled, failure, tables FROM eventfold_projection_slots WHERE name = $1',
          [projection],
        ),
      ]),
    );
    const row = active.rows[0];
    return {
      active: row && { version: row.active_version, generation: row.active_generation },
      slots: slots.rows.map((slot) => ({
        version: slot.version,
        generation: slot.generation,
        position: slot.position === null ? undefined : Position.parse(slot.position),
        eventsHandled: Number(slot.events_handled),
        failure: slot.failure ?? undefined,
      })),
    };
  }

  createSlot(layout: SlotLayout): Promise<void> {
    this.knownCheckpoints.delete(`${layout.projection}\u0000${layout.id}`);
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventfold_projection:${layout.projection}`]);
      const existing = await client.query('SELECT 1 FROM eventfold_projection_slots WHERE name = $1 AND slot = $2', [
        layout.projection,
        layout.id,
      ]);
      if (existing.rowCount) return;
      for (const collection of layout.collections) {
        for (const statement of createDocumentTable('postgres', collection.table, collection.indexes)) await client.query(statement);
      }
      for (const table of layout.tables) {
        for (const statement of table.definition.create(quoteIdentifier(table.table), 'postgres')) await client.query(statement);
      }
      await client.query(
        `INSERT INTO eventfold_projection_slots (name, slot, version, generation, tables) VALUES ($1, $2, $3, $4, $5)`,
        [layout.projection, layout.id, layout.version, layout.generation, JSON.stringify(physicalTables(layout))],
      );
    });
  }

  indexSlot(layout: SlotLayout): Promise<void> {
    return this.transaction(async (client) => {
      for (const collection of layout.collections) {
        for (const statement of createDocumentIndexes(collection.table, collection.indexes)) await client.query(statement);
      }
    });
  }

  activate(layout: SlotLayout): Promise<void> {
    return this.transaction(async (client) => {
      await client.query(`SET LOCAL lock_timeout = ${Math.round(this.options.lockTimeoutMs ?? 10_000)}`);
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventfold_projection:${layout.projection}`]);
      const slot = await client.query('SELECT 1 FROM eventfold_projection_slots WHERE name = $1 AND slot = $2', [
        layout.projection,
        layout.id,
      ]);
      if (!slot.rowCount) throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" does not exist`);
      const views = physicalTables(layout);
      const names = views.map((view) => view.name);
      const owners = await client.query<{ name: string; view: string }>(
        `SELECT name, view FROM eventfold_projections, jsonb_array_elements_text(views) AS view
         WHERE name <> $1 AND view = ANY($2::text[])`,
        [layout.projection, names],
      );
      const taken = owners.rows[0];
      if (taken) throw new InvalidProjectionError(`"${taken.view}" already belongs to projection "${taken.name}"`);
      const previous = await client.query<{ views: string[] }>('SELECT views FROM eventfold_projections WHERE name = $1', [
        layout.projection,
      ]);
      for (const view of new Set([...(previous.rows[0]?.views ?? []), ...names])) {
        await client.query(`DROP VIEW IF EXISTS ${quoteIdentifier(view)}`);
      }
      for (const view of views) {
        await client.query(`CREATE VIEW ${quoteIdentifier(view.name)} AS SELECT * FROM ${quoteIdentifier(view.table)}`);
      }
      await client.query(
        `INSERT INTO eventfold_projections (name, active_version, active_generation, views) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET active_version = excluded.active_version,
           active_generation = excluded.active_generation, views = excluded.views, updated_at = now()`,
        [layout.projection, layout.version, layout.generation, JSON.stringify(names)],
      );
    });
  }

  dropSlot(layout: SlotLayout): Promise<void> {
    this.knownCheckpoints.delete(`${layout.projection}\u0000${layout.id}`);
    return this.transaction(async (client) => {
      await client.query(`SET LOCAL lock_timeout = ${Math.round(this.options.lockTimeoutMs ?? 10_000)}`);
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventfold_projection:${layout.projection}`]);
      const row = (
        await client.query<SlotRow>(
          'SELECT version, generation, tables FROM eventfold_projection_slots WHERE name = $1 AND slot = $2',
          [layout.projection, layout.id],
        )
      ).rows[0];
      if (!row) return;
      const active = (
        await client.query<{ active_version: number; active_generation: number }>(
          'SELECT active_version, active_generation FROM eventfold_projections WHERE name = $1',
          [layout.projection],
        )
      ).rows[0];
      if (active && active.active_version === row.version && active.active_generation === row.generation) {
        throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" is active; it cannot be dropped`);
      }
      // The stored list, not the layout: an older version may have had tables this code no longer knows.
      for (const { table } of row.tables) await client.query(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
      await client.query('DELETE FROM eventfold_projection_slots WHERE name = $1 AND slot = $2', [layout.projection, layout.id]);
    });
  }

  /**
   * One batch. A batch that only uses documents takes two round trips: the handler's reads (documents
   * loaded before it runs, outside any transaction), then one statement that moves the checkpoint if it
   * is still where the batch began and, only then, writes the documents and announces the batch. One
   * statement is one transaction, so the batch lands whole or not at all. The reads may run outside a
   * transaction because only the holder of the checkpoint writes the slot: had anyone else written it
   * in between, they would have moved the checkpoint, and this batch writes nothing. A handler that
   * runs its own SQL (`tx.execute` / `tx.query`) gets a real transaction, opened before its first
   * statement, and the same final statement then commits.
   *
   * Keeping the transaction to that final statement also matters to the event store: its readers only
   * see events of transactions older than every running one, so a long batch transaction would hold
   * back live events for everyone.
   */
  commitBatch(
    layout: SlotLayout,
    request: BatchRequest,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit> {
    const slotKey = `${layout.projection}\u0000${layout.id}`;
    const from = request.from?.toString() ?? null;
    const conflict = (): CheckpointConflictError => {
      this.knownCheckpoints.delete(slotKey);
      return new CheckpointConflictError(
        `the checkpoint of "${layout.projection}" (${layout.id}) has moved; this batch expected ${request.from?.toString() ?? 'start'}`,
      );
    };
    return this.withClient(async (client, session) => {
      let known = this.knownCheckpoints.get(slotKey);
      if (known === undefined) {
        const row = (
          await client.query<{ position: string | null }>({
            name: 'eventfold_slot_checkpoint',
            text: 'SELECT position FROM eventfold_projection_slots WHERE name = $1 AND slot = $2',
            values: [layout.projection, layout.id],
          })
        ).rows[0];
        if (!row) throw new ReadModelUnavailableError(`slot ${layout.id} of "${layout.projection}" is missing`);
        known = row.position;
      }
      if (known !== from) throw conflict();
      const openTransaction = async (): Promise<void> => {
        if (session.inTransaction) return;
        await client.query('BEGIN');
        session.inTransaction = true;
      };
      const deferred: DeferredWrite[] = [];
      const tx = new BatchTransaction(layout, {
        dialect: 'postgres',
        documentTable: (table, indexes) => documentTable(client, table, indexes, deferred),
        execute: async (sql, parameters) => {
          await openTransaction();
          return (await client.query(sql, parameters as unknown[])).rowCount ?? 0;
        },
        query: async <Row extends object>(sql: string, parameters: readonly SqlParameter[]) => {
          await openTransaction();
          return (await client.query(sql, parameters as unknown[])).rows as Row[];
        },
      });
      await work(tx);
      const keys = await tx.flush();
      const to = request.to.toString();
      const values: unknown[] = [
        layout.projection,
        layout.id,
        to,
        request.eventCount,
        from,
        CHANGE_CHANNEL,
        changePayload(layout, to, keys),
        layout.version,
        layout.generation,
      ];
      const writes = deferred.map((write) => {
        const placeholder = `$${values.push(write.parameter)}`;
        return write.statement(placeholder, 'EXISTS (SELECT 1 FROM advanced)');
      });
      const result = await client.query<{ advanced: number }>(
        `WITH advanced AS (
           UPDATE eventfold_projection_slots SET position = $3, events_handled = events_handled + $4, failure = NULL, updated_at = now()
           WHERE name = $1 AND slot = $2 AND position IS NOT DISTINCT FROM $5::text
           RETURNING 1
         )${writes.map((write, index) => `, w${index} AS (${write})`).join('')}
         SELECT (SELECT count(*) FROM advanced)::int AS advanced,
                (SELECT count(pg_notify($6, $7)) FROM eventfold_projections, advanced
                  WHERE name = $1 AND active_version = $8 AND active_generation = $9) AS notified${
                    this.options.synchronousCommit ? '' : ",\n                set_config('synchronous_commit', 'off', true) AS commit_mode"
                  }`,
        values,
      );
      if (result.rows[0]?.advanced !== 1) throw conflict();
      if (session.inTransaction) {
        await client.query('COMMIT');
        session.inTransaction = false;
      }
      this.knownCheckpoints.set(slotKey, to);
      return { keys };
    });
  }

  async commitInline(
    layout: SlotLayout,
    batch: InlineBatch,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit | undefined> {
    this.assertOpen();
    const { context, events } = batch;
    if (!isPostgresAppendContext(context)) {
      throw new InvalidProjectionError('a PostgreSQL read-model store runs inline projections of a PostgreSQL event store only');
    }
    // The append's connection, inside its transaction. The checkpoint row stays locked until the append
    // commits, so a runner's batch of the same slot waits and then sees the moved checkpoint.
    const client = context.connection;
    this.knownCheckpoints.delete(`${layout.projection}\u0000${layout.id}`);
    const result = await client.query<{ position: string | null }>({
      name: 'eventfold_inline_checkpoint',
      text: 'SELECT position FROM eventfold_projection_slots WHERE name = $1 AND slot = $2 FOR UPDATE',
      values: [layout.projection, layout.id],
    });
    const row = result.rows[0];
    if (!row) return undefined;
    const checkpoint = row.position === null ? undefined : Position.parse(row.position);
    if (!(await coversBefore(checkpoint, context, batch.eventTypes))) return undefined;
    const tx = new BatchTransaction(layout, {
      dialect: 'postgres',
      documentTable: (table, indexes) => documentTable(client, table, indexes),
      execute: async (sql, parameters) => (await client.query(sql, parameters as unknown[])).rowCount ?? 0,
      query: async <Row extends object>(sql: string, parameters: readonly SqlParameter[]) =>
        (await client.query(sql, parameters as unknown[])).rows as Row[],
    });
    await work(tx);
    const keys = await tx.flush();
    const to = events[events.length - 1]!.position.toString();
    await client.query(
      `WITH advanced AS (
         UPDATE eventfold_projection_slots SET position = $3, events_handled = events_handled + $4, failure = NULL, updated_at = now()
         WHERE name = $1 AND slot = $2
       )
       SELECT pg_notify($7, $8) FROM eventfold_projections WHERE name = $1 AND active_version = $5 AND active_generation = $6`,
      [layout.projection, layout.id, to, events.length, layout.version, layout.generation, CHANGE_CHANNEL, changePayload(layout, to, keys)],
    );
    return { keys };
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
    return this.run(async () => {
      await this.pool.query('UPDATE eventfold_projection_slots SET failure = $3, updated_at = now() WHERE name = $1 AND slot = $2', [
        layout.projection,
        layout.id,
        failure ? JSON.stringify(failure) : null,
      ]);
    });
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
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    const listen = async (): Promise<void> => {
      if (stopped || this.closed) return;
      const next = new pg.Client(this.clientConfig());
      const reconnect = (): void => {
        if (client !== next) return;
        client = undefined;
        this.listeners.delete(next);
        next.end().catch(() => undefined);
        if (!stopped && !this.closed) retry = setTimeout(() => void listen(), 500);
      };
      next.on('notification', (message) => {
        if (message.channel !== CHANGE_CHANNEL || !message.payload) return;
        const change = parsePayload(message.payload);
        if (change) listener(change);
      });
      next.on('error', reconnect);
      next.on('end', reconnect);
      try {
        await next.connect();
        await next.query(`LISTEN ${CHANGE_CHANNEL}`);
        client = next;
        this.listeners.add(next);
        if (stopped) await next.end();
      } catch (error) {
        next.end().catch(() => undefined);
        if (client === undefined && !stopped && !this.closed) retry = setTimeout(() => void listen(), 500);
        throw error;
      }
    };
    try {
      await listen();
    } catch (error) {
      stopped = true;
      clearTimeout(retry);
      throw unavailable('cannot listen for projection changes', error);
    }
    return async () => {
      stopped = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      if (current) {
        this.listeners.delete(current);
        await current.end().catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map((client) => client.end().catch(() => undefined)));
    this.listeners.clear();
    if (this.ownsPool) await this.pool.end();
  }

  private clientConfig(): pg.ClientConfig {
    if (this.connectionString) return { connectionString: this.connectionString };
    const { connectionString, host, port, user, password, database, ssl } = this.pool.options;
    return { connectionString, host, port, user, password, database, ssl };
  }

  /**
   * Runs `work` in a transaction on one pooled connection. When the connection itself failed (the
   * rollback fails too), the error is reported as the database being unavailable, so the engine
   * retries instead of blaming the batch.
   */
  private async transaction<T>(
    work: (client: pg.PoolClient, opened: pg.QueryResult) => Promise<T>,
    begin: (client: pg.PoolClient) => string = () => 'BEGIN',
  ): Promise<T> {
    this.assertOpen();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable('cannot connect to the read-model database', error);
    }
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    try {
      // A multi-statement query answers with one result per statement; `work` gets the last one.
      const opened = (await client.query(begin(client))) as pg.QueryResult | pg.QueryResult[];
      const result = await work(client, Array.isArray(opened) ? opened[opened.length - 1]! : opened);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      if (!rolledBack || broken) {
        broken ??= toError(error);
        throw unavailable('the read-model database connection failed mid-transaction', error);
      }
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * Runs `work` on one connection that may or may not open a transaction (`session.inTransaction`);
   * one still open when `work` fails is rolled back. A connection that failed is discarded.
   */
  private async withClient<T>(work: (client: pg.PoolClient, session: { inTransaction: boolean }) => Promise<T>): Promise<T> {
    this.assertOpen();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable('cannot connect to the read-model database', error);
    }
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    const session = { inTransaction: false };
    try {
      return await work(client, session);
    } catch (error) {
      const rolledBack = !session.inTransaction
        ? true
        : await client.query('ROLLBACK').then(
            () => true,
            () => false,
          );
      if (!rolledBack || broken) {
        broken ??= toError(error);
        throw unavailable('the read-model database connection failed mid-batch', error);
      }
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await work();
    } catch (error) {
      // Query errors with a SQLSTATE are PostgreSQL's answer; anything else is the connection.
      if (typeof (error as { code?: unknown }).code === 'string' || error instanceof InvalidProjectionError) throw error;
      throw unavailable('the read-model database failed', error);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ReadModelUnavailableError('the PostgreSQL read-model store is closed');
  }
}

/**
 * A write kept for the batch's final statement: `statement(placeholder, condition)` is a data-modifying
 * statement for a WITH clause that takes `parameter` as `placeholder` and writes only when `condition`.
 */
interface DeferredWrite {
  readonly parameter: unknown;
  statement(placeholder: string, condition: string): string;
}

/**
 * Access to one document table on `client`. With `deferred`, writes are not run but kept for the
 * batch's final statement; without it (inline batches), they run at once.
 */
function documentTable(
  client: pg.PoolClient,
  table: string,
  indexes: Readonly<Record<string, IndexType>>,
  deferred?: DeferredWrite[],
): DocumentTable {
  const name = quoteIdentifier(table);
  const fields = Object.keys(indexes);
  const columns = ['"key"', '"doc"', ...fields.map(quoteField)];
  // Rows travel as one JSON array, unpacked by the server: the documents are already JSON text, so
  // building it is string concatenation, where a text[]/jsonb[] parameter would escape every quote.
  const record = ['k text', 'd jsonb', ...fields.map((field, index) => `f${index} ${SQL_TYPES[indexes[field]!]}`)];
  const upsertWhere = (placeholder: string, condition: string): string => `INSERT INTO ${name} (${columns.join(', ')})
    SELECT k, d${fields.map((_, index) => `, f${index}`).join('')} FROM json_to_recordset(${placeholder}::json) AS r(${record.join(', ')})
    WHERE ${condition}
    ON CONFLICT ("key") DO UPDATE SET ${columns.slice(1).map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`;
  const deleteWhere = (placeholder: string, condition: string): string =>
    `DELETE FROM ${name} WHERE "key" = ANY(${placeholder}::text[]) AND ${condition}`;
  const upsert = upsertWhere('$1', 'true');
  return {
    load: async (key) => {
      const result = await client.query<{ doc: string }>(`SELECT "doc"::text AS doc FROM ${name} WHERE "key" = $1`, [key]);
      const row = result.rows[0];
      return row ? (JSON.parse(row.doc) as object) : undefined;
    },
    loadMany: async (keys) => {
      const result = await client.query<{ key: string; doc: string }>(
        `SELECT "key", "doc"::text AS doc FROM ${name} WHERE "key" = ANY($1::text[])`,
        [keys],
      );
      return new Map(result.rows.map((row) => [row.key, JSON.parse(row.doc) as object]));
    },
    find: async (plan) => {
      const statement = selectDocuments('postgres', table, plan);
      const result = await client.query<{ key: string; doc: string }>(statement.text, statement.parameters);
      return result.rows.map((row) => ({ key: row.key, doc: JSON.parse(row.doc) as object }));
    },
    write: async (upserts: readonly DocumentUpsert[], deletes: readonly string[]) => {
      if (deletes.length > 0) {
        if (deferred) deferred.push({ parameter: deletes, statement: deleteWhere });
        else await client.query(deleteWhere('$1', 'true'), [deletes]);
      }
      for (let start = 0; start < upserts.length; start += UPSERT_CHUNK) {
        const rows = upserts.slice(start, start + UPSERT_CHUNK).map((row) => {
          let text = `{"k":${JSON.stringify(row.key)},"d":${row.json}`;
          row.values.forEach((value, index) => (text += `,"f${index}":${JSON.stringify(value)}`));
          return `${text}}`;
        });
        if (deferred) deferred.push({ parameter: `[${rows.join(',')}]`, statement: upsertWhere });
        else await client.query(upsert, [`[${rows.join(',')}]`]);
      }
    },
  };
}

function changePayload(layout: SlotLayout, position: string, keys: readonly string[]): string {
  const full = JSON.stringify({ p: layout.projection, v: layout.version, pos: position, k: keys } satisfies ChangePayload);
  if (Buffer.byteLength(full) <= MAX_PAYLOAD_BYTES) return full;
  return JSON.stringify({ p: layout.projection, v: layout.version, pos: position, k: null } satisfies ChangePayload);
}

function parsePayload(payload: string): ProjectionChange | undefined {
  try {
    const parsed = JSON.parse(payload) as ChangePayload;
    return { projection: parsed.p, version: parsed.v, position: Position.parse(parsed.pos), keys: parsed.k ? [...parsed.k] : 'all' };
  } catch {
    // Not ours: someone else NOTIFYing on the channel. Nothing to announce.
    return undefined;
  }
}

function physicalTables(layout: SlotLayout): { name: string; table: string }[] {
  return [...layout.collections, ...layout.tables].map(({ name, table }) => ({ name, table }));
}

function unavailable(message: string, cause: unknown): ReadModelUnavailableError {
  return new ReadModelUnavailableError(`${message}: ${toError(cause).message}`, { cause });
}
