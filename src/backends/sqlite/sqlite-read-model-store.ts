import './transient-errors';
import { isSqliteAppendContext } from './append-hook-context';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Position } from '../../event-store/position';
import type { SqliteEventStore } from './sqlite-event-store';
import { BatchTransaction, type TransactionBackend } from '../../projections/batch-transaction';
import type { ProjectionChange } from '../../projections/change-feed';
import { planQuery, type DocumentQuery, type DocumentReader, type IndexType, type Where } from '../../projections/document';
import type { DocumentTable, DocumentUpsert } from '../../projections/document-batch';
import { createDocumentIndexes, createDocumentTable, selectDocuments, toSqlValues } from '../../projections/document-sql';
import { CheckpointConflictError, InvalidProjectionError, ReadModelUnavailableError, toError } from '../../projections/errors';
import { quoteField, quoteIdentifier } from '../../projections/identifier';
import { Mutex } from '../../projections/mutex';
import { ErasureIncompleteError } from '../../personal-data/errors';
import { enableSecureDelete, truncateWal } from './wal-scrub';
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

export interface SqliteReadModelStoreOptions {
  /**
   * `normal` (default) does not sync each batch to disk: on power loss the last batches may be lost,
   * but always whole and together with their checkpoint, so they are simply handled again from the
   * event store and no effect is lost or doubled. `full` syncs every batch.
   */
  readonly synchronous?: 'full' | 'normal';
  /**
   * How long a batch waits for another connection's write lock. better-sqlite3 waits synchronously,
   * blocking the event loop, so this stays short; the engine's backoff does the longer waiting.
   * Default 200 ms.
   */
  readonly busyTimeoutMs?: number;
  /** How often `watchChanges` looks for batches committed by other processes. Default 50 ms. */
  readonly pollIntervalMs?: number;
  /** How long change announcements are kept for other processes to poll. Default 10 minutes. */
  readonly changeRetentionMs?: number;
}

/** Announcements listing more keys than this say `'all'` instead, to keep the change log small. */
const MAX_ANNOUNCED_KEYS = 256;
const STATEMENT_CACHE_SIZE = 256;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS eventfold_projections (
     name TEXT NOT NULL PRIMARY KEY,
     active_version INTEGER NOT NULL,
     active_generation INTEGER NOT NULL,
     views TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS eventfold_projection_slots (
     name TEXT NOT NULL,
     slot TEXT NOT NULL,
     version INTEGER NOT NULL,
     generation INTEGER NOT NULL,
     position TEXT,
     events_handled INTEGER NOT NULL DEFAULT 0,
     failure TEXT,
     tables TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (name, slot)
   )`,
  `CREATE TABLE IF NOT EXISTS eventfold_projection_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL,
     version INTEGER NOT NULL,
     position TEXT NOT NULL,
     keys TEXT,
     created_at INTEGER NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS eventfold_projection_changes_created ON eventfold_projection_changes (created_at)`,
];

interface SlotRow {
  slot: string;
  version: number;
  generation: number;
  position: string | null;
  events_handled: number;
  failure: string | null;
  tables: string;
}

interface ChangeRow {
  seq: number;
  name: string;
  version: number;
  position: string;
  keys: string | null;
}

/** Prepared statements of one connection. */
interface ConnectionCache {
  readonly documents: Map<string, DocumentStatements>;
  readonly statements: Map<string, Database.Statement>;
}

/** Prepared statements of one document table, on one connection. */
interface DocumentStatements {
  readonly load: Database.Statement<[string], { doc: string }>;
  readonly loadMany: Database.Statement<[string], { key: string; doc: string }>;
  readonly upsert: Database.Statement<unknown[]>;
  readonly remove: Database.Statement<[string]>;
}

/**
 * Read models in a SQLite file (the embedded default): one transaction per batch holding the
 * documents, hand-written tables and checkpoint, durable on commit. Batches are written on one
 * connection and queries answered on another, so a reader never sees a batch before it commits.
 * The file may be the event store's own or a separate one.
 *
 * @example
 * const readModels = SqliteReadModelStore.open('./data/read-models.db');
 * const engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
 */
export class SqliteReadModelStore implements ReadModelStore {
  readonly dialect = 'sqlite' as const;
  private readonly mutex = new Mutex();
  /** Prepared statements per connection: the store's writer, and the event store's for inline batches. */
  private readonly connectionCaches = new Map<Database.Database, ConnectionCache>();
  private readonly readerStatements = new Map<string, Database.Statement>();
  private readonly pollers = new Set<NodeJS.Timeout>();
  private readonly statements: ReturnType<SqliteReadModelStore['prepare']>;
  private commitsSincePrune = 0;
  private closed = false;

  private constructor(
    private readonly writer: Database.Database,
    private readonly reader: Database.Database,
    private readonly options: SqliteReadModelStoreOptions,
  ) {
    this.statements = this.prepare();
  }

  /**
   * Opens (and creates) the read-model database at `path`.
   * @throws ReadModelUnavailableError when the file cannot be opened.
   */
  static open(path: string, options: SqliteReadModelStoreOptions = {}): SqliteReadModelStore {
    if (path === ':memory:' || path === '') {
      throw new InvalidProjectionError('a SQLite read-model store needs a file (it uses two connections); use InMemoryReadModelStore for throwaway read models');
    }
    mkdirSync(dirname(path), { recursive: true });
    const connect = (): Database.Database => {
      try {
        const db = new Database(path);
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
        db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 200}`);
        // 64 MiB of page cache: rebuilds touch documents all over their tables.
        db.pragma('cache_size = -65536');
        return db;
      } catch (error) {
        throw new ReadModelUnavailableError(`cannot open SQLite read-model database at ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    };
    const writer = connect();
    // Documents blanked or deleted on a SubjectForgotten must not leave their old bytes in the file's free space.
    enableSecureDelete(writer);
    try {
      writer.transaction(() => SCHEMA.forEach((statement) => writer.exec(statement))).immediate();
    } catch (error) {
      writer.close();
      throw new ReadModelUnavailableError(`cannot prepare SQLite read-model database at ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new SqliteReadModelStore(writer, connect(), options);
  }

  /** The read connection, for hand-written queries of the projections' views. Writes belong to projections. */
  get database(): Database.Database {
    return this.reader;
  }

  private prepare() {
    const w = this.writer;
    return {
      projection: w.prepare<[string], { active_version: number; active_generation: number; views: string }>(
        'SELECT active_version, active_generation, views FROM eventfold_projections WHERE name = ?',
      ),
      slots: w.prepare<[string], SlotRow>(
        'SELECT slot, version, generation, position, events_handled, failure, tables FROM eventfold_projection_slots WHERE name = ?',
      ),
      slot: w.prepare<[string, string], SlotRow>(
        'SELECT slot, version, generation, position, events_handled, failure, tables FROM eventfold_projection_slots WHERE name = ? AND slot = ?',
      ),
      insertSlot: w.prepare(
        `INSERT INTO eventfold_projection_slots (name, slot, version, generation, position, events_handled, failure, tables, updated_at)
         VALUES (?, ?, ?, ?, NULL, 0, NULL, ?, ?) ON CONFLICT (name, slot) DO NOTHING`,
      ),
      deleteSlot: w.prepare('DELETE FROM eventfold_projection_slots WHERE name = ? AND slot = ?'),
      checkpoint: w.prepare<[string, string], { position: string | null }>(
        'SELECT position FROM eventfold_projection_slots WHERE name = ? AND slot = ?',
      ),
      advance: w.prepare(
        `UPDATE eventfold_projection_slots SET position = ?, events_handled = events_handled + ?, failure = NULL, updated_at = ?
         WHERE name = ? AND slot = ?`,
      ),
      recordFailure: w.prepare('UPDATE eventfold_projection_slots SET failure = ?, updated_at = ? WHERE name = ? AND slot = ?'),
      upsertProjection: w.prepare(
        `INSERT INTO eventfold_projections (name, active_version, active_generation, views, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET active_version = excluded.active_version,
           active_generation = excluded.active_generation, views = excluded.views, updated_at = excluded.updated_at`,
      ),
      viewOwners: w.prepare<[string], { name: string; views: string }>('SELECT name, views FROM eventfold_projections WHERE name <> ?'),
      insertChange: w.prepare(
        'INSERT INTO eventfold_projection_changes (name, version, position, keys, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      pruneChanges: w.prepare('DELETE FROM eventfold_projection_changes WHERE created_at < ?'),
    };
  }

  load(projection: string): Promise<ProjectionRecord> {
    return this.read(() => {
      const active = this.statements.projection.get(projection);
      return {
        active: active && { version: active.active_version, generation: active.active_generation },
        slots: this.statements.slots.all(projection).map((row) => ({
          version: row.version,
          generation: row.generation,
          position: row.position === null ? undefined : Position.parse(row.position),
          eventsHandled: row.events_handled,
          failure: row.failure === null ? undefined : (JSON.parse(row.failure) as ProjectionFailure),
        })),
      };
    });
  }

  createSlot(layout: SlotLayout): Promise<void> {
    return this.write(() => {
      if (this.statements.slot.get(layout.projection, layout.id)) return;
      for (const collection of layout.collections) {
        for (const statement of createDocumentTable('sqlite', collection.table, collection.indexes)) this.writer.exec(statement);
      }
      for (const table of layout.tables) {
        for (const statement of table.definition.create(quoteIdentifier(table.table), 'sqlite')) this.writer.exec(statement);
      }
      this.statements.insertSlot.run(
        layout.projection,
        layout.id,
        layout.version,
        layout.generation,
        JSON.stringify(physicalTables(layout)),
        Date.now(),
      );
    });
  }

  indexSlot(layout: SlotLayout): Promise<void> {
    return this.write(() => {
      for (const collection of layout.collections) {
        for (const statement of createDocumentIndexes(collection.table, collection.indexes)) this.writer.exec(statement);
      }
    });
  }

  activate(layout: SlotLayout): Promise<void> {
    return this.write(() => {
      if (!this.statements.slot.get(layout.projection, layout.id)) {
        throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" does not exist`);
      }
      const views = physicalTables(layout);
      const names = new Set(views.map((view) => view.name));
      for (const other of this.statements.viewOwners.all(layout.projection)) {
        const taken = (JSON.parse(other.views) as string[]).find((view) => names.has(view));
        if (taken) throw new InvalidProjectionError(`"${taken}" already belongs to projection "${other.name}"`);
      }
      const previous = this.statements.projection.get(layout.projection);
      const stale = previous ? (JSON.parse(previous.views) as string[]) : [];
      for (const view of new Set([...stale, ...names])) this.writer.exec(`DROP VIEW IF EXISTS ${quoteIdentifier(view)}`);
      for (const view of views) {
        this.writer.exec(`CREATE VIEW ${quoteIdentifier(view.name)} AS SELECT * FROM ${quoteIdentifier(view.table)}`);
      }
      this.statements.upsertProjection.run(layout.projection, layout.version, layout.generation, JSON.stringify([...names]), Date.now());
    });
  }

  dropSlot(layout: SlotLayout): Promise<void> {
    return this.write(() => {
      const row = this.statements.slot.get(layout.projection, layout.id);
      if (!row) return;
      const active = this.statements.projection.get(layout.projection);
      if (active && active.active_version === row.version && active.active_generation === row.generation) {
        throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" is active; it cannot be dropped`);
      }
      // The stored list, not the layout: an older version may have had tables this code no longer knows.
      for (const { table } of JSON.parse(row.tables) as { table: string }[]) {
        for (const cache of this.connectionCaches.values()) cache.documents.delete(table);
        this.writer.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
      }
      this.statements.deleteSlot.run(layout.projection, layout.id);
    });
  }

  commitBatch(
    layout: SlotLayout,
    request: BatchRequest,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit> {
    return this.mutex.run(async () => {
      this.begin();
      try {
        const current = this.statements.checkpoint.get(layout.projection, layout.id);
        if (!current) throw new ReadModelUnavailableError(`slot ${layout.id} of "${layout.projection}" is missing`);
        if (current.position !== (request.from?.toString() ?? null)) {
          throw new CheckpointConflictError(
            `the checkpoint of "${layout.projection}" (${layout.id}) is at ${current.position ?? 'start'}; this batch expected ${request.from?.toString() ?? 'start'}`,
          );
        }
        const tx = new BatchTransaction(layout, this.transactionBackend(this.writer));
        await work(tx);
        const keys = await tx.flush();
        const now = Date.now();
        const to = request.to.toString();
        this.statements.advance.run(to, request.eventCount, now, layout.projection, layout.id);
        const active = this.statements.projection.get(layout.projection);
        if (active && active.active_version === layout.version && active.active_generation === layout.generation) {
          const announced = keys.length > MAX_ANNOUNCED_KEYS ? null : JSON.stringify(keys);
          this.statements.insertChange.run(layout.projection, layout.version, to, announced, now);
          if (++this.commitsSincePrune >= 100) {
            this.commitsSincePrune = 0;
            this.statements.pruneChanges.run(now - (this.options.changeRetentionMs ?? 600_000));
          }
        }
        this.commit();
        return { keys };
      } catch (error) {
        this.rollback();
        throw error;
      }
    });
  }

  async commitInline(
    layout: SlotLayout,
    batch: InlineBatch,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit | undefined> {
    this.assertOpen();
    const { context, events } = batch;
    if (!isSqliteAppendContext(context)) {
      throw new InvalidProjectionError('a SQLite read-model store runs inline projections of a SQLite event store only');
    }
    // The append's connection, inside its transaction: what is read here includes the append's events,
    // and what is written commits (or rolls back) with them.
    const db = context.connection;
    const row = this.statementOn(db, 'SELECT position FROM eventfold_projection_slots WHERE name = ? AND slot = ?').get(
      layout.projection,
      layout.id,
    ) as { position: string | null } | undefined;
    if (!row) return undefined;
    const checkpoint = row.position === null ? undefined : Position.parse(row.position);
    if (!(await coversBefore(checkpoint, context, batch.eventTypes))) return undefined;
    const tx = new BatchTransaction(layout, this.transactionBackend(db));
    await work(tx);
    const keys = await tx.flush();
    const now = Date.now();
    const to = events[events.length - 1]!.position.toString();
    this.statementOn(
      db,
      `UPDATE eventfold_projection_slots SET position = ?, events_handled = events_handled + ?, failure = NULL, updated_at = ?
       WHERE name = ? AND slot = ?`,
    ).run(to, events.length, now, layout.projection, layout.id);
    const active = this.statementOn(db, 'SELECT active_version, active_generation FROM eventfold_projections WHERE name = ?').get(
      layout.projection,
    ) as { active_version: number; active_generation: number } | undefined;
    if (active && active.active_version === layout.version && active.active_generation === layout.generation) {
      this.statementOn(db, 'INSERT INTO eventfold_projection_changes (name, version, position, keys, created_at) VALUES (?, ?, ?, ?, ?)').run(
        layout.projection,
        layout.version,
        to,
        keys.length > MAX_ANNOUNCED_KEYS ? null : JSON.stringify(keys),
        now,
      );
    }
    return { keys };
  }

  /** Whether `eventStore` is a SQLite event store on this store's file. */
  sharesDatabaseWith(eventStore: unknown): Promise<boolean> {
    const connection = (eventStore as Partial<SqliteEventStore> | undefined)?.database;
    if ((eventStore as { backend?: unknown } | undefined)?.backend !== 'sqlite' || !connection) return Promise.resolve(false);
    return this.read(() => mainFile(connection) === mainFile(this.writer));
  }

  recordFailure(layout: SlotLayout, failure: ProjectionFailure | undefined): Promise<void> {
    return this.write(() => {
      this.statements.recordFailure.run(failure ? JSON.stringify(failure) : null, Date.now(), layout.projection, layout.id);
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
        this.read(() => {
          const row = this.readerStatement(`SELECT "doc" FROM ${view} WHERE "key" = ?`).get(key) as { doc: string } | undefined;
          return row ? (JSON.parse(row.doc) as TDoc) : undefined;
        }),
      find: (query?: DocumentQuery<TDoc>) =>
        this.read(() => {
          const statement = selectDocuments('sqlite', collection, planQuery(collection, indexes, query));
          const rows = this.readerStatement(statement.text).all(...statement.parameters) as { doc: string }[];
          return rows.map((row) => JSON.parse(row.doc) as TDoc);
        }),
      count: (where?: Where<TDoc>) =>
        this.read(() => {
          const plan = planQuery(collection, indexes, { where });
          const statement = selectDocuments('sqlite', collection, plan, true);
          return (this.readerStatement(statement.text).get(...statement.parameters) as { count: number }).count;
        }),
    };
  }

  /**
   * Hears of batches committed by any process on this file, by polling the change log (SQLite has
   * no notifications between processes). Starts from now.
   */
  watchChanges(listener: (change: ProjectionChange) => void): Promise<() => Promise<void>> {
    return this.read(() => {
      let last = (this.readerStatement('SELECT MAX(seq) AS seq FROM eventfold_projection_changes').get() as { seq: number | null }).seq ?? 0;
      const poll = (): void => {
        if (this.closed) return;
        try {
          const rows = this.readerStatement(
            'SELECT seq, name, version, position, keys FROM eventfold_projection_changes WHERE seq > ? ORDER BY seq LIMIT 1000',
          ).all(last) as ChangeRow[];
          for (const row of rows) {
            last = row.seq;
            listener({
              projection: row.name,
              version: row.version,
              position: Position.parse(row.position),
              keys: row.keys === null ? 'all' : (JSON.parse(row.keys) as string[]),
            });
          }
        } catch {
          // A busy or briefly unavailable file: the next poll tries again from the same place.
        }
      };
      const timer = setInterval(poll, this.options.pollIntervalMs ?? 50);
      timer.unref();
      this.pollers.add(timer);
      return async () => {
        clearInterval(timer);
        this.pollers.delete(timer);
        return Promise.resolve();
      };
    });
  }

  /**
   * Removes from the files the bytes of documents deleted or overwritten so far. The writer runs with
   * `secure_delete` on, which zeroes a deleted cell and freed pages, but not the unallocated gap a page
   * keeps when SQLite rebuilds it while balancing the b-tree: copies of rows that moved to a sibling page
   * stay there (a byte scan found erased names in the document tables' pages, below their content
   * start). So this rebuilds the file (`VACUUM`, which writes every page anew and needs free disk space
   * for a copy of the live data; it costs time in proportion to the read models' size) and then
   * truncates the WAL, which still holds older page versions. Call it once projections have cleaned up
   * after a `SubjectForgotten`.
   *
   * @example
   * await readModels.waitForPosition(receipt.position); await readModels.scrub();
   * @throws ErasureIncompleteError when other connections kept the WAL in use for too long: call again.
   */
  async scrub(): Promise<void> {
    const done = await this.mutex.run(() => {
      // Between batches (the mutex), so no transaction of this connection is open.
      try {
        this.writer.exec('VACUUM');
      } catch (error) {
        throw new ErasureIncompleteError(`could not rebuild the SQLite read-model file: ${(error as Error).message}; scrub again to finish`, {
          cause: error,
        });
      }
      return truncateWal(this.writer);
    });
    if (!done) throw new ErasureIncompleteError('other connections kept the SQLite read-model WAL in use: scrub again to finish');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.pollers) clearInterval(timer);
    await this.mutex.idle();
    this.writer.close();
    this.reader.close();
  }

  private transactionBackend(db: Database.Database): TransactionBackend {
    return {
      dialect: 'sqlite',
      documentTable: (table, indexes) => this.documentTable(db, table, indexes),
      execute: (sql, parameters) => Promise.resolve(this.statementOn(db, sql).run(...toSqlite(parameters)).changes),
      query: <Row extends object>(sql: string, parameters: readonly SqlParameter[]) =>
        Promise.resolve(this.statementOn(db, sql).all(...toSqlite(parameters)) as Row[]),
    };
  }

  private cacheOf(db: Database.Database): ConnectionCache {
    let cache = this.connectionCaches.get(db);
    if (!cache) {
      cache = { documents: new Map(), statements: new Map() };
      this.connectionCaches.set(db, cache);
    }
    return cache;
  }

  private documentTable(db: Database.Database, table: string, indexes: Readonly<Record<string, IndexType>>): DocumentTable {
    const cache = this.cacheOf(db);
    let statements = cache.documents.get(table);
    if (!statements) {
      const name = quoteIdentifier(table);
      const fields = Object.keys(indexes).map(quoteField);
      const columns = ['"key"', '"doc"', ...fields];
      statements = {
        load: db.prepare<[string], { doc: string }>(`SELECT "doc" FROM ${name} WHERE "key" = ?`),
        // One statement for any number of keys: they travel as one JSON array.
        loadMany: db.prepare<[string], { key: string; doc: string }>(
          `SELECT "key", "doc" FROM ${name} WHERE "key" IN (SELECT value FROM json_each(?))`,
        ),
        upsert: db.prepare<unknown[]>(
          `INSERT INTO ${name} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
           ON CONFLICT ("key") DO UPDATE SET ${columns.slice(1).map((column) => `${column} = excluded.${column}`).join(', ')}`,
        ),
        remove: db.prepare<[string]>(`DELETE FROM ${name} WHERE "key" = ?`),
      };
      cache.documents.set(table, statements);
    }
    const { load, loadMany, upsert, remove } = statements;
    return {
      load: (key) => {
        const row = load.get(key);
        return Promise.resolve(row ? (JSON.parse(row.doc) as object) : undefined);
      },
      loadMany: (keys) => {
        const rows = loadMany.all(JSON.stringify(keys));
        return Promise.resolve(new Map(rows.map((row) => [row.key, JSON.parse(row.doc) as object])));
      },
      find: (plan) => {
        const statement = selectDocuments('sqlite', table, plan);
        const rows = this.statementOn(db, statement.text).all(...statement.parameters) as { key: string; doc: string }[];
        return Promise.resolve(rows.map((row) => ({ key: row.key, doc: JSON.parse(row.doc) as object })));
      },
      write: (upserts: readonly DocumentUpsert[], deletes: readonly string[]) => {
        for (const key of deletes) remove.run(key);
        for (const { key, json, values } of upserts) upsert.run(key, json, ...toSqlValues('sqlite', values));
        return Promise.resolve();
      },
    };
  }

  private begin(): void {
    this.assertOpen();
    try {
      this.writer.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw new ReadModelUnavailableError(`cannot start a read-model transaction: ${(error as Error).message}`, { cause: error });
    }
  }

  private commit(): void {
    try {
      this.writer.exec('COMMIT');
    } catch (error) {
      throw new ReadModelUnavailableError(`the read-model commit failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private rollback(): void {
    if (this.writer.open && this.writer.inTransaction) this.writer.exec('ROLLBACK');
  }

  /** A synchronous unit of work in its own transaction, queued behind any batch in progress. */
  private write(work: () => void): Promise<void> {
    return this.mutex.run(() => {
      this.begin();
      try {
        work();
        this.commit();
        return Promise.resolve();
      } catch (error) {
        this.rollback();
        return Promise.reject(toError(error));
      }
    });
  }

  private read<T>(work: () => T): Promise<T> {
    try {
      this.assertOpen();
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toError(error));
    }
  }

  private statementOn(db: Database.Database, sql: string): Database.Statement {
    return cached(this.cacheOf(db).statements, sql, () => db.prepare(sql));
  }

  private readerStatement(sql: string): Database.Statement {
    return cached(this.readerStatements, sql, () => this.reader.prepare(sql));
  }

  private assertOpen(): void {
    if (this.closed) throw new ReadModelUnavailableError('the SQLite read-model store is closed');
  }
}

/** Every table of a slot with the name readers use for it. */
function physicalTables(layout: SlotLayout): { name: string; table: string }[] {
  return [...layout.collections, ...layout.tables].map(({ name, table }) => ({ name, table }));
}

function mainFile(db: Database.Database): string | undefined {
  const rows = db.pragma('database_list') as { name: string; file: string }[];
  return rows.find((row) => row.name === 'main')?.file || undefined;
}

function toSqlite(parameters: readonly SqlParameter[]): unknown[] {
  return parameters.map((value) => (typeof value === 'boolean' ? Number(value) : value));
}

function cached(cache: Map<string, Database.Statement>, sql: string, prepare: () => Database.Statement): Database.Statement {
  let statement = cache.get(sql);
  if (!statement) {
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    statement = prepare();
    cache.set(sql, statement);
  }
  return statement;
}
