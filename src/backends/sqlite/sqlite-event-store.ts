import './transient-errors';
import type { ReactorStateStore } from '../../handlers/reactor-state-store';
import { SqliteTimerStore } from './sqlite-timer-store';
import type { TimerStore } from '../../handlers/timer-store';
import { SqliteReactorStateStore } from './sqlite-reactor-state-store';
import type { KeyStore } from '../../personal-data/key-store';
import { SqliteKeyStore } from './sqlite-key-store';
import { migrateSqlite } from './migrations';
import {
  ARCHIVE_MIGRATION,
  EVENTS_LAYOUT_MIGRATION,
  LIFECYCLE_MIGRATION,
  SqliteChainWriter,
  SqliteLifecycle,
  addHashChain,
  openSqliteChainSnapshot,
  type NextBatch,
} from './sqlite-hash-chain';
import type { LifecycleAction } from '../../event-store/stream-lifecycle';
import type { ChainSnapshot, HashChainedStore } from '../../event-store/hash-chain';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AppendHook, AppendHookHost } from '../../event-store/append-hook';
import type { SqliteAppendHookContext } from './append-hook-context';
import { DuplicateEventIdError, StoreUnavailableError } from '../../event-store/errors';
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
import { checkExpectedRevision, resolveRepeatedAppend } from '../../event-store/idempotency';
import { PagedEventStore, type PagedEventStoreOptions } from '../../event-store/paged-event-store';
import { Position, type FromPosition } from '../../event-store/position';
import type { PreparedEvent } from '../../event-store/validation';
import {
  prepareImport,
  type EventImporter,
  type ImportCheckpoint,
  type ImportedEvent,
  type ImportResult,
  type ListStreamsOptions,
  type StoreAdmin,
  type StoreStatistics,
  type StreamSummary,
} from '../../event-store/store-admin';
import { importSqliteEvents, listSqliteStreams, sqliteImportCheckpoint, sqliteStatistics } from './sqlite-store-admin';

export interface SqliteEventStoreOptions extends PagedEventStoreOptions {
  /** `full` (default) syncs every commit to disk; `normal` may lose the last commits on power loss. */
  readonly synchronous?: 'full' | 'normal';
}

/** Versioned, idempotent schema steps; a step runs once, inside the transaction that records it. */
export const MIGRATIONS: readonly (string | ((db: Database.Database) => void))[] = [
  `CREATE TABLE eventfold_streams (
     stream_name TEXT PRIMARY KEY,
     revision INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE eventfold_events (
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
   CREATE INDEX eventfold_events_correlation ON eventfold_events (correlation_id, position)
     WHERE correlation_id IS NOT NULL;`,
  addHashChain,
  LIFECYCLE_MIGRATION,
  ARCHIVE_MIGRATION,
  EVENTS_LAYOUT_MIGRATION,
];

interface PendingAppend {
  readonly streamName: string;
  readonly events: readonly PreparedEvent[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

/** One append's share of the group's chain batch: its positions and its events' hashes. */
interface ChainPart {
  readonly first: number;
  readonly last: number;
  readonly hashes: readonly Buffer[];
}

const COLUMNS = 'position, event_id, stream_name, revision, type, data, metadata, recorded_at';

/**
 * The embedded default: one durable SQLite file in WAL mode with full sync. Appends that arrive in the
 * same event-loop turn share one transaction (group commit), each inside its own savepoint so that one
 * failing append leaves the others whole. In-process subscribers wake at once; writers in other
 * processes are seen by polling.
 *
 * @example
 * const store = SqliteEventStore.open('./data/events.db');
 */
export class SqliteEventStore extends PagedEventStore implements AppendHookHost, StoreAdmin, EventImporter, HashChainedStore {
  readonly backend = 'sqlite' as const;
  readonly capabilities: StoreCapabilities = { durable: true, sequencePositions: true };
  private readonly db: Database.Database;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly hooks = new Set<AppendHook>();
  /** Set while an append transaction with hooks is open across awaits: reads and other writes wait for it. */
  private writing: Promise<void> | undefined;
  private readonly statements: ReturnType<SqliteEventStore['prepareStatements']>;
  private readonly filteredReads = new Map<string, Database.Statement>();
  private readonly chain: SqliteChainWriter;
  private readonly lifecycle: SqliteLifecycle;
  /** The append transactions, made once (building a better-sqlite3 transaction function costs ~6 µs). */
  private readonly transactions: ReturnType<SqliteEventStore['prepareTransactions']>;

  private constructor(db: Database.Database, options: SqliteEventStoreOptions) {
    super(options, 100);
    this.db = db;
    this.statements = this.prepareStatements();
    this.chain = new SqliteChainWriter(db);
    this.lifecycle = new SqliteLifecycle(db);
    this.transactions = this.prepareTransactions();
  }

  /** Opens (and creates or migrates) the store at `path`; `:memory:` gives a throwaway database. */
  static open(path: string, options: SqliteEventStoreOptions = {}): SqliteEventStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (error) {
      throw new StoreUnavailableError(`cannot open SQLite database at ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('busy_timeout = 5000');
    migrateSqlite(db, { table: 'eventfold_schema', steps: MIGRATIONS });
    return new SqliteEventStore(db, options);
  }

  /** The underlying connection, for read models that live in the same file (inline projections). */
  /** The reactor bookkeeping in this store's file (checkpoints, parked events, leases). */
  openReactorState(): Promise<ReactorStateStore> {
    return Promise.resolve(SqliteReactorStateStore.open(this.database));
  }

  /** The timers in this store's file (see `context.schedule`). */
  openTimerStore(): Promise<TimerStore> {
    return Promise.resolve(SqliteTimerStore.open(this.database));
  }

  /** The subjects' keys (crypto-shredding) in this store's file. */
  openKeyStore(): Promise<KeyStore> {
    return Promise.resolve(new SqliteKeyStore(this.database));
  }

  get database(): Database.Database {
    return this.db;
  }

  /** Streams by name (`eventfold streams list`, the console); see {@link StoreAdmin}. */
  listStreams(options?: ListStreamsOptions): Promise<readonly StreamSummary[]> {
    return this.guard(() => listSqliteStreams(this.db, options));
  }

  statistics(): Promise<StoreStatistics> {
    return this.guard(() => sqliteStatistics(this.db));
  }

  /** Imports recorded events as they are (`eventfold copy`); see {@link EventImporter}. */
  async importEvents(events: readonly ImportedEvent[], checkpoint: ImportCheckpoint): Promise<ImportResult> {
    this.assertOpen();
    const prepared = prepareImport(events, this.limits, checkpoint);
    // The import is synchronous: once no hooked transaction is open, nothing else can use the connection.
    while (this.writing) await this.writing;
    this.assertOpen();
    const result = importSqliteEvents(this.db, prepared, checkpoint, this.chain);
    if (result.imported > 0) this.signal.notify();
    return result;
  }

  importCheckpoint(source: string): Promise<ImportCheckpoint | undefined> {
    return this.guard(() => sqliteImportCheckpoint(this.db, source));
  }

  private prepareStatements() {
    const db = this.db;
    return {
      findEvent: db.prepare<[string], { stream_name: string; revision: number }>(
        'SELECT stream_name, revision FROM eventfold_events WHERE event_id = ?',
      ),
      slots: db.prepare<[string, number, number], { event_id: string; position: number; type: string; data: string; metadata: string }>(
        // An archived event's content is gone: a retry of it cannot be recognised, so it is refused (never written twice).
        `SELECT event_id, position, type, data, metadata FROM eventfold_events
         WHERE stream_name = ? AND revision >= ? AND archived IS NULL ORDER BY revision LIMIT ?`,
      ),
      // The stream's revision and its last event's hash (the chain's tip) in one statement.
      streamHead: db.prepare<[string], { revision: number; hash: Buffer | null }>(
        `SELECT s.revision, e.hash FROM eventfold_streams s
         LEFT JOIN eventfold_events e ON e.stream_name = s.stream_name AND e.revision = s.revision
         WHERE s.stream_name = ?`,
      ),
      streamRevision: db.prepare<[string], { revision: number }>(
        'SELECT revision FROM eventfold_streams WHERE stream_name = ?',
      ),
      insertEvent: db.prepare(
        `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at, hash, batch)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      upsertStream: db.prepare(
        `INSERT INTO eventfold_streams (stream_name, revision) VALUES (?, ?)
         ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision`,
      ),
      streamForwards: db
        .prepare<[string, number, number], EventColumns>(
          `SELECT ${COLUMNS} FROM eventfold_events WHERE stream_name = ? AND revision >= ? AND archived IS NULL ORDER BY revision LIMIT ?`,
        )
        .raw(true),
      streamBackwards: db
        .prepare<[string, number, number], EventColumns>(
          `SELECT ${COLUMNS} FROM eventfold_events WHERE stream_name = ? AND revision <= ? AND archived IS NULL ORDER BY revision DESC LIMIT ?`,
        )
        .raw(true),
      foldForwards: db
        .prepare<[string, number, number], FoldColumns>(
          'SELECT type, data, metadata FROM eventfold_events WHERE stream_name = ? AND revision >= ? AND archived IS NULL ORDER BY revision LIMIT ?',
        )
        .raw(true),
      correlation: db
        .prepare<[string, number, number], EventColumns>(
          `SELECT ${COLUMNS} FROM eventfold_events WHERE correlation_id = ? AND position > ? AND archived IS NULL ORDER BY position LIMIT ?`,
        )
        .raw(true),
      head: db.prepare<[], { position: number }>('SELECT MAX(position) AS position FROM eventfold_events'),
      typedBetween: db.prepare<[number, number, string], { found: number }>(
        `SELECT 1 AS found FROM eventfold_events
         WHERE position > ? AND position <= ? AND type IN (SELECT value FROM json_each(?)) LIMIT 1`,
      ),
    };
  }

  protected appendPrepared(
    streamName: string,
    events: readonly PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ streamName, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Runs `hook` in every append transaction from now on (inline projections); see {@link AppendHook}.
   * The returned function removes it.
   */
  addAppendHook(hook: AppendHook): () => void {
    this.assertOpen();
    this.hooks.add(hook);
    return () => {
      this.hooks.delete(hook);
    };
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.writing) {
      // A hooked transaction is still open on the connection: this group goes after it.
      this.flushScheduled = true;
      void this.writing.then(() => this.flush());
      return;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    if (this.hooks.size > 0) {
      this.writing = this.flushWithHooks(batch)
        .catch((error: unknown) => {
          // Only a connection that broke while rolling back gets here; appends already settled stay so.
          const failure = new StoreUnavailableError(`SQLite append failed: ${(error as Error).message}`, { cause: error });
          for (const append of batch) append.reject(failure);
        })
        .finally(() => {
          this.writing = undefined;
        });
      return;
    }
    if (batch.length === 1) {
      this.flushOne(batch[0]!);
      return;
    }
    const outcomes: Outcome[] = [];
    try {
      this.transactions.group.immediate(batch, outcomes);
    } catch (error) {
      const failure = new StoreUnavailableError(`SQLite commit failed: ${(error as Error).message}`, { cause: error });
      for (const append of batch) append.reject(failure);
      return;
    }
    batch.forEach((append, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) append.resolve(outcome.result);
      else append.reject(outcome.error);
    });
  }

  /**
   * A group of one append (a single writer): its own transaction, without the savepoint that keeps
   * the appends of a larger group apart. When the append fails, the transaction rolls back whole and
   * the append gets its own error.
   */
  private flushOne(append: PendingAppend): void {
    const attempt: { refused?: { error: unknown } } = {};
    let result: AppendResult;
    try {
      result = this.transactions.single.immediate(append, attempt);
    } catch (error) {
      append.reject(attempt.refused ? attempt.refused.error : new StoreUnavailableError(`SQLite commit failed: ${(error as Error).message}`, { cause: error }));
      return;
    }
    append.resolve(result);
  }

  private prepareTransactions() {
    // Nested better-sqlite3 transactions become savepoints: a failing append of a group rolls back alone.
    const appendOne = this.db.transaction((append: PendingAppend, next: NextBatch, sealed: ChainPart[]) =>
      this.appendInTransaction(append.streamName, append.events, append.expected, next, sealed),
    );
    return {
      /** A group of appends, each in its own savepoint; `outcomes` gets one entry per append, in order. */
      group: this.db.transaction((batch: readonly PendingAppend[], outcomes: Outcome[]) => {
        const next = this.chain.next();
        const sealed: ChainPart[] = [];
        for (const append of batch) {
          const mark = sealed.length;
          try {
            outcomes.push({ ok: true, result: appendOne(append, next, sealed) });
          } catch (error) {
            sealed.length = mark;
            outcomes.push({ ok: false, error });
          }
        }
        this.sealGroup(next, sealed);
      }),
      /** One append alone, without a savepoint: when it is refused, `attempt.refused` holds why and all rolls back. */
      single: this.db.transaction((append: PendingAppend, attempt: { refused?: { error: unknown } }): AppendResult => {
        const next = this.chain.next();
        const sealed: ChainPart[] = [];
        let result: AppendResult;
        try {
          result = this.appendInTransaction(append.streamName, append.events, append.expected, next, sealed);
        } catch (error) {
          attempt.refused = { error };
          throw error;
        }
        this.sealGroup(next, sealed);
        return result;
      }),
    };
  }

  /**
   * The group commit with hooks: the same savepoint per append, then the hooks over every event the
   * group wrote, then the commit. The transaction stays open across the hooks' awaits, so reads and
   * the next group wait for it (`writing`). When a hook throws, the whole transaction rolls back; a
   * group is then retried one append at a time, so only the append whose events the hook refused fails.
   */
  private async flushWithHooks(batch: readonly PendingAppend[]): Promise<void> {
    const db = this.db;
    const hooks = [...this.hooks];
    const outcomes: Outcome[] = [];
    const recorded: RecordedEvent[] = [];
    const sealed: ChainPart[] = [];
    let context: SqliteAppendHookContext | undefined;
    let hookFailure: { error: unknown } | undefined;
    try {
      db.exec('BEGIN IMMEDIATE');
      const head = this.statements.head.get()?.position;
      const next = this.chain.next();
      for (const append of batch) {
        db.exec('SAVEPOINT eventfold_append');
        const mark = recorded.length;
        const sealMark = sealed.length;
        try {
          outcomes.push({ ok: true, result: this.appendInTransaction(append.streamName, append.events, append.expected, next, sealed, recorded) });
          db.exec('RELEASE eventfold_append');
        } catch (error) {
          recorded.length = mark;
          sealed.length = sealMark;
          db.exec('ROLLBACK TO eventfold_append');
          db.exec('RELEASE eventfold_append');
          outcomes.push({ ok: false, error });
        }
      }
      this.sealGroup(next, sealed);
      if (recorded.length > 0) {
        context = {
          backend: 'sqlite',
          ordered: true,
          connection: db,
          events: recorded,
          previousHead: head == null ? undefined : Position.of(BigInt(head), BigInt(head)),
          hasEventsBefore: (after, eventTypes) =>
            Promise.resolve(
              this.statements.typedBetween.get(after === undefined ? 0 : Number(after.commit), head ?? 0, JSON.stringify(eventTypes)) !==
                undefined,
            ),
        };
        try {
          for (const hook of hooks) await hook.beforeCommit(context);
        } catch (error) {
          hookFailure = { error };
          throw error;
        }
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.open && db.inTransaction) db.exec('ROLLBACK');
      if (hookFailure && batch.length > 1) {
        for (const append of batch) await this.flushWithHooks([append]);
        return;
      }
      const failure = hookFailure
        ? hookFailure.error
        : new StoreUnavailableError(`SQLite commit failed: ${(error as Error).message}`, { cause: error });
      for (const append of batch) append.reject(failure);
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
    batch.forEach((append, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) append.resolve(outcome.result);
      else append.reject(outcome.error);
    });
  }

  /**
   * Seals the group's appends as one batch of the `$all` chain: the committed batch is the group's
   * transaction (one chain row and one head read per commit, not per append). The group's events hold
   * consecutive positions, since a rolled-back append's positions are taken again by the next one, and
   * each of their rows names `next`, the batch read at the group's start.
   */
  private sealGroup(next: NextBatch, sealed: readonly ChainPart[]): void {
    if (sealed.length === 0) return;
    this.chain.seal(next, sealed[0]!.first, sealed[sealed.length - 1]!.last, sealed.length === 1 ? sealed[0]!.hashes : sealed.flatMap((part) => part.hashes));
  }

  /**
   * One append inside the group's transaction. Its events' hashes go to `sealed` (the caller drops
   * them if the append's savepoint rolls back); the group seals them as one batch of the `$all` chain.
   */
  private appendInTransaction(
    streamName: string,
    events: readonly PreparedEvent[],
    expected: ExpectedRevision,
    next: NextBatch,
    sealed: ChainPart[],
    recorded?: RecordedEvent[],
  ): AppendResult {
    const s = this.statements;
    const head = s.streamHead.get(streamName);
    const current = BigInt(head?.revision ?? -1);
    const ids = events.map((event) => event.id);
    const prior = s.findEvent.get(ids[0]!);
    if (prior) {
      const slots = s.slots
        .all(streamName, prior.revision, ids.length)
        .map((row) => ({
          id: row.event_id,
          position: Position.of(BigInt(row.position), BigInt(row.position)),
          type: row.type,
          data: JSON.parse(row.data) as JsonValue,
          metadata: JSON.parse(row.metadata) as EventMetadata,
        }));
      return resolveRepeatedAppend(
        streamName,
        events,
        expected,
        { streamName: prior.stream_name, revision: BigInt(prior.revision) },
        prior.stream_name === streamName ? slots : [],
        current,
      );
    }
    checkExpectedRevision(streamName, expected, current);
    const recordedAt = Date.now();
    const hashes = this.chain.hashesOn(head?.hash ?? null, streamName, current, events);
    let revision = Number(current);
    let position = 0;
    let firstPosition = 0;
    for (const [index, event] of events.entries()) {
      revision++;
      try {
        position = Number(
          s.insertEvent.run(
            event.id,
            streamName,
            revision,
            event.type,
            event.data,
            event.metadata,
            event.correlationId,
            recordedAt,
            hashes[index],
            next.batch,
          ).lastInsertRowid,
        );
        if (index === 0) firstPosition = position;
      } catch (error) {
        const holder = s.findEvent.get(event.id);
        if (holder) {
          throw new DuplicateEventIdError(event.id, `stream "${holder.stream_name}" holds it at revision ${holder.revision}`);
        }
        throw error;
      }
      recorded?.push({
        id: event.id,
        type: event.type,
        streamName,
        revision: BigInt(revision),
        position: Position.of(BigInt(position), BigInt(position)),
        data: JSON.parse(event.data) as JsonValue,
        metadata: JSON.parse(event.metadata) as EventMetadata,
        recordedAt: new Date(recordedAt),
      });
    }
    s.upsertStream.run(streamName, revision);
    sealed.push({ first: firstPosition, last: position, hashes });
    return { revision: BigInt(revision), position: Position.of(BigInt(position), BigInt(position)) };
  }

  protected readStreamPage(
    streamName: string,
    from: bigint,
    direction: Direction,
    limit: number,
  ): Promise<readonly RecordedEvent[]> {
    const statement = direction === 'forwards' ? this.statements.streamForwards : this.statements.streamBackwards;
    const fromRevision = from > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(from);
    return this.guard(() => statement.all(streamName, fromRevision, limit).map(fromColumns));
  }

  /** Type, data and metadata per event (no ids, positions or times to decode), then the last event in full. */
  protected override readStreamFoldPage(
    streamName: string,
    from: bigint,
    limit: number,
    metadataKeys: readonly string[],
  ): Promise<StreamFoldPage | undefined> {
    if (from > BigInt(Number.MAX_SAFE_INTEGER)) return Promise.resolve(undefined);
    const fromRevision = Number(from);
    const pick = metadataPicker(metadataKeys);
    return this.guard(() => {
      const rows = this.statements.foldForwards.all(streamName, fromRevision, limit);
      if (rows.length === 0) return undefined;
      // The same synchronous turn: no append of this process can come between; a row never changes.
      const lastRow = this.statements.streamForwards.all(streamName, fromRevision + rows.length - 1, 1)[0];
      if (!lastRow) throw new StoreUnavailableError(`stream "${streamName}" lost its event at revision ${fromRevision + rows.length - 1} while being read`);
      const events = rows.map((row): FoldEvent => ({ type: row[0], data: JSON.parse(row[1]) as JsonValue, metadata: pick(row[2]) }));
      return { fromRevision: from, events, last: fromColumns(lastRow) };
    });
  }

  protected readAllPage(
    after: FromPosition,
    direction: Direction,
    limit: number,
    filter: EventFilter | undefined,
  ): Promise<readonly RecordedEvent[]> {
    if ((direction === 'forwards' && after === 'end') || (direction === 'backwards' && after === 'start')) {
      return Promise.resolve([]);
    }
    const bound =
      after === 'start' ? 0 : after === 'end' ? Number.MAX_SAFE_INTEGER : Number(after.commit);
    const types = filter?.eventTypes ?? [];
    const prefixes = filter?.streamPrefixes ?? [];
    const statement = this.filteredRead(direction, types.length, prefixes.length);
    const prefixParams = prefixes.flatMap((prefix) => [prefix.length, prefix]);
    return this.guard(() => statement.all(bound, ...types, ...prefixParams, limit).map(fromColumns));
  }

  /** Statements are built from the filter's shape only (how many types and prefixes); values are parameters. */
  private filteredRead(direction: Direction, typeCount: number, prefixCount: number): Database.Statement<unknown[], EventColumns> {
    const key = `${direction}:${typeCount}:${prefixCount}`;
    let statement = this.filteredReads.get(key);
    if (!statement) {
      // Archived events are stubs without payload: readers of $all skip them (positions stay in order).
      const conditions = [direction === 'forwards' ? 'position > ?' : 'position < ?', 'archived IS NULL'];
      if (typeCount > 0) conditions.push(`type IN (${Array(typeCount).fill('?').join(', ')})`);
      if (prefixCount > 0) {
        conditions.push(`(${Array(prefixCount).fill('substr(stream_name, 1, ?) = ?').join(' OR ')})`);
      }
      // Rows as arrays: the page decoder is the hot path of catch-up and rebuilds.
      statement = this.db
        .prepare(
          `SELECT ${COLUMNS} FROM eventfold_events WHERE ${conditions.join(' AND ')}
           ORDER BY position ${direction === 'forwards' ? 'ASC' : 'DESC'} LIMIT ?`,
        )
        .raw(true);
      this.filteredReads.set(key, statement);
    }
    return statement as Database.Statement<unknown[], EventColumns>;
  }

  protected readCorrelationPage(
    correlationId: string,
    after: Position | 'start',
    limit: number,
  ): Promise<readonly RecordedEvent[]> {
    const bound = after === 'start' ? 0 : Number(after.commit);
    return this.guard(() => this.statements.correlation.all(correlationId, bound, limit).map(fromColumns));
  }

  protected streamRevision(streamName: string): Promise<bigint> {
    return this.guard(() => BigInt(this.statements.streamRevision.get(streamName)?.revision ?? -1));
  }

  /** A consistent, read-only view of the hash chain, for `verifyStore` and audit exports. */
  openChainSnapshot(): Promise<ChainSnapshot> {
    return this.guard(() => openSqliteChainSnapshot(this.db));
  }

  protected readStreamMetadataText(streamName: string): Promise<string | undefined> {
    return this.guard(() => this.lifecycle.metadataText(streamName));
  }

  protected recordLifecycle(streamName: string, action: LifecycleAction, next: (current: string | undefined, revision: bigint) => string): Promise<void> {
    // `guard` waits out an open hooked append transaction, then runs on the connection in this turn.
    return this.guard(() => this.lifecycle.record(streamName, action, next));
  }

  headPosition(): Promise<Position | undefined> {
    return this.guard(() => {
      const position = this.statements.head.get()?.position;
      return position == null ? undefined : Position.of(BigInt(position), BigInt(position));
    });
  }

  protected async closeBackend(): Promise<void> {
    for (;;) {
      await this.writing;
      if (this.pending.length === 0) break;
      this.flush();
    }
    this.db.close();
  }

  private guard<T>(read: () => T): Promise<T> {
    // While a hooked append transaction is open, the connection would show its uncommitted events.
    const writing = this.writing;
    if (writing) return writing.then(() => this.guard(read));
    // A throw inside the executor becomes the rejection.
    return new Promise((resolve) => {
      this.assertOpen();
      resolve(read());
    });
  }
}

/** A row of type, data and metadata read in raw mode. */
type FoldColumns = [string, string, string];

/** A row of `COLUMNS` read in raw mode. */
type EventColumns = [number, string, string, number, string, string, string, number];

function fromColumns(row: EventColumns): RecordedEvent {
  const position = BigInt(row[0]);
  return {
    id: row[1],
    type: row[4],
    streamName: row[2],
    revision: BigInt(row[3]),
    position: Position.of(position, position),
    data: JSON.parse(row[5]) as JsonValue,
    metadata: JSON.parse(row[6]) as EventMetadata,
    recordedAt: new Date(row[7]),
  };
}

